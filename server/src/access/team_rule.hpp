#pragma once
// The family-team rule as a pure function of the facts it needs, so every case can be
// tested without storage. TeamAccessPolicy gathers the facts and applies it.
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
