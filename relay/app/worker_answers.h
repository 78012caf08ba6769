#pragma once

#include <chrono>
#include <functional>
#include <future>
#include <memory>
#include <optional>
#include <vector>

#include "relay/net/worker.h"

namespace turnpike::app {

/// How long the control path waits for the workers before it gives up.
constexpr auto kWorkerAnswerWithin = std::chrono::seconds{2};

/// Asks every worker something on its own loop and waits, bounded, for all
/// the answers (in worker order). `ask(worker, answer)` posts the question;
/// the worker calls `answer` on its thread. nullopt when a worker did not
/// answer in time or stopped before it could.
template <typename T>
std::optional<std::vector<T>> askEachWorker(
    const std::vector<net::Worker*>& workers,
    const std::function<void(net::Worker&, std::function<void(T)>)>& ask) {
  std::vector<std::future<T>> answers;
  answers.reserve(workers.size());
  for (net::Worker* w : workers) {
    auto promise = std::make_shared<std::promise<T>>();
    answers.push_back(promise->get_future());
    ask(*w, [promise](T value) { promise->set_value(std::move(value)); });
  }
  std::vector<T> out;
  out.reserve(answers.size());
  const auto deadline = std::chrono::steady_clock::now() + kWorkerAnswerWithin;
  for (auto& answer : answers) {
    if (answer.wait_until(deadline) != std::future_status::ready) {
      return std::nullopt;
    }
    try {
      out.push_back(answer.get());
    } catch (const std::future_error&) {
      return std::nullopt;  // the worker stopped before it answered
    }
  }
  return out;
}

}  // namespace turnpike::app
