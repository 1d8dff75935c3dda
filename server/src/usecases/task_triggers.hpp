#pragma once
// The tasks the server raises when ops arrive or the office acts (DOMAIN.md §3.23, N6; issue 8
// part 7), each an AuthorityWrite (authority_write.hpp) the caller runs inside the transaction
// that stored the event, so the Task reaches every device of the team at its next sync:
//  - held_op_tasks: an op held for a decision (§7): WRITE_REFUSED to the person who decides;
//  - conflict_tasks: a push that opens a conflict (§8.4): CONFLICT_REVIEW to the lead
//    professional, or to a manager when the lead is one of its parties or a safety value is
//    involved (Alert safety record or fact, SAFETY_MAX merge); about = the conflict's id, which
//    is the same on every replica, so the tablet joins a conflict to its task; a push that
//    resolves the conflict sets the task DONE (resolved_conflict_tasks);
//  - flag_tasks: an op accepted flagged (recorded_after_consent_withdrawal,
//    recorded_after_team_removal, §6.6): FLAG_REVIEW to the lead;
//  - record_tasks: the state of one record after a change:
//      ConsentRecord withdrawing RECEIVE_EARLY_HELP (status WITHDRAWN with that purpose, or in
//        withdrawn_purposes): WITHDRAWAL_RISK_CONSIDERATION to the lead, 1 working day (§6.6,
//        S2b); while it is OPEN the episode does not close for FAMILY_WITHDREW_CONSENT
//        (core/access.cpp, withdrawal_closure_gate);
//      ConsentRecord withdrawn for recipients (withdrawn_recipients, SHARE_WITH_TAF withdrawn,
//        or in full): CONSENT_WITHDRAWN_NOTICE to each current team member of each affected
//        organisation other than the lead agency (§6.6); the notice is the task's detail, which
//        reaches the whole team (schema_v1.cpp, Task), the assignee included;
//      InformationSharingDecision not countersigned: OVERRIDE_COUNTERSIGN to a manager other
//        than the decider, due the next working day; it never blocks the share (§6.5);
//        once countersigned_by is set, the open countersign task is set DONE.
// A task's detail names records by id and quotes the policy's reasons, never another record's
// values (every team member receives it). Each raises a task at most once (task ids are stable, tasks.hpp), so the same op pushed
// again, or the same state seen again, writes nothing. Due times follow the tenant's
// working-day calendar: task_due_working_days(), safety_task_due_working_days() for safety
// conflicts. Every task raised or closed is an audit event ("task"), besides the authority
// write's own. A task nobody can be named for (no lead, no manager in the directory) is not
// written; that is audited ("task-unassigned").
// Thread-safety: as ServiceContext (callers serialise).
#include <string>
#include <vector>

#include "authority_write.hpp"

namespace hearth::server {

// route_to: a practitioner id or a role ("TEAM_MANAGER": a named manager is chosen). The task
// never goes to `author` (nobody decides on their own work, §7): with no manager but the author,
// it is unassigned and audited.
AuthorityWrite held_op_tasks(const std::string& family, const std::string& op_id, const std::string& author,
                             const std::string& route_to,
                             const std::string& reason);

// One conflict the push opened: its record and its id (sync::Conflict::entity_id, id).
struct OpenedConflict {
  std::string entity_id;
  std::string conflict_id;
};
AuthorityWrite conflict_tasks(const std::string& family, std::vector<OpenedConflict> opened);
// A push that resolved conflicts (they are no longer open): their open CONFLICT_REVIEW tasks
// are set DONE.
AuthorityWrite resolved_conflict_tasks(const std::string& family, std::vector<std::string> conflict_ids);

AuthorityWrite flag_tasks(const std::string& family, const std::string& op_id, const std::string& flag_kind,
                          const std::string& reason);

// Sets DONE every OPEN task of `type` whose `about` is `about` (e.g. a held op's WRITE_REFUSED
// task once the op is decided: type task_type::kWriteRefused, about the op id); audited with `why`.
AuthorityWrite close_tasks(const std::string& family, const std::string& type, const std::string& about,
                           const std::string& why);

// The tasks the current state of `record_id` calls for (nothing for other record types).
AuthorityWrite record_tasks(const std::string& family, const std::string& record_id);

// Record types whose changes record_tasks looks at.
bool record_raises_tasks(const std::string& entity_type);

}  // namespace hearth::server
