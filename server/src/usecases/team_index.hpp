#pragma once
// The family's team as its records say (DOMAIN.md §7; issue 8, "one source of truth for the
// team"), and the caseload index derived from it.
//  - A live TeamMember record names a practitioner of the team; they are on it now unless it
//    has a left_at or its access_scope is NONE.
//  - The lead professional is the lead_professional of the family's open (not CLOSED)
//    EarlyHelpEpisode records when any names one, else every current TeamMember whose team_role
//    is LEAD_PROFESSIONAL (as access.hpp's standing rule). An episode's lead who has no
//    TeamMember record is on the team as its lead; one whose record says they left is not.
// Thread-safety: as ServiceContext (callers serialise).
#include <string>
#include <vector>

#include "context.hpp"
#include "hearth/sync/materialiser.hpp"
#include "storage/caseload.hpp"

namespace hearth::server {

// Whether an accepted op may change the family's team: any op on a TeamMember, and a Create,
// Set of lead_professional, Transition or Delete of an EarlyHelpEpisode (or a Restamp of one,
// which may reorder them).
bool changes_team(const sync::Op& op);

// The practitioners `family`'s records name, by id, as the rules above read them.
std::vector<RecordedMember> team_from_records(const sync::Materialiser& merged, const std::string& family);

// Re-derives the family's team from its merged records (the family cache, brought up to date in
// this transaction) and brings the caseload index into line at server time now
// (Caseload::reconcile_team); returns the practitioners whose membership changed.
Result<std::vector<std::string>> reindex_team(ServiceContext& ctx, const std::string& family);

}  // namespace hearth::server
