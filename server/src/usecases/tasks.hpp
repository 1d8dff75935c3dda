#pragma once
// Tasks routed to named people (DOMAIN.md §3.23, N6): the Task records the server writes as the
// office's authority when something needs a person's decision (a conflict, a held write, an
// override to countersign, a consent about to lapse, a withdrawal's risk consideration, a
// break-glass grant). A task names a person, never a role; its due time follows the tenant's
// working-day calendar (TenantConfig::add_working_days).
//
// A task's record id is derived from what it is about, so raising the same task twice writes
// nothing the second time (callers check task_exists() in their plan, against the family's merge
// state). Every team member receives Task records whole (a policy record, schema_v1.cpp): a
// detail names records by id, never their values.
// Thread-safety: as ServiceContext (callers serialise).
#include <cstdint>
#include <string>
#include <vector>

#include "authority_write.hpp"
#include "context.hpp"
#include "hearth/core/access.hpp"
#include "hearth/core/tenant_config.hpp"
#include "hearth/sync/materialiser.hpp"

namespace hearth::server {

// Task.task_type values (schema_v1.cpp).
namespace task_type {
inline constexpr const char* kConflictReview = "CONFLICT_REVIEW";
inline constexpr const char* kOverrideCountersign = "OVERRIDE_COUNTERSIGN";
inline constexpr const char* kConsentExpiring = "CONSENT_EXPIRING";
inline constexpr const char* kReviewDue = "REVIEW_DUE";
inline constexpr const char* kReferrerFeedbackDue = "REFERRER_FEEDBACK_DUE";
inline constexpr const char* kWriteRefused = "WRITE_REFUSED";
inline constexpr const char* kWithdrawalRiskConsideration = "WITHDRAWAL_RISK_CONSIDERATION";
inline constexpr const char* kBreakGlassReview = "BREAK_GLASS_REVIEW";
inline constexpr const char* kShareHeld = "SHARE_HELD";
inline constexpr const char* kFlagReview = "FLAG_REVIEW";               // work flagged for the lead (§6.6)
inline constexpr const char* kConsentWithdrawnNotice = "CONSENT_WITHDRAWN_NOTICE";  // to a recipient (§6.6)
inline constexpr const char* kDuplicateReview = "DUPLICATE_REVIEW";  // probable duplicates (G1, C-1, C-20)
}  // namespace task_type

struct TaskSpec {
  std::string type;      // a Task.task_type value (task_type:: above)
  std::string assignee;  // a practitioner id: a person, not a role
  int64_t due_at_ms = 0; // server time, ms since the epoch
  std::string about;     // the record id or op id the task is about ("" for none)
  std::string detail;    // what the assignee needs to know: record ids and reasons, no values (the team reads it)
};

// The Task's record id: "<family>/task/<type lower-case>/<16 hex of SHA-256(about, assignee)>",
// the same for the same (family, type, about, assignee), within the 128-byte id bound.
std::string task_id(const std::string& family, const TaskSpec& spec);
// Whether the family already holds that task (any status).
bool task_exists(const sync::Materialiser& merged, const std::string& task_id);
// The AuthorityEdit creating the task, status OPEN.
AuthorityEdit task_edit(const std::string& family, const TaskSpec& spec);
// task_edit unless the task exists; appended to `edits`. True when appended.
bool raise_task(const sync::Materialiser& merged, const std::string& family, const TaskSpec& spec,
                std::vector<AuthorityEdit>& edits);

// Named people (N6).
// The family's lead professional as the access policy reads it ("" when none).
access::LeadInfo lead_of(const Schema& schema, const access::FamilyFacts& family, int64_t now_ms);
// A manager for the family: the first TEAM_MANAGER (by id) of the lead agency, else of the
// lead professional's own organisation, else any TEAM_MANAGER; "" when the directory has none.
Result<std::string> manager_for(ServiceContext& ctx, const Schema& schema, const access::FamilyFacts& family);
// Every IG_OFFICER in the directory, by id.
Result<std::vector<std::string>> ig_officers(ServiceContext& ctx);

// The tenant configuration in force (TenantSettings::current).
Result<TenantConfig> tenant_config(ServiceContext& ctx);

}  // namespace hearth::server
