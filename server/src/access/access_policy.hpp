#pragma once
// The one place that decides what a caller may read and write. Every use case asks it; none
// decides access inline. Each decision carries a reason that can be shown to the caller and
// written to the audit trail.
// Thread-safety: as the storage it reads (callers serialise).
#include <cstdint>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::server {

// Who is asking: an enrolled device and its practitioner.
struct Caller {
  std::string practitioner;
  std::string device;
  int64_t last_pull_at = 0;  // server time the device last received its complete caseload; 0: never
};

struct WriteDecision {
  enum class Outcome {
    allow,          // the op is accepted
    allow_flagged,  // accepted, and flagged for the lead professional (DOMAIN.md §6.6)
    deny,           // refused; the device keeps it in quarantine
  };
  Outcome outcome = Outcome::deny;
  std::string reason;           // shown to the caller when denied or flagged; audited
  bool creates_family = false;  // the op creates a brand-new family: the caller becomes its lead
  bool allowed() const { return outcome != Outcome::deny; }
};

// Which fields of a family's records a caller may read. Today every field of a readable
// family; consent scopes (DOMAIN.md §6, §7) will narrow it here.
struct FieldAccess {
  bool all = true;
  std::vector<std::string> hidden_types;  // entity types withheld entirely (none yet)
};

class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  // The families the caller may read, sorted by id.
  virtual Result<std::vector<std::string>> readable_families(const Caller& caller) = 0;
  // Which fields of `family` the caller may read (the hook for consent scopes).
  virtual Result<FieldAccess> readable_fields(const Caller& caller, const std::string& family) = 0;
  // Whether the caller may write `op` (already checked to be the caller's own op).
  virtual Result<WriteDecision> may_write(const Caller& caller, const sync::Op& op) = 0;
};

}  // namespace hearth::server
