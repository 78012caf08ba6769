#include "relay/app/allocation_directory.h"

#include "relay/app/allocation_json.h"
#include "relay/app/worker_answers.h"

namespace turnpike::app {
namespace {

// Runs `task` on every worker's loop and gathers the answers in worker order.
template <typename T>
std::optional<std::vector<T>> askEach(const std::vector<net::Worker*>& workers,
                                      const std::function<T(turn::TurnServer&)>& task) {
  return askEachWorker<T>(workers, [&task](net::Worker& w, std::function<void(T)> answer) {
    w.runOnLoop([task, answer](turn::TurnServer& server) { answer(task(server)); });
  });
}

}  // namespace

std::optional<nlohmann::json> AllocationDirectory::list(const std::string& user,
                                                        std::size_t limit) const {
  const Clock& clock = clock_;
  struct Part {
    std::size_t matching = 0;
    nlohmann::json described = nlohmann::json::array();
  };
  const auto answers = askEach<Part>(workers_, [&clock, user, limit](turn::TurnServer& server) {
    Part part;
    server.forEachAllocation([&](const turn::Allocation& a) {
      if ((user.empty() || a.user_id == user) && part.matching++ < limit) {
        part.described.push_back(allocationJson(a, clock));
      }
    });
    return part;
  });
  if (!answers) {
    return std::nullopt;
  }
  std::size_t matching = 0;
  nlohmann::json all = nlohmann::json::array();
  for (const auto& part : *answers) {
    matching += part.matching;
    for (const auto& one : part.described) {
      if (all.size() < limit) {
        all.push_back(one);
      }
    }
  }
  const bool truncated = all.size() < matching;
  return nlohmann::json{
      {"count", matching}, {"allocations", std::move(all)}, {"truncated", truncated}};
}

std::optional<nlohmann::json> AllocationDirectory::show(std::uint64_t id) const {
  const Clock& clock = clock_;
  const auto answers = askEach<nlohmann::json>(workers_, [&clock, id](turn::TurnServer& server) {
    nlohmann::json found;
    server.forEachAllocation([&](const turn::Allocation& a) {
      if (a.id == id) {
        found = allocationJson(a, clock);
      }
    });
    return found;
  });
  if (!answers) {
    return std::nullopt;
  }
  for (const auto& part : *answers) {
    if (!part.is_null()) {
      return part;
    }
  }
  return nlohmann::json();
}

std::optional<std::size_t> AllocationDirectory::kick(const std::string& user,
                                                     std::optional<std::uint64_t> id) const {
  const auto answers = askEach<std::size_t>(workers_, [user, id](turn::TurnServer& server) {
    return server.deleteAllocationsWhere(
        [&](const turn::Allocation& a) { return id ? a.id == *id : a.user_id == user; });
  });
  if (!answers) {
    return std::nullopt;
  }
  std::size_t total = 0;
  for (const std::size_t n : *answers) {
    total += n;
  }
  return total;
}

}  // namespace turnpike::app
