#pragma once
// The access policy: the one place that decides which of a family's records and fields a
// practitioner may receive, and which writes they may make, with a reason for each decision
// that can be shown and audited. Pure: no I/O, no clock; the caller passes the family's
// current records, who is asking and the time. The server's pull and push, the tablet's
// offline checks and the office export all call it.
//
// Rules and their sources:
//  - standing on the family (DOMAIN.md §7): lead professional (EarlyHelpEpisode.lead_professional,
//    else a current TeamMember with team_role LEAD_PROFESSIONAL, else the creator of the family's
//    root record when neither exists), manager (system role TEAM_MANAGER in the lead agency),
//    TAF member with its TeamMember.access_scope, break-glass (an unexpired BreakGlassGrant for
//    the practitioner, §7), office (the office credential), or none;
//  - consent per person (§6.3, §6.4 rules 1-6): a record about persons (EntityDef::subject_fields;
//    none declared = whole family = every person of the family) reaches a practitioner of an
//    organisation other than the lead agency only where, for every subject, an ACTIVE,
//    unexpired ConsentRecord given by someone entitled to consent for that subject covers
//    SHARE_WITH_TAF and the recipient organisation, not withdrawn for it (withdrawn_purposes,
//    withdrawn_recipients), not excluded (excluded_recipients), and no refusal or withdrawal by
//    a competent child for her own information (rule 3) names that recipient. The lead
//    agency's own record is never restricted by consent (§6.2);
//  - consent data_scope and excluded_categories (§6.3) narrow what a covered recipient receives;
//  - minimisation (§5): fields declared with FieldDef::audience = lead_and_managers (for example an
//    alert's details, a confidential address's lines) reach only the lead professional and
//    managers; T2 and T3 fields never reach PLAN_AND_OWN_ACTIONS members;
//  - writes (§7): FieldDef::lead_or_manager_writes, Lifecycle reserved states, alert removal
//    (C-15), no self-authorisation, TAF members write only their own plan actions and records,
//    server-authority fields only from the office.
// Thread-safety: pure functions over their arguments.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hearth/core/schema.hpp"
#include "hearth/core/validation.hpp"
#include "hearth/core/value.hpp"

namespace hearth::access {

// One live record of the family as the policy sees it: its shown field values.
struct RecordFacts {
  std::string type;
  std::string id;
  FieldValues fields;       // every field that has a value
  std::string created_by;   // the practitioner whose op created it ("" if unknown)
};

// The family as the policy sees it.
struct FamilyFacts {
  std::string family;
  std::vector<RecordFacts> records;  // every live (created, not deleted) record, any order
  // Practitioner -> organisation, for the practitioners the records name (the team, the
  // creator). Filled by the caller from its directory; the policy never looks anything up.
  std::map<std::string, std::string> organisation_of;
};

// Who is asking.
struct Viewer {
  std::string practitioner;              // "" for the office
  std::string organisation;
  std::set<std::string> system_roles;    // Practitioner.system_roles (DOMAIN.md §3.2)
  bool office = false;                   // the office credential or an administrator
};

enum class Standing { none, plan_member, full_member, break_glass, lead, manager, office };
const char* to_string(Standing s);

// What one viewer may receive of one family.
struct FamilyView {
  Standing standing = Standing::none;
  std::string reason;  // why this standing (shown, audited)
  // Records withheld entirely: record id -> reason.
  std::map<std::string, std::string> withheld_records;
  // Fields withheld from records that are otherwise sent: record id -> field -> reason.
  std::map<std::string, std::map<std::string, std::string>> withheld_fields;

  bool family_visible() const { return standing != Standing::none; }
  bool record_visible(const std::string& id) const;
  bool field_visible(const std::string& id, const std::string& field) const;
  // A short stable digest of everything above (hex): equal digests mean the same view.
  std::string digest() const;
};

// The view of `family` for `viewer` at `now_ms` (server time, ms since the epoch).
FamilyView view_of(const Schema& schema, const FamilyFacts& family, const Viewer& viewer, int64_t now_ms);

// The family's lead professional and lead agency, as view_of reads them (DOMAIN.md §7): the
// person tasks "for the lead" go to, and the organisation whose managers decide.
struct LeadInfo {
  std::string practitioner;  // "" when the family names no lead and has no known creator
  std::string agency;        // the episode's allocated organisation, else the lead's own
  std::string reason;        // why this person leads (shown, audited)
};
LeadInfo lead_of(const Schema& schema, const FamilyFacts& family, int64_t now_ms);

// One write, in the terms of the policy (sync::Op maps onto it: sync/access_intent.hpp).
struct WriteIntent {
  enum class Kind { create, set, add, remove, transition, remove_record, acknowledge };
  Kind kind = Kind::set;
  std::string entity_type;
  std::string entity_id;
  std::string field;         // set, add, remove, transition (the status field)
  Value value;               // set: the value; add/remove: the element; transition: the target state
  FieldValues fields;        // create: the initial values
};

struct WriteVerdict {
  enum class Outcome {
    allow,          // within the author's rights
    allow_flagged,  // accepted, and flagged for the lead professional's review (e.g. recorded
                    // after a consent withdrawal the device did not know of, DOMAIN.md §6.6)
    hold,           // beyond the author's rights: kept, not applied, routed to `route_to`
  };
  Outcome outcome = Outcome::hold;
  std::string reason;    // shown to the author, audited
  std::string route_to;  // hold: the practitioner who decides (the lead, or a manager role)
  bool allowed() const { return outcome != Outcome::hold; }
};

// The plan lock of a step-up (DOMAIN.md §4.2, §4.4, §8.3 C-19): while a FamilyPlan is
// LOCKED_STEPPED_UP, every write to it, its PlanOutcomes and their PlanActions (creates
// included) is held with its value for the lead professional (a manager when the lead wrote
// it), whoever makes it; contacts and every other record are not locked. The held op's reason
// starts with kPlanLockedReason, so the server can offer the held edits back once the plan is
// unlocked (S3b).
inline constexpr const char* kPlanLockedReason = "plan locked (LOCKED_STEPPED_UP)";

// Need-to-know during a step-up (DOMAIN.md §13 S3, Caldicott 4): while the family's current
// episode is STEP_UP_PENDING or PAUSED_CSC_LEAD, TAF members (FULL_EPISODE and
// PLAN_AND_OWN_ACTIONS; not the lead, managers, break-glass or the office) do not receive other
// practitioners' StepUpRequests, InformationSharingDecisions made for a STEP_UP, and Contacts
// that name a step-up (Contact.escalation) or occurred on or after the day the step-up was
// submitted. Each such record is withheld with a reason starting with kEscalatedReason; their
// tablets show "episode escalated - contact the lead" (the withheld list, and the
// ESCALATION_NOTICE task the server raises for each of them).
inline constexpr const char* kEscalatedReason = "episode escalated - contact the lead";

// Whether `viewer` may make `write` on `family` at `now_ms`.
WriteVerdict judge_write(const Schema& schema, const FamilyFacts& family, const Viewer& viewer,
                         const WriteIntent& write, int64_t now_ms);

}  // namespace hearth::access
