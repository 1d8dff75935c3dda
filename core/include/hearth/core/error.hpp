#pragma once
// Errors are values in core/ and sync/: every fallible call returns Result<T>.
// Thread-safety: value types, no shared state.
#include <string>
#include <utility>
#include <variant>

namespace hearth {

enum class ErrorCode {
  invalid_argument,  // the caller passed something malformed (unknown entity, bad id)
  validation,        // a value broke a schema rule
  lifecycle,         // a state transition is not allowed
  not_found,         // the named record does not exist
  corrupt,           // stored or received bytes failed to decode or authenticate
  storage,           // the local database failed (I/O, disk full, locked)
  conflict,          // the operation contradicts what the replica already holds
  clock,             // a clock stamp is outside the accepted bounds
  locked,            // wrong PIN or key, or the store was wiped
  network,           // the server could not be reached, or the connection broke
  too_large,         // a body, batch or value is over a limit expressed in bytes
  revoked,           // the server revoked this device: its store must be wiped
  expired,           // the device's credential expired: enrol again with a new code
  not_enrolled,      // the store has no server credential yet: enrol first
  forbidden,         // the caller may not do this (access policy, DOMAIN.md §7)
};

const char* to_string(ErrorCode code);

struct Error {
  ErrorCode code;
  std::string message;

  std::string describe() const;  // "validation: Person.sex: value 'X' is not one of ..."
};

// A small expected<T, Error>. [[nodiscard]] so an ignored failure is a compile warning.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}          // NOLINT: implicit by design
  Result(Error error) : v_(std::move(error)) {}      // NOLINT
  bool ok() const { return v_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(v_); }
  const T& value() const& { return std::get<0>(v_); }
  T&& value() && { return std::get<0>(std::move(v_)); }
  const Error& error() const { return std::get<1>(v_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::variant<T, Error> v_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : err_(std::move(error)), ok_(false) {}  // NOLINT
  bool ok() const { return ok_; }
  explicit operator bool() const { return ok_; }
  const Error& error() const { return err_; }

 private:
  Error err_{ErrorCode::invalid_argument, {}};
  bool ok_ = true;
};

inline Error make_error(ErrorCode code, std::string message) { return Error{code, std::move(message)}; }

}  // namespace hearth
