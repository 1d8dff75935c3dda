#pragma once
// The one table that declares every entity: fields, types, requirement (R, R*, C, O of
// DOMAIN.md), allowed enum values, sensitivity class (T0-T3) and its handling (DOMAIN.md §5),
// merge class (DOMAIN.md §8.2), who a conflict goes to (§8.1.6, §8.4), lifecycle with the
// guards that look at related records (§4), and the family root type. Validation, merge
// behaviour, conflict routing and rendering are all derived from it: sync/ names no entity,
// field or state of the domain.
// Thread-safety: a Schema is immutable after construction and may be shared freely.
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hearth {

enum class FieldType { String, Text, Date, DateTime, Bool, Int, Enum, Ref, EnumSet, RefSet, StringSet };
enum class Requirement { Required, RequiredBefore, Conditional, Optional };
enum class Sensitivity { T0, T1, T2, T3 };
enum class MergeClass { Append, SetAddWins, LwwSilent, LwwNotify, SafetyMax, MultiValueReview, ServerAuthority };
// Who may receive a field (DOMAIN.md §5 minimisation, §7): everyone the record reaches, or only
// the lead professional and managers (an alert's details, a confidential address's lines).
enum class Audience { team, lead_and_managers };
// Which part of an episode a record belongs to, for ConsentRecord.data_scope (DOMAIN.md §6.3):
// ALL_EPISODE_RECORDS reaches every area, ASSESSMENT_AND_PLAN_ONLY the assessment and plan
// areas, PLAN_ONLY the plan area. PLAN_AND_OWN_ACTIONS team members receive the plan area only (§7).
enum class ConsentArea { episode, assessment, plan };

const char* to_string(FieldType t);
const char* to_string(Requirement r);
const char* to_string(Sensitivity s);
const char* to_string(MergeClass m);
const char* to_string(Audience a);
const char* to_string(ConsentArea a);
bool is_set_type(FieldType t);

// "Required if <field> is <value>" (or "unless", when negate is true).
struct Condition {
  std::string field;
  std::string value;
  bool negate = false;
};

struct FieldDef {
  std::string name;
  FieldType type = FieldType::String;
  Requirement req = Requirement::Optional;
  Sensitivity sens = Sensitivity::T1;
  MergeClass merge = MergeClass::LwwSilent;
  // Enum / EnumSet values. For SAFETY_MAX enums the order is least to most protective.
  std::vector<std::string> values;
  std::string ref;                           // target entity of Ref / RefSet
  std::vector<std::string> required_before;  // R*: lifecycle states that need this field set
  std::optional<Condition> required_if;      // C
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
  // Size caps, declared per field in the schema table (schema_v1.cpp); 0 means the type's
  // default of validation.cpp. Bytes of a String or Text value, or of one element of a list.
  size_t max_length = 0;
  size_t max_items = 0;  // elements of a list field
  // A conflict on this field goes to the entity's escalation role (e.g. a contested lead
  // professional goes to the team manager, DOMAIN.md §8.3 C-17).
  bool escalate_conflicts = false;

  // Access (DOMAIN.md §5, §7), read by the access policy (access.hpp); declared here so the
  // rules are data, not policy code.
  using Audience = ::hearth::Audience;
  Audience audience = Audience::team;
  // A Bool field of the same record: `audience` applies only while it is true ("" = always),
  // e.g. an address's lines are for the lead and managers only while it is confidential.
  std::string audience_when;
  // Only the lead professional or a manager writes it (e.g. the lead professional, §7).
  bool lead_or_manager_writes = false;
  // A safety fact of a safety record (an alert's type and severity, DOMAIN.md §3.20, §5): it
  // reaches everyone with access to the family whatever the consent and the access scope; the
  // record's other fields follow the ordinary rules.
  bool safety_fact = false;
  // Any team member may write it on any record of the family, not only their own (the
  // family's phone and email, a consent withdrawal, §6.6, §7).
  bool member_writes = false;
  // A Ref<Practitioner> field of the same record that neither the writer nor the written value
  // may equal: nobody authorises their own assessment (§7). Also checked when the record moves
  // into a state that requires this field (FieldDef::required_before).
  std::string not_self_of;
  // A countersignature (DOMAIN.md §6.5): a field of an append-only record that is given its
  // value once after the record is made, by a team manager of the lead agency or a DSL, never
  // by the practitioner the record's owner_field names (validation.cpp lets the one Set
  // through; access.cpp judges who and refuses a second one).
  bool countersign = false;

  bool allows(const std::string& enum_value) const;
  // Rank of a value in the protective order of a SAFETY_MAX field (higher = more protective).
  int protective_rank(const std::string& enum_value) const;
};

struct Transition {
  std::string from;  // "*" = any state not listed in Lifecycle::terminal
  std::string to;
};

// A transition that also needs related records, checked when the edit is made (a local
// guard, docs/change-log.md). The record's "parts" are the live records of its family whose
// Ref field `part_link` names it (e.g. the findings and child voices of an assessment).
// Messages name the record, the transition and the rule; "{}" in a `need` is replaced by the
// prefix or element that is missing.
struct TransitionGuard {
  std::string to;                  // the target state guarded
  std::string part_link;           // Ref field by which a part names the record
  bool no_open_conflicts = false;  // no open conflict on the record or any of its parts
  // Every prefix needs a part of `part_type` whose `field` starts with it.
  struct Coverage {
    std::string part_type;
    std::string field;
    std::vector<std::string> prefixes;
    std::string need;
  };
  std::vector<Coverage> coverage;
  // Every element of the list field `list` of the record that the record's Ref field `via`
  // names needs a part of `part_type` whose `field` equals it.
  struct EachElement {
    std::string via;
    std::string list;
    std::string part_type;
    std::string field;
    std::string need;
  };
  std::vector<EachElement> each;
};

struct Lifecycle {
  std::string field;  // the status field the lifecycle governs
  std::string initial;
  std::vector<std::string> terminal;
  std::vector<Transition> transitions;
  // A rejected intent (offline transition that did not apply) to one of these states goes to
  // the entity's escalation role; others go to its conflict role.
  std::vector<std::string> escalated_targets;
  std::vector<TransitionGuard> guards;
  // Only the lead professional or a manager moves a record into `reserved_targets` (episode
  // CLOSING and CLOSED, assessment AUTHORISED) or out of `reserved_sources` (episode
  // STEP_UP_PENDING), DOMAIN.md §7.
  std::vector<std::string> reserved_targets;
  std::vector<std::string> reserved_sources;

  bool allows(const std::string& from, const std::string& to) const;
  std::vector<std::string> targets_from(const std::string& from) const;
};

struct EntityDef {
  std::string name;
  bool family_scoped = true;  // false: tenant directory records (Organisation, Practitioner)
  bool append_only = false;   // APPEND entities: immutable after creation, never deleted
  bool derived = false;       // computed by the materialiser, never written directly
  std::string occurred_field; // for chronology ordering (e.g. Contact.occurred_at)
  // Who a conflict on this entity goes to (role names the app resolves to people, DOMAIN.md
  // §8.1.6, §8.4). Value conflicts (REVIEW, NOTIFY, CONFIRM) go to `value_conflict_role` when
  // set (e.g. an assessment's author), otherwise to `conflict_role`; rejected intents and
  // cancelled deletes go to `conflict_role`. SAFETY_MAX conflicts that involve the most
  // protective value, fields marked escalate_conflicts and rejected intents to
  // Lifecycle::escalated_targets go to `escalation_role`.
  std::string conflict_role;
  std::string value_conflict_role;
  std::string escalation_role;
  std::vector<FieldDef> fields;
  std::optional<Lifecycle> lifecycle;

  // Access (DOMAIN.md §5-§7), read by the access policy (access.hpp).
  // Ref / RefSet fields to Person naming whom a record is about (consent is per person,
  // §6.3). None declared, or none set on a record: the record is about the whole family
  // (every person of the family). A Person record is about itself (`subject_is_self`).
  std::vector<std::string> subject_fields;
  bool subject_is_self = false;
  using ConsentArea = ::hearth::ConsentArea;
  ConsentArea consent_area = ConsentArea::episode;
  // An EnumSet of exclusion categories (ConsentRecord.excluded_categories, §6.3) the record
  // touches ("" = none declared).
  std::string category_field;
  // Whose record it is, for what a TAF member may edit and receive as their own (§7): a
  // Ref/RefSet to Practitioner (PlanAction.owner_practitioner, Contact.practitioner), or a Ref
  // to another record of the family whose owner owns this one (a finding belongs to its
  // assessment's owner). `co_owner_field`: a RefSet of Practitioner who share the ownership
  // (Assessment.co_authors). `creator_owns`: the practitioner who created it owns it
  // (OutcomeMeasurement, which names no practitioner).
  std::string owner_field;
  std::string co_owner_field;
  bool creator_owns = false;
  // The record is part of the record this field names (a String or Ref holding a record id):
  // it reaches a viewer only where that record does (an Amendment follows its target).
  std::string part_of_field;
  // Removing a record needs a manager (an alert, C-15); the lead's removal is routed to one.
  bool removal_needs_manager = false;
  // The records the policy itself reads, which every team member receives so the tablet can
  // enforce the policy offline (TeamMember, EarlyHelpEpisode, ConsentRecord, BreakGlassGrant,
  // Task): their T0/T1 fields reach every team member whatever the consent; their T2/T3 fields
  // follow the ordinary rules.
  bool policy_record = false;
  // A safety marker (an Alert): the record and its safety facts (FieldDef::safety_fact) reach
  // everyone with access to the family whatever the consent and the access scope (§3.20); its
  // other fields follow consent, scope and audience like any record's.
  bool safety_record = false;
  // A sharing act (SharingRequest, DOMAIN.md §6.8): a tablet records one only while its policy
  // snapshot is younger than the sharing period (client Store::may_share); the server decides it
  // at sync.
  bool sharing_act = false;

  const FieldDef* field(const std::string& name) const;
  size_t field_index(const std::string& name) const;  // fields.size() when unknown
};

// How a sensitivity class is handled (DOMAIN.md §5). Declared here so the store, the exports
// and the server read one table; today only `hearth schema` shows it.
struct SensitivityHandling {
  Sensitivity cls = Sensitivity::T1;
  bool encrypted_at_rest = false;      // whole-store encryption on the device (T1 and above)
  bool field_key = false;              // sealed with a separate field-level key (T2, T3)
  bool export_needs_decision = false;  // left out of exports to TAF agencies without a per-item decision (T2, T3)
  bool lawful_basis_required = false;  // processing needs an Art 9/10 condition in the register (T3)
  bool reads_audited = false;          // read access is audited (T3)
};

class Schema {
 public:
  void add(EntityDef def);
  const EntityDef* entity(const std::string& name) const;
  const std::vector<EntityDef>& entities() const { return entities_; }

  // The entity type whose records are families: a family's root record has the family's id
  // as both entity id and family (DOMAIN.md §3.5). "" when the schema declares none.
  const std::string& family_root_type() const { return family_root_; }
  void set_family_root_type(std::string type) { family_root_ = std::move(type); }
  bool is_family_root(const std::string& type) const { return !family_root_.empty() && type == family_root_; }

  // The handling of a sensitivity class (DOMAIN.md §5); a default (nothing required) when the
  // schema declares none for it.
  const SensitivityHandling& handling(Sensitivity cls) const;
  void set_handling(SensitivityHandling h);
  // The sensitivity class of `type`.`field`, or nullopt when either is unknown.
  std::optional<Sensitivity> sensitivity(const std::string& type, const std::string& field) const;

  // The Early Help v1 schema (schema_v1.cpp).
  static const Schema& v1();

 private:
  std::vector<EntityDef> entities_;
  std::map<std::string, size_t> index_;
  std::string family_root_;
  std::map<Sensitivity, SensitivityHandling> handling_;
};

}  // namespace hearth
