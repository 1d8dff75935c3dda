#pragma once
// The family-team rule as a pure function of the facts it needs, so every case can be tested
// without storage: who may reach a family at all, before the record-level policy of
// core/access.hpp narrows what they may do in it. ServerAccessPolicy gathers the facts.
// - A practitioner reaches the families whose team they are on (the team index, derived from the
//   family's TeamMember and episode records).
// - A family exists once the office allocated it or once any op of it exists. Only a member of
//   its team may create it; creating a family id that does not exist yet makes the creator lead.
// - Recording is not sharing (DOMAIN.md §6.6): an op from a practitioner taken off the team is
//   accepted and flagged for the lead professional when the device's last complete pull was
//   before the removal; otherwise it is refused with a reason.
// - Directory records (no family) are managed by the office.
#include <cstdint>
#include <optional>
#include <string>

#include "access_policy.hpp"
#include "storage/caseload.hpp"

namespace hearth::server {

struct WriteFacts {
  std::string family;        // the op's family ("" for directory records)
  std::string practitioner;  // the caller
  int64_t last_pull_at = 0;  // the caller's device, server time
  bool creates_root = false;           // the op is the Create of the family's root record
  std::optional<Membership> membership;  // the caller's latest membership of the family
  bool allocated = false;  // the office allocated the family to anyone, ever
  bool has_ops = false;    // any op of the family is stored
};

// DOMAIN.md §6.6, §7; issue 7 faults 2 and 7. See team_access_policy.hpp for the rule in words.
WriteDecision decide_write(const WriteFacts& facts);

}  // namespace hearth::server
