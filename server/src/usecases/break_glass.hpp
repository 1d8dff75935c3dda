#pragma once
// Break-glass (DOMAIN.md §7, §6.5; issue 8 part 5): a practitioner not on a family's team asks
// for emergency access with a reason code and the reason in words. The server writes a
// BreakGlassGrant for them (author: the practitioner; granted now, expiring after the tenant's
// break_glass_hours), raises BREAK_GLASS_REVIEW tasks to a manager and every IG officer (due
// the next working day), and audits it ("break-glass"). The grant is indexed as it is stored
// (accepted.cpp), so the practitioner's readable families include the family at once and the
// next pull delivers it under the break-glass standing of core/access.hpp; at expiry the due
// events (due_events.hpp) end it and the next pull purges the family from their devices.
// Thread-safety: as ServiceContext (callers serialise).
#include <cstdint>
#include <string>
#include <vector>

#include "context.hpp"

namespace hearth::server {

struct BreakGlassRequest {
  std::string family;
  std::string practitioner;  // who asks (the device's practitioner)
  std::string reason_code;   // a BreakGlassGrant.reason_code value
  std::string reason;        // in words, 1..2000 bytes
};

struct BreakGlassGrantInfo {
  std::string grant_id;
  int64_t expires_at = 0;  // server time, ms since the epoch
  std::vector<std::string> reviewers;  // who received a BREAK_GLASS_REVIEW task
};

// Errors, each saying what is wrong, and nothing written: an unknown practitioner or a family
// the server holds no records of (not_found); a practitioner on the family's team (conflict:
// they have access already); one holding an unexpired grant for it (conflict, naming it); a
// reason code the schema does not define or an empty reason (invalid_argument).
Result<BreakGlassGrantInfo> break_glass(ServiceContext& ctx, const BreakGlassRequest& request);

}  // namespace hearth::server
