#pragma once
// The office's team changes as writes to the family's TeamMember records (DOMAIN.md §7; issue
// 8, "one source of truth for the team"): `hearth-server allocate` and `deallocate`, and the
// creator of a brand-new family made its lead professional by a push. The caseload index
// follows the records (team_index.hpp).
// Thread-safety: as ServiceContext (callers serialise).
#include <optional>
#include <string>

#include "authority_write.hpp"

namespace hearth::server {

// The id of a practitioner's TeamMember record in a family: "<family>/team/<practitioner>".
std::string team_member_id(const std::string& family, const std::string& practitioner);

struct Allocation {
  std::string family;
  std::string practitioner;
  bool lead = false;                 // team_role LEAD_PROFESSIONAL, else TAF_MEMBER
  std::optional<std::string> scope;  // access_scope; a new member without one gets FULL_EPISODE
  std::string author = kOfficeAuthor;
};

// Puts the practitioner on the family's team: creates their TeamMember record (organisation
// from the directory, team_role, access_scope, joined_at = server time), or sets what differs
// on the one they have (a member who had left rejoins: left_at cleared, joined_at renewed).
// As lead, every other current member recorded as LEAD_PROFESSIONAL becomes a TAF_MEMBER and
// every open episode names the practitioner its lead_professional (one lead, DOMAIN.md §7).
// A family without ops yet may be allocated (its first op is then made by the team).
// Errors (planned in the transaction): an unknown practitioner is ErrorCode::not_found, a
// scope that is not one of access_scope's values ErrorCode::invalid_argument naming it.
// Already so: no edits.
AuthorityWrite allocation(const Allocation& a);

// Takes the practitioner off the family's team: sets left_at on their TeamMember record (for a
// membership the index holds from before the records were authoritative, a record is written
// that says so). Not being on the team is ErrorCode::not_found naming both.
AuthorityWrite deallocation(const std::string& family, const std::string& practitioner,
                            const std::string& author = kOfficeAuthor);

// A brand-new family's creator as its lead professional with FULL_EPISODE scope, written by the
// push that creates it (author: the creator). No edits when the record already exists.
AuthorityWrite creator_membership(const std::string& family, const std::string& creator);

}  // namespace hearth::server
