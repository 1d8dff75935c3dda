#pragma once
// Sharing acts decided at sync (DOMAIN.md §6.6, §6.8, §13 S2; issue 8 part 4). A tablet records
// "send the plan to S", "invite S to the next TAF" or "export for S" as a SharingRequest record,
// offline too; the server decides it when the op that creates it is pushed, against the family's
// records at that time (not the tablet's snapshot), and writes the outcome onto the record as
// authority ops (authority_write.hpp), so the requesting tablet sees it, with its reason, at its
// next pull:
//  - SENT when the access policy's view of the family for a member of the recipient organisation
//    (core/access.hpp view_of, as a FULL_EPISODE TAF member of that organisation) holds every
//    record the act would disclose; the disclosure is an audit event ("disclosure": what, to
//    whom, requested by whom and when, decided when), DOMAIN.md §6.5 Golden Rule 7;
//  - CANCELLED when a plan or an export holds information about a person whose consent does not
//    cover the recipient ("the plan contains P's information; re-issue an extract scoped to D"),
//    or names a plan or record the family does not hold (S2 (a), §6.6 "pending outbound shares
//    ... cancelled if no longer covered");
//  - HELD when a TAF invitation would discuss a family not wholly covered: returned to the lead
//    professional to decide (S2 (b)), with a SHARE_HELD task to the lead.
// A withheld or cancelled share is audited too ("share-cancelled", "share-held").
// Thread-safety: as ServiceContext (callers serialise).
#include <optional>
#include <string>
#include <vector>

#include "authority_write.hpp"

namespace hearth::server {

struct ShareDecision {
  std::string request;   // the SharingRequest's id
  std::string kind;      // SEND_PLAN, INVITE_TO_TAF, EXPORT_FOR_AGENCY
  std::string recipient; // the Organisation's id
  std::string status;    // SENT, CANCELLED, HELD
  std::string reason;    // shown to the requester (SharingRequest.outcome_reason) and audited
  std::vector<std::string> disclosed;  // SENT: the record ids disclosed, by id
  std::vector<std::string> uncovered;  // the persons whose consent does not cover the recipient, by id
  std::string lead;      // the family's lead professional ("" when none is known)
  std::string requested_by;  // the practitioner whose op created the request
  std::string requested_at;  // SharingRequest.requested_at, as the tablet recorded it
};

// The decision on SharingRequest `request` of `family` against the family's records now (read
// through ctx.cache, the directory and the access policy; nothing is written). nullopt when the
// record is not a live SharingRequest of the family or is already decided (its status is set).
Result<std::optional<ShareDecision>> decide_share(ServiceContext& ctx, const std::string& family,
                                                  const std::string& request);

// The authority write that records `decision` on its SharingRequest: status, outcome_reason,
// decided_at (server time); audited as "disclosure" (SENT), "share-cancelled" or "share-held".
AuthorityWrite share_outcome(const std::string& family, const ShareDecision& decision);

// Decides `request` and writes the outcome, inside the caller's transaction (push calls it
// after the op that creates the request is accepted). Returns the decision, or nullopt when
// there was nothing to decide.
Result<std::optional<ShareDecision>> settle_share(ServiceContext& ctx, const std::string& family,
                                                  const std::string& request);

}  // namespace hearth::server
