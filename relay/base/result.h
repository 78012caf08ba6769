#pragma once

#include <utility>
#include <variant>

namespace turnpike {

/// A value or an error, for the packet path where exceptions are not used.
/// (std::expected arrives with C++23; this is the small part of it we need.)
template <typename T, typename E>
class Result {
 public:
  Result(T value)
      : state_(std::in_place_index<0>, std::move(value)) {}   // NOLINT(google-explicit-constructor)
  Result(E error) : state_(std::in_place_index<1>, error) {}  // NOLINT(google-explicit-constructor)

  [[nodiscard]] bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  const T& value() const { return std::get<0>(state_); }
  T& value() { return std::get<0>(state_); }
  const T& operator*() const { return value(); }
  const T* operator->() const { return &value(); }
  E error() const { return std::get<1>(state_); }

 private:
  std::variant<T, E> state_;
};

}  // namespace turnpike
