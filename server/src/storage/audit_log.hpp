#pragma once
// The append-only, tamper-evident audit trail (DOMAIN.md §9).
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstdint>
#include <string>

#include "hearth/core/error.hpp"

namespace hearth::server {

struct AuditEvent {
  int64_t at = 0;
  std::string actor;   // practitioner, or "admin"
  std::string device;
  std::string action;  // enrol, push, pull, denied, revoke, allocate, flag, ...
  std::string family;
  std::string detail;
};

class AuditLog {
 public:
  virtual ~AuditLog() = default;
  virtual Result<void> append(const AuditEvent& event) = 0;
  // Where several servers share the database: from now on the events outside any family go to
  // a chain of this connection's own, "server:<name>", registered in the shared `server` chain,
  // so no request waits for another's chain head (audit/audit_chain.hpp, docs/audit.md
  // "Chains"). Returns the chain id; ErrorCode::invalid_argument for a malformed name.
  virtual Result<std::string> use_own_chain(const std::string& name, int64_t at, const std::string& about) = 0;
  // Checks the whole trail; returns the number of events, or ErrorCode::corrupt naming the
  // first event that does not match.
  virtual Result<int64_t> verify() = 0;
};

}  // namespace hearth::server
