#pragma once
// The step-up workflow (DOMAIN.md §4.2, §4.4, §4.6, §8.3 C-19, §13 S3, S3b, S3c; issue 10
// part 3), written by the server as the office's authority (authority_write.hpp):
//  - submission: once a StepUpRequest is SUBMITTED (a device's DRAFT -> SUBMITTED transition,
//    or any accepted op on it while SUBMITTED or ACKNOWLEDGED), its episode moves to
//    STEP_UP_PENDING and every AGREED, ACTIVE or UNDER_REVIEW FamilyPlan of the episode to
//    LOCKED_STEPPED_UP (core/access.hpp kPlanLockedReason: later plan edits are held with
//    their value, contacts are accepted); each TAF member other than the lead and the managers
//    gets an ESCALATION_NOTICE task "episode escalated - contact the lead" (core/access.hpp
//    kEscalatedReason: they no longer receive the step-up details). The countersign task of an
//    InformationSharingDecision made without consent is raised by task_triggers.hpp; the alert
//    recorded with it reaches every device with access as any safety record does (§3.20).
//    Audited "step-up-submitted" with the offline creation time, submitted_at, the phone
//    referral time and the server's receipt time (S3 "Audit shows").
//  - decision (from the office: office_inbound.hpp, or `hearth-server step-up decide`): the
//    StepUpRequest gets csc_decision, csc_ref, decided_at and eh_position and moves to DECIDED
//    (through ACKNOWLEDGED; WITHDRAWN for a WITHDRAWN decision). The episode, when
//    STEP_UP_PENDING:
//      ACCEPTED_* and tenant step_up_policy EH_PAUSED -> PAUSED_CSC_LEAD (plan stays locked);
//      ACCEPTED_* and EH_CLOSED -> CLOSING with closure_reason STEPPED_UP_TO_CSC, destination CSC;
//      ACCEPTED_* and EH_CONTINUES_ALONGSIDE, NFA_RETURN_TO_EH, ADVICE_RETURN_TO_EH, WITHDRAWN
//        -> ACTIVE, locked plans back to ACTIVE, a REVIEW_DUE task to the lead due within
//        step_up_review_working_days (default 10; it tells the lead the decision), and each
//        edit held by the lock and not yet decided offered back (S3b): a HELD_EDIT_REOFFERED
//        task to the lead (who re-applies it with `hearth-server held apply`, held.hpp) and
//        one to its author.
//    Audited "step-up-decided" with decided_at and the server's receipt time.
//  - step-down (S3c): a StepDownReceipt naming a PAUSED_CSC_LEAD episode (resumed_episode, else
//    episode), with a live handover TafMeeting and an ACTIVE ConsentRecord, resumes the episode
//    (-> ACTIVE), supersedes its locked plan (-> ACTIVE -> UNDER_REVIEW -> SUPERSEDED) and
//    creates the next plan version (DRAFT, agreed_at_meeting the handover meeting) for the lead
//    to agree with the family; resumed_episode is set. Without the meeting or the consent
//    nothing moves and "step-down-waiting" is audited, naming what is missing.
// Thread-safety: as ServiceContext (callers serialise).
#include <memory>
#include <string>
#include <vector>

#include "authority_write.hpp"

namespace hearth::server {

// Record types whose accepted ops step_up_effects looks at.
bool step_up_watches(const std::string& entity_type);

// The submission or step-down effects the current state of `record_id` calls for (nothing for
// other records, or when they are in place already). Run in the transaction that stored the op.
AuthorityWrite step_up_effects(const std::string& family, const std::string& record_id);

// StepUpRequest.csc_decision values (schema_v1.cpp).
bool is_csc_decision(const std::string& value);

// The office's decision on a step-up (DOMAIN.md §3.17).
struct StepUpDecision {
  std::string step_up;       // the StepUpRequest's id
  std::string family;        // its family; "" = looked up by the record's id
  std::string csc_decision;  // ACCEPTED_S17_ASSESSMENT | ACCEPTED_S47_STRATEGY | ADVICE_RETURN_TO_EH | NFA_RETURN_TO_EH | WITHDRAWN
  std::string csc_ref;       // the office's reference ("" = none given)
  std::string decided_at;    // a DateTime; "" = the server's time
  std::string author = kOfficeAuthor;
  std::string via;  // for the audit: "office credential NAME from ADDR", "command line"
};

// What a decision did, for the answer.
struct StepUpDecided {
  std::string family;
  std::string episode;
  std::string episode_status;  // after the decision
  std::vector<std::string> ops;
};

// The writes of a decision (the decision, then its tasks), to run inside the caller's
// transaction with write_as_authority (the office endpoint records its message id in the same
// transaction). `out` is filled as the writes run. Errors before any write: a csc_decision that
// is not one of the values, a decided_at that is not a DateTime, an id that is not an id
// (invalid_argument); no such StepUpRequest (not_found). Errors from the writes: a step-up not
// SUBMITTED or ACKNOWLEDGED (conflict, naming its status and any earlier decision).
Result<std::vector<AuthorityWrite>> step_up_decision_writes(ServiceContext& ctx, const StepUpDecision& d,
                                                            std::shared_ptr<StepUpDecided> out);

// The decision in one transaction of its own (`hearth-server step-up decide`).
Result<StepUpDecided> decide_step_up(ServiceContext& ctx, const StepUpDecision& d);

// The family holding record `id`, or not_found.
Result<std::string> family_of_record(ServiceContext& ctx, const std::string& id);

}  // namespace hearth::server
