#pragma once
// Time-driven events (issue 8 part 2: "a break-glass grant or a consent expiring, a task falling
// due become server events at their due time, so every device learns of them at its next sync
// like any other change"; part 4 "expiry and renewal"; part 7 "overdue tasks escalate").
//
// run_due_events looks at the families whose next due time (storage/time_index.hpp) has come,
// and for each one, from its records as the server holds them:
//  - CONSENT_EXPIRING to the lead professional, consent_expiring_notice_days before an ACTIVE
//    ConsentRecord's expires_at (DOMAIN.md §6.7), due at the expiry;
//  - at a consent's expiry: status EXPIRED written as an authority op (so the next pull of
//    every team member re-evaluates its view, and a recipient the consent alone let in loses
//    what it covered), audited "consent-expired";
//  - at a break-glass grant's expiry: the grant ended in the index (its grantee's readable
//    families lose the family, so the next pull purges it), the feeds of the grantee and the
//    team bumped, audited "break-glass-expired" (the grant record is append-only: nothing is
//    written to it);
//  - REVIEW_DUE to the lead, kReviewNoticeDays before a live FamilyPlan's next_review_due
//    (DOMAIN.md §4 ACTIVE -> REVIEW), due on that date; a new review date raises a new task;
//  - REFERRER_FEEDBACK_DUE to the referral's decision maker (else the lead) for a Referral with
//    a referrer and no referrer_notified_at, due 24 hours after received_at (DOMAIN.md §3.7,
//    K-04, G12);
//  - every OPEN task past its due_at and not yet escalated: escalated_to (a manager:
//    manager_for) and escalated_at set, once, audited "task-escalated" (N6). A task with no
//    manager above its assignee (none in the directory, or the assignee is the one found) is
//    not escalated and is looked at again a day later.
// Tasks are raised once (task ids are stable: tasks.hpp). Running again at the same time
// changes nothing. The family's next due time is then recomputed from its records; a family
// with nothing to come leaves the index's queue. Work per call is bounded by `max_families`.
// Thread-safety: as ServiceContext (callers serialise: SyncService::with_context).
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "context.hpp"

namespace hearth::server {

inline constexpr int kReviewNoticeDays = 7;  // REVIEW_DUE is raised this long before the date
inline constexpr size_t kDueFamiliesPerRun = 200;

struct DueReport {
  size_t families = 0;          // families looked at
  size_t consents_expiring = 0; // CONSENT_EXPIRING tasks raised
  size_t consents_expired = 0;
  size_t grants_expired = 0;
  size_t reviews_due = 0;
  size_t feedback_due = 0;
  size_t escalated = 0;
  size_t failed = 0;            // families whose look failed (retried an hour later); see lines
  bool more = false;            // more families were due than this call looked at
  std::vector<std::string> lines;  // one per event, for `hearth-server tick` to print
};

// Runs every event due at or before `now` (server time, ms since the epoch) in at most
// `max_families` families, each family in its own transaction (a failure in one is reported in
// `lines` and leaves the others done). Errors: only a failure to read the index.
Result<DueReport> run_due_events(ServiceContext& ctx, int64_t now, size_t max_families = kDueFamiliesPerRun);

}  // namespace hearth::server
