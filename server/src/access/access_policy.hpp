#pragma once
// The one place that decides what a caller may read and write. Every use case asks it; none
// decides access inline. The rules themselves are the pure policy of core/access.hpp (consent,
// roles, need-to-know, DOMAIN.md §5-§7); this interface adds what only the server knows: the
// team index of which families a practitioner is on, the directory (organisations and roles)
// and the history of team membership (recording is not sharing, §6.6). Each decision carries a
// reason that can be shown to the caller and written to the audit trail.
// Thread-safety: as the storage it reads (callers serialise).
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "hearth/core/access.hpp"
#include "hearth/core/error.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::server {

// Who is asking: an enrolled device and its practitioner, with their organisation and system
// roles from the directory (DOMAIN.md §3.2).
struct Caller {
  std::string practitioner;
  std::string device;
  int64_t last_pull_at = 0;  // server time the device last received its complete caseload; 0: never
  std::string organisation;
  std::set<std::string> system_roles;
};

struct WriteDecision {
  enum class Outcome {
    allow,          // the op is accepted
    allow_flagged,  // accepted, and flagged for the lead professional (DOMAIN.md §6.6)
    hold,           // beyond the author's rights (DOMAIN.md §7): kept at the server, not applied,
                    // routed to `route_to` to re-apply or dismiss
    deny,           // refused (no access to the family at all); the device keeps it in quarantine
  };
  Outcome outcome = Outcome::deny;
  std::string reason;           // shown to the caller when not plainly allowed; audited
  std::string route_to;         // hold: the practitioner (or role) who decides
  bool creates_family = false;  // the op creates a brand-new family: the caller becomes its lead
  std::string flag_kind;        // allow_flagged: the kind of flag (storage/flags.hpp)
  bool allowed() const { return outcome == Outcome::allow || outcome == Outcome::allow_flagged; }
};

class AccessPolicy {
 public:
  virtual ~AccessPolicy() = default;
  // The caller's profile from the directory (organisation, system roles) filled into `caller`.
  // An unknown practitioner is ErrorCode::not_found.
  virtual Result<void> complete(Caller& caller) = 0;
  // The families the caller may hold, sorted by id: those on their team. Each one's contents
  // are narrowed by view().
  virtual Result<std::vector<std::string>> readable_families(const Caller& caller) = 0;
  // What of the family the caller may receive (records and fields withheld, with reasons).
  // `family` holds the family's current records (sync/access_intent.hpp family_facts); the
  // policy fills in the organisations of the practitioners it names.
  virtual Result<access::FamilyView> view(const Caller& caller, access::FamilyFacts& family, int64_t now_ms) = 0;
  // Whether the caller may write `op` (already checked to be the caller's own op). `family` is
  // the family's current records, or nullptr when the family holds none yet.
  virtual Result<WriteDecision> may_write(const Caller& caller, const sync::Op& op, access::FamilyFacts* family,
                                          int64_t now_ms) = 0;
};

}  // namespace hearth::server
