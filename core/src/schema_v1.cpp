// The Early Help v1 schema: DOMAIN.md §3 (entities), §4 (lifecycles), §5 (sensitivity)
// and §8.2 (merge classes), declared once. Nested lists of DOMAIN.md that practitioners
// edit concurrently (assessment findings, voice of the child) are their own entities with
// keyed ids so that two devices editing "the same section" edit the same record.
#include <utility>

#include "hearth/core/schema.hpp"

namespace hearth {
namespace {

using FT = FieldType;
using MC = MergeClass;
using RQ = Requirement;
using SN = Sensitivity;
using Strings = std::vector<std::string>;

// Size caps. DOMAIN.md states no sizes; these keep the largest op well below the protocol's
// per-op limit (sync/protocol.hpp Limits::op_bytes, 512 KiB) while leaving room for long
// narratives: about 10,000 words in one Text field, one line of up to 1 KiB in a String.
// A new record's values together stay under kMaxRecordBytes (validation.hpp).
constexpr size_t kLongTextBytes = 64 * 1024;  // Text: narratives, assessment sections, notes
constexpr size_t kShortTextBytes = 1024;      // String, and each element of a List<String>
constexpr size_t kMaxListItems = 200;         // elements of a list field (people, needs, roles)

// Fluent builder so each row of the table reads like a row of DOMAIN.md.
struct F {
  FieldDef d;
  F(std::string name, FT type, RQ req, SN sens, MC merge) {
    d.name = std::move(name);
    d.type = type;
    d.req = req;
    d.sens = sens;
    d.merge = merge;
    if (type == FT::Text) d.max_length = kLongTextBytes;
    if (type == FT::String || type == FT::StringSet) d.max_length = kShortTextBytes;
    if (is_set_type(type)) d.max_items = kMaxListItems;
  }
  F& of(Strings v) { d.values = std::move(v); return *this; }
  F& to(std::string entity) { d.ref = std::move(entity); return *this; }
  F& before(Strings states) { d.required_before = std::move(states); return *this; }
  F& when(std::string field, std::string value) { d.required_if = Condition{std::move(field), std::move(value), false}; return *this; }
  F& unless(std::string field, std::string value) { d.required_if = Condition{std::move(field), std::move(value), true}; return *this; }
  F& range(int64_t lo, int64_t hi) { d.min = lo; d.max = hi; return *this; }
  F& escalate() { d.escalate_conflicts = true; return *this; }
  // Access (DOMAIN.md §5, §7; read by core/access.cpp).
  F& lead_only() { d.audience = Audience::lead_and_managers; return *this; }
  F& lead_only_when(std::string bool_field) {
    d.audience = Audience::lead_and_managers;
    d.audience_when = std::move(bool_field);
    return *this;
  }
  F& reserved() { d.lead_or_manager_writes = true; return *this; }
  F& safety_fact() { d.safety_fact = true; return *this; }
  F& any_member_writes() { d.member_writes = true; return *this; }
  F& not_self(std::string practitioner_field) { d.not_self_of = std::move(practitioner_field); return *this; }
  F& countersign() { d.countersign = true; return *this; }
  operator FieldDef() const { return d; }  // NOLINT
};

EntityDef entity(std::string name, std::vector<FieldDef> fields) {
  EntityDef e;
  e.name = std::move(name);
  e.fields = std::move(fields);
  return e;
}

// Access declarations of an entity (DOMAIN.md §5-§7; read by core/access.cpp).
EntityDef about(EntityDef e, Strings subject_fields) {
  e.subject_fields = std::move(subject_fields);
  return e;
}

EntityDef in_area(EntityDef e, ConsentArea area) {
  e.consent_area = area;
  return e;
}

EntityDef owned_by(EntityDef e, std::string owner_field) {
  e.owner_field = std::move(owner_field);
  return e;
}

// The exclusion categories of ConsentRecord.excluded_categories (DOMAIN.md §6.3).
const Strings kSensitiveCategories = {"MENTAL_HEALTH", "SEXUAL_HEALTH", "SUBSTANCE_MISUSE", "CRIMINAL",
                                      "DOMESTIC_ABUSE", "OTHER"};
const std::string kCategoryField = "sensitive_categories";

// The categories a record touches, for a consent's excluded_categories (DOMAIN.md §6.3).
FieldDef categories(MC merge = MC::SetAddWins) {
  return F(kCategoryField, FT::EnumSet, RQ::Optional, SN::T3, merge).of(kSensitiveCategories);
}

EntityDef categorised(EntityDef e) {
  e.category_field = kCategoryField;
  return e;
}

Lifecycle lifecycle(std::string field, std::string initial, Strings terminal, std::vector<Transition> transitions) {
  Lifecycle l;
  l.field = std::move(field);
  l.initial = std::move(initial);
  l.terminal = std::move(terminal);
  l.transitions = std::move(transitions);
  return l;
}

// Roles a conflict is assigned to (DOMAIN.md §8.1.6, §8.4).
const std::string kLeadProfessional = "LEAD_PROFESSIONAL";
const std::string kTeamManager = "TEAM_MANAGER";
const std::string kAuthor = "AUTHOR";

// Value conflicts on an assessment and its sections go back to its author (DOMAIN.md §8.2).
EntityDef authored(EntityDef e) {
  e.value_conflict_role = kAuthor;
  return e;
}

// Adds an entity with the routing every entity shares unless it says otherwise: conflicts go
// to the lead professional, escalations to the team manager, and a rejected closure (an
// offline CLOSED that did not apply) is escalated.
void add(Schema& s, EntityDef e) {
  if (e.conflict_role.empty()) e.conflict_role = kLeadProfessional;
  if (e.escalation_role.empty()) e.escalation_role = kTeamManager;
  if (e.lifecycle && e.lifecycle->escalated_targets.empty()) e.lifecycle->escalated_targets = {"CLOSED"};
  s.add(std::move(e));
}

const Strings kLevels = {"L1", "L2", "L3", "L4"};  // SAFETY_MAX: L4 most protective
const Strings kNeedCategory = {
    "PARENTING_SUPPORT", "PARENTAL_SEPARATION", "SCHOOL_READINESS_EARLY_DEVELOPMENT", "SPEECH_LANGUAGE",
    "SCHOOL_ATTENDANCE_EXCLUSION", "CHILD_MISSING_EDUCATION", "EMOTIONAL_WELLBEING_MENTAL_HEALTH_CHILD",
    "PARENTAL_MENTAL_HEALTH", "SUBSTANCE_MISUSE_CHILD", "SUBSTANCE_MISUSE_PARENT", "DOMESTIC_ABUSE",
    "NEGLECT_CONCERN", "BEHAVIOUR", "ASB_OFFENDING", "EXPLOITATION_RISK_CSE_CCE", "MISSING_FROM_HOME",
    "SEND_DISABILITY", "PHYSICAL_HEALTH", "YOUNG_CARER", "TEENAGE_PARENT", "HOUSING_HOMELESSNESS",
    "FINANCE_DEBT_POVERTY", "WORKLESSNESS", "REFUGEE_RESETTLEMENT_INTEGRATION", "BEREAVEMENT",
    "RISK_OF_ENTERING_CARE", "OTHER"};
const Strings kCinSource = {"1A", "1B", "1C", "1D", "2A", "2B", "3A", "3B", "3C", "3D", "3E",
                            "3F", "4",  "5A", "5B", "5C", "5D", "6",  "7",  "8",  "9",  "10"};
const Strings kSfOutcome = {"GOOD_EDUCATION", "GOOD_EARLY_YEARS_DEVELOPMENT", "IMPROVED_MENTAL_PHYSICAL_HEALTH",
                            "SUBSTANCE_USE", "IMPROVED_FAMILY_RELATIONSHIPS", "CHILDREN_SAFE_FROM_ABUSE_EXPLOITATION",
                            "CRIME_PREVENTION", "SAFE_FROM_DOMESTIC_ABUSE", "SECURE_HOUSING", "FINANCIAL_STABILITY"};
const Strings kConsentPurpose = {"RECEIVE_EARLY_HELP", "REGISTER_ON_INDEX", "SHARE_WITH_TAF",
                                 "CONTACT_AGENCIES_FOR_INFORMATION", "REFER_TO_SERVICE", "NATIONAL_EVALUATION",
                                 "COMPLETE_GCP2"};
const Strings kTriangleDomains = {
    "CDN_HEALTH", "CDN_EDUCATION", "CDN_EMOTIONAL_BEHAVIOURAL", "CDN_IDENTITY", "CDN_FAMILY_SOCIAL_RELATIONSHIPS",
    "CDN_SOCIAL_PRESENTATION", "CDN_SELFCARE_SKILLS", "PC_BASIC_CARE", "PC_ENSURING_SAFETY", "PC_EMOTIONAL_WARMTH",
    "PC_STIMULATION", "PC_GUIDANCE_BOUNDARIES", "PC_STABILITY", "FEF_FAMILY_HISTORY_FUNCTIONING", "FEF_WIDER_FAMILY",
    "FEF_HOUSING", "FEF_EMPLOYMENT", "FEF_INCOME", "FEF_SOCIAL_INTEGRATION", "FEF_COMMUNITY_RESOURCES", "LOCAL"};

void add_directory(Schema& s) {
  auto org = entity("Organisation", {
      F("name", FT::String, RQ::Required, SN::T0, MC::LwwNotify),
      F("org_type", FT::Enum, RQ::Required, SN::T0, MC::LwwNotify)
          .of({"LA_EARLY_HELP", "LA_CSC", "LA_FRONT_DOOR_MASH", "LA_EDUCATION_SERVICES", "LA_YOUTH_SERVICE",
               "YOUTH_JUSTICE", "HEALTH_VISITING", "SCHOOL_NURSING", "MIDWIFERY", "GP", "CAMHS",
               "ADULT_MENTAL_HEALTH", "DRUG_ALCOHOL_SERVICE", "ACUTE_HOSPITAL", "SCHOOL", "EARLY_YEARS_SETTING",
               "FE_COLLEGE", "CHILDRENS_CENTRE_FAMILY_HUB", "HOUSING", "POLICE", "PROBATION", "DWP_JOBCENTRE",
               "VCS", "ADULT_SOCIAL_CARE", "FIRE_RESCUE", "OTHER"}),
      F("cin_source_code", FT::Enum, RQ::Optional, SN::T0, MC::LwwSilent).of(kCinSource),
      F("isp_signatory", FT::Bool, RQ::Required, SN::T0, MC::LwwNotify),
      F("controller_role", FT::Enum, RQ::Required, SN::T0, MC::LwwNotify)
          .of({"LA_CONTROLLER", "INDEPENDENT_CONTROLLER", "JOINT_CONTROLLER", "PROCESSOR"}),
      F("ods_or_urn", FT::String, RQ::Optional, SN::T0, MC::LwwSilent),
  });
  org.family_scoped = false;
  add(s, org);

  auto prac = entity("Practitioner", {
      F("display_name", FT::String, RQ::Required, SN::T1, MC::MultiValueReview),
      F("organisation", FT::Ref, RQ::Required, SN::T0, MC::MultiValueReview).to("Organisation"),
      F("job_role", FT::Enum, RQ::Required, SN::T0, MC::LwwNotify)
          .of({"HEALTH_VISITOR", "SCHOOL_NURSE", "MIDWIFE", "YOUTH_WORKER", "FAMILY_SUPPORT_WORKER",
               "EARLY_HELP_PROFESSIONAL", "SOCIAL_WORKER", "TEACHER_DSL", "SENCO", "EDUCATION_WELFARE",
               "HOUSING_OFFICER", "POLICE_OFFICER", "DRUG_ALCOHOL_WORKER", "GP", "OTHER"}),
      F("system_roles", FT::EnumSet, RQ::Required, SN::T0, MC::SetAddWins)
          .of({"PRACTITIONER", "LEAD_ELIGIBLE", "TEAM_MANAGER", "FRONT_DOOR_DECIDER", "DSL", "IG_OFFICER",
               "PERFORMANCE_ANALYST", "ADMIN"}),
      F("line_manager", FT::Ref, RQ::Optional, SN::T1, MC::LwwNotify).to("Practitioner"),
  });
  prac.family_scoped = false;
  add(s, prac);
}

void add_family_and_people(Schema& s) {
  // Identity records (the family, its people and its household) are what a plan names: they
  // belong to the plan area, the narrowest a consent's data_scope reaches.
  add(s, in_area(entity("Family", {
      F("display_name", FT::String, RQ::Required, SN::T1, MC::MultiValueReview),
      F("current_address", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("Address"),
      F("lsoa_code", FT::String, RQ::Optional, SN::T1, MC::LwwSilent),
      F("preferred_contact", FT::Enum, RQ::Optional, SN::T1, MC::LwwSilent)
          .of({"PHONE", "SMS", "EMAIL", "LETTER", "VIA_PROFESSIONAL"}),
      F("household_language", FT::String, RQ::Optional, SN::T1, MC::LwwSilent),
      F("phone", FT::String, RQ::Optional, SN::T1, MC::LwwSilent).any_member_writes(),  // §7
      F("email", FT::String, RQ::Optional, SN::T1, MC::LwwSilent).any_member_writes(),
  }), ConsentArea::plan));

  auto person = in_area(entity("Person", {
      F("office_person_id", FT::String, RQ::Optional, SN::T1, MC::LwwNotify),
      F("nhs_number", FT::String, RQ::Optional, SN::T1, MC::MultiValueReview),
      F("upn", FT::String, RQ::Optional, SN::T1, MC::MultiValueReview),
      F("given_names", FT::String, RQ::Required, SN::T1, MC::MultiValueReview),
      F("family_name", FT::String, RQ::Required, SN::T1, MC::MultiValueReview),
      F("other_names", FT::StringSet, RQ::Optional, SN::T1, MC::SetAddWins),
      F("person_status", FT::Enum, RQ::Required, SN::T1, MC::MultiValueReview).of({"UNBORN", "LIVING", "DECEASED"}),
      F("date_of_birth", FT::Date, RQ::Conditional, SN::T1, MC::MultiValueReview).unless("person_status", "UNBORN"),
      F("dob_estimated", FT::Bool, RQ::Optional, SN::T1, MC::LwwNotify),
      F("expected_due_date", FT::Date, RQ::Conditional, SN::T3, MC::MultiValueReview).when("person_status", "UNBORN"),
      F("sex", FT::Enum, RQ::Optional, SN::T1, MC::MultiValueReview).of({"MALE", "FEMALE", "NOT_STATED", "NEITHER"}),
      F("ethnicity", FT::Enum, RQ::Optional, SN::T3, MC::MultiValueReview)
          .of({"WBRI", "WIRI", "WIRT", "WOTH", "WROM", "MWBC", "MWBA", "MWAS", "MOTH", "AIND", "APKN", "ABAN",
               "AOTH", "BCRB", "BAFR", "BOTH", "CHNE", "OOTH", "REFU", "NOBT"}),
      F("religion", FT::String, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("first_language", FT::String, RQ::Optional, SN::T1, MC::LwwSilent),
      F("interpreter_required", FT::Bool, RQ::Optional, SN::T1, MC::SafetyMax),
      F("communication_needs", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("disability", FT::Bool, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("send_status", FT::Enum, RQ::Optional, SN::T3, MC::MultiValueReview).of({"NONE", "SEN_SUPPORT", "EHCP", "UNKNOWN"}),
      F("young_carer", FT::Bool, RQ::Optional, SN::T3, MC::SafetyMax),
      F("education_setting", FT::Ref, RQ::Optional, SN::T1, MC::LwwNotify).to("Organisation"),
      F("phone", FT::String, RQ::Optional, SN::T1, MC::LwwSilent).any_member_writes(),  // §7
      F("email", FT::String, RQ::Optional, SN::T1, MC::LwwSilent).any_member_writes(),
      F("statutory_status", FT::Enum, RQ::Optional, SN::T2, MC::ServerAuthority)
          .of({"NONE", "CIN_PLAN", "CP_PLAN", "LOOKED_AFTER", "UNKNOWN"}),
      // Set only by a person merge (server/src/usecases/person_merge.hpp): the person this one was
      // merged into; the record is kept (G1, core/duplicates.hpp kMergedIntoField).
      F("merged_into", FT::Ref, RQ::Optional, SN::T1, MC::ServerAuthority).to("Person"),
  }), ConsentArea::plan);
  person.subject_is_self = true;
  add(s, person);

  add(s, about(entity("Relationship", {
      F("person_a", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Person"),
      F("person_b", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Person"),
      F("type", FT::Enum, RQ::Required, SN::T1, MC::MultiValueReview)
          .of({"MOTHER", "FATHER", "STEP_PARENT", "PARTNER_OF_PARENT", "GRANDPARENT", "SIBLING", "HALF_SIBLING",
               "OTHER_RELATIVE", "KINSHIP_CARER", "FOSTER_CARER", "FRIEND", "OTHER"}),
      F("parental_responsibility", FT::Enum, RQ::Optional, SN::T1, MC::MultiValueReview).of({"YES", "NO", "UNKNOWN"}),
      F("pr_basis", FT::Enum, RQ::Optional, SN::T1, MC::MultiValueReview)
          .of({"BIRTH_MOTHER", "MARRIED_OR_CIVIL_PARTNER", "REGISTERED_ON_BIRTH_CERT", "PR_AGREEMENT_OR_ORDER", "SGO",
               "CHILD_ARRANGEMENTS_ORDER", "LA_CARE_ORDER", "UNKNOWN"}),
      // SAFETY_MAX order: any restriction is more protective than none.
      F("contact_restriction", FT::Enum, RQ::Optional, SN::T2, MC::SafetyMax)
          .of({"NONE", "NO_ADDRESS_DISCLOSURE", "NO_INFORMATION_ABOUT_CHILD", "NO_CONTACT"}),
      F("valid_from", FT::Date, RQ::Optional, SN::T1, MC::LwwNotify),
      F("valid_to", FT::Date, RQ::Optional, SN::T1, MC::LwwNotify),
  }), {"person_a", "person_b"}));

  add(s, in_area(about(entity("FamilyMembership", {
      F("person", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Person"),
      F("member_role", FT::Enum, RQ::Required, SN::T1, MC::MultiValueReview)
          .of({"CHILD_SUBJECT", "CHILD_OTHER", "PARENT_CARER", "SIGNIFICANT_ADULT_IN_HOUSEHOLD",
               "SIGNIFICANT_ADULT_OUTSIDE_HOUSEHOLD", "CONNECTED_PERSON"}),
      F("lives_in_household", FT::Bool, RQ::Required, SN::T1, MC::MultiValueReview),
      F("is_key_contact", FT::Bool, RQ::Optional, SN::T1, MC::LwwSilent),
      F("joined", FT::Date, RQ::Optional, SN::T1, MC::LwwNotify),
      F("left", FT::Date, RQ::Optional, SN::T1, MC::LwwNotify),
  }), {"person"}), ConsentArea::plan));

  // A confidential address (a refuge) reaches only the lead professional and managers (§3.6, §5).
  add(s, entity("Address", {
      F("lines", FT::Text, RQ::Required, SN::T1, MC::MultiValueReview).lead_only_when("confidential"),
      F("postcode", FT::String, RQ::Required, SN::T1, MC::MultiValueReview).lead_only_when("confidential"),
      F("uprn", FT::String, RQ::Optional, SN::T1, MC::MultiValueReview).lead_only_when("confidential"),
      F("lsoa_code", FT::String, RQ::Optional, SN::T1, MC::LwwSilent),
      F("type", FT::Enum, RQ::Required, SN::T1, MC::MultiValueReview).of({"HOME", "TEMPORARY", "REFUGE", "SCHOOL", "OTHER"}),
      F("confidential", FT::Bool, RQ::Required, SN::T2, MC::SafetyMax),
      F("valid_from", FT::Date, RQ::Optional, SN::T1, MC::LwwNotify),
      F("valid_to", FT::Date, RQ::Optional, SN::T1, MC::LwwNotify),
  }));
}

void add_referral_and_episode(Schema& s) {
  auto referral = entity("Referral", {
      F("received_at", FT::DateTime, RQ::Required, SN::T1, MC::LwwNotify),
      F("channel", FT::Enum, RQ::Required, SN::T0, MC::LwwNotify)
          .of({"MASH_FRONT_DOOR", "EARLY_HELP_HUB", "DIRECT_TO_EH_TEAM", "SELF_REFERRAL", "STEP_DOWN_FROM_CSC", "INTERNAL"}),
      // Informant identity is protected (§5, Golden Rule 5).
      F("referrer", FT::Ref, RQ::Optional, SN::T2, MC::MultiValueReview).to("Practitioner").lead_only(),
      F("referrer_details", FT::Text, RQ::Optional, SN::T2, MC::MultiValueReview).lead_only(),
      F("referral_source_code", FT::Enum, RQ::Required, SN::T0, MC::LwwNotify).of(kCinSource),
      F("subject_persons", FT::RefSet, RQ::Required, SN::T1, MC::SetAddWins).to("Person"),
      F("presenting_needs", FT::EnumSet, RQ::Required, SN::T3, MC::SetAddWins).of(kNeedCategory),
      F("reason_text", FT::Text, RQ::Required, SN::T3, MC::MultiValueReview),
      F("significant_harm_suspected", FT::Bool, RQ::Required, SN::T2, MC::SafetyMax).lead_only(),
      F("consent_to_refer", FT::Ref, RQ::Optional, SN::T2, MC::MultiValueReview).to("ConsentRecord"),
      F("consent_not_sought_reason", FT::Enum, RQ::Optional, SN::T2, MC::MultiValueReview)
          .of({"WOULD_INCREASE_RISK", "WOULD_PREJUDICE_INVESTIGATION", "UNABLE_TO_CONTACT_URGENT", "OTHER"}),
      F("level_at_triage", FT::Enum, RQ::RequiredBefore, SN::T2, MC::SafetyMax).of(kLevels).before({"DECIDED"}),
      F("decision", FT::Enum, RQ::RequiredBefore, SN::T1, MC::MultiValueReview)
          .of({"ALLOCATE_TARGETED_EH_SERVICE", "EH_CONSULTATION_TAF", "SIGNPOST_IAG", "REFER_TO_SINGLE_SERVICE",
               "STEP_UP_TO_CSC", "LINK_TO_OPEN_EPISODE", "NO_FURTHER_ACTION"})
          .before({"DECIDED"}),
      F("decided_at", FT::DateTime, RQ::RequiredBefore, SN::T1, MC::LwwNotify).before({"DECIDED"}),
      F("decided_by", FT::Ref, RQ::RequiredBefore, SN::T1, MC::MultiValueReview).to("Practitioner").before({"DECIDED"}),
      F("referrer_notified_at", FT::DateTime, RQ::RequiredBefore, SN::T1, MC::LwwNotify).before({"CLOSED"}),
      F("referrer_notified_channel", FT::Enum, RQ::Optional, SN::T1, MC::LwwSilent).of({"PHONE", "EMAIL", "PORTAL", "LETTER"}),
      F("offer_outcome", FT::Enum, RQ::Optional, SN::T1, MC::LwwNotify).of({"ACCEPTED", "DECLINED", "NO_RESPONSE", "NOT_APPLICABLE"}),
      F("episode", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("EarlyHelpEpisode"),
      F("status", FT::Enum, RQ::Required, SN::T0, MC::ServerAuthority).of({"RECEIVED", "TRIAGE", "DECIDED", "LINKED", "CLOSED"}),
  });
  referral.lifecycle = lifecycle("status", "RECEIVED", {"CLOSED"},
                                 {{"RECEIVED", "TRIAGE"}, {"TRIAGE", "DECIDED"}, {"DECIDED", "CLOSED"},
                                  {"*", "LINKED"}, {"LINKED", "CLOSED"}});
  referral.subject_fields = {"subject_persons"};
  add(s, referral);

  auto episode = entity("EarlyHelpEpisode", {
      F("subject_children", FT::RefSet, RQ::Required, SN::T1, MC::SetAddWins).to("Person"),
      F("origin_referral", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("Referral"),
      F("origin_step_down", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("StepDownReceipt"),
      F("start_date", FT::Date, RQ::Required, SN::T1, MC::MultiValueReview),
      F("start_reason", FT::Enum, RQ::Required, SN::T3, MC::MultiValueReview)
          .of({"ALCOHOL_SUBSTANCE_MISUSE", "MENTAL_HEALTH", "PARENTING_FAMILY_DYNAMICS", "DISABILITY_ILLNESS",
               "DOMESTIC_ABUSE", "ABUSE_NEGLECT", "SPECIAL_CIRCUMSTANCES_VULNERABILITIES", "SOCIO_ECONOMIC",
               "CHILD_WELLBEING_DEVELOPMENT", "INFORMATION_SUPPORT", "OTHER"}),
      F("level_of_need", FT::Enum, RQ::Required, SN::T2, MC::SafetyMax).of(kLevels),
      F("level_local_label", FT::String, RQ::Optional, SN::T2, MC::LwwNotify),
      F("service_model", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview)
          .of({"SINGLE_AGENCY", "MULTI_AGENCY_TAF", "INTENSIVE_FAMILY_SUPPORT"}),
      F("allocated_org", FT::Ref, RQ::Required, SN::T0, MC::MultiValueReview).to("Organisation"),
      F("lead_professional", FT::Ref, RQ::RequiredBefore, SN::T1, MC::MultiValueReview)
          .to("Practitioner").before({"PLANNING", "ACTIVE"}).escalate().reserved(),  // C-17, §7
      F("taf_members", FT::RefSet, RQ::Optional, SN::T1, MC::SetAddWins).to("Practitioner"),
      F("sf_eligible", FT::Bool, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("sf_needs", FT::EnumSet, RQ::Optional, SN::T3, MC::SetAddWins).of(kSfOutcome),
      F("sf_claim_status", FT::Enum, RQ::Optional, SN::T3, MC::ServerAuthority)
          .of({"NOT_ELIGIBLE", "ELIGIBLE", "OUTCOMES_MET_PENDING_CLAIM", "CLAIMED", "VERIFIED", "REJECTED"}),
      F("closure_reason", FT::Enum, RQ::RequiredBefore, SN::T2, MC::MultiValueReview)
          .of({"OUTCOMES_ACHIEVED", "STEP_DOWN_TO_UNIVERSAL", "STEP_DOWN_TO_SINGLE_AGENCY", "STEPPED_UP_TO_CSC",
               "FAMILY_WITHDREW_CONSENT", "DISENGAGED_UNABLE_TO_CONTACT", "MOVED_OUT_OF_AREA",
               "TRANSFERRED_TO_OTHER_LEAD_SERVICE", "AGE_LIMIT_REACHED", "CHILD_DECEASED",
               "OPENED_IN_ERROR_OR_DUPLICATE", "OTHER"})
          .before({"CLOSED"}),
      F("outcome_at_closure", FT::Enum, RQ::RequiredBefore, SN::T2, MC::MultiValueReview)
          .of({"ALL_ACHIEVED", "SOME_ACHIEVED", "NONE_ACHIEVED", "NOT_ASSESSED"}).before({"CLOSED"}),
      F("closure_destination", FT::Enum, RQ::Optional, SN::T2, MC::MultiValueReview)
          .of({"NONE", "UNIVERSAL", "SINGLE_AGENCY", "CSC", "OTHER_LA", "OTHER_SERVICE"}),
      F("closure_summary", FT::Text, RQ::RequiredBefore, SN::T2, MC::MultiValueReview).before({"CLOSED"}),
      F("closure_authorised_by", FT::Ref, RQ::RequiredBefore, SN::T2, MC::MultiValueReview)
          .to("Practitioner").before({"CLOSED"}).reserved(),
      F("closed_at", FT::Date, RQ::Optional, SN::T2, MC::LwwNotify),
      F("office_episode_id", FT::String, RQ::Optional, SN::T1, MC::ServerAuthority),  // the office's id (§11)
      F("status", FT::Enum, RQ::Required, SN::T0, MC::ServerAuthority)
          .of({"OPEN_AWAITING_AGREEMENT", "ASSESSMENT", "PLANNING", "ACTIVE", "REVIEW", "CLOSING", "CLOSED",
               "STEP_UP_PENDING", "PAUSED_CSC_LEAD"}),
  });
  episode.lifecycle = lifecycle(
      "status", "OPEN_AWAITING_AGREEMENT", {"CLOSED"},
      {{"OPEN_AWAITING_AGREEMENT", "ASSESSMENT"}, {"ASSESSMENT", "PLANNING"}, {"PLANNING", "ACTIVE"},
       {"ACTIVE", "REVIEW"}, {"REVIEW", "ACTIVE"}, {"ACTIVE", "CLOSING"}, {"REVIEW", "CLOSING"},
       {"CLOSING", "CLOSED"}, {"*", "STEP_UP_PENDING"}, {"STEP_UP_PENDING", "PAUSED_CSC_LEAD"},
       {"STEP_UP_PENDING", "CLOSING"}, {"STEP_UP_PENDING", "ACTIVE"}, {"STEP_UP_PENDING", "REVIEW"},
       {"PAUSED_CSC_LEAD", "ACTIVE"}, {"CLOSED", "ACTIVE"}, {"OPEN_AWAITING_AGREEMENT", "CLOSING"},
       {"ASSESSMENT", "CLOSING"}, {"PLANNING", "CLOSING"}});
  // Only the lead professional or a manager closes, or moves the episode on from a step-up (§7).
  episode.lifecycle->reserved_targets = {"CLOSING", "CLOSED"};
  episode.lifecycle->reserved_sources = {"STEP_UP_PENDING"};
  episode.subject_fields = {"subject_children"};
  // Not a policy record: the episode is about its subject children like any record (§6.3); the
  // team the tablet needs comes from the TeamMember records.
  add(s, episode);
}

void add_assessment(Schema& s) {
  const std::string kCompleted = "COMPLETED";
  auto a = entity("Assessment", {
      F("episode", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("EarlyHelpEpisode"),
      F("assessment_type", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview)
          .of({"EARLY_HELP_CONVERSATION", "EHA_FAMILY", "EHA_REASSESSMENT", "YOUNG_CARER", "SPECIALIST"}),
      F("template_id", FT::String, RQ::Required, SN::T0, MC::MultiValueReview),
      F("template_version", FT::String, RQ::Required, SN::T0, MC::MultiValueReview),
      F("author", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Practitioner"),
      F("co_authors", FT::RefSet, RQ::Optional, SN::T1, MC::SetAddWins).to("Practitioner"),
      F("started_at", FT::DateTime, RQ::Required, SN::T1, MC::LwwNotify),
      F("completed_at", FT::DateTime, RQ::RequiredBefore, SN::T1, MC::LwwNotify).before({kCompleted}),
      // Management oversight: nobody authorises their own assessment (§7).
      F("authorised_by", FT::Ref, RQ::RequiredBefore, SN::T1, MC::MultiValueReview)
          .to("Practitioner").before({"AUTHORISED"}).not_self("author").reserved(),
      F("authorised_at", FT::DateTime, RQ::RequiredBefore, SN::T1, MC::LwwNotify).before({"AUTHORISED"}).reserved(),
      F("reason_for_assessment", FT::Text, RQ::Required, SN::T3, MC::MultiValueReview),
      F("significant_harm_indicated", FT::Bool, RQ::Required, SN::T2, MC::SafetyMax),
      F("worries", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("working_well", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("needs_to_happen", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("family_history_summary", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("parent_carer_views", FT::Text, RQ::RequiredBefore, SN::T3, MC::MultiValueReview).before({kCompleted}),
      F("analysis", FT::Text, RQ::RequiredBefore, SN::T3, MC::MultiValueReview).before({kCompleted}),
      F("level_of_need_determined", FT::Enum, RQ::RequiredBefore, SN::T2, MC::SafetyMax).of(kLevels).before({kCompleted}),
      F("presenting_needs", FT::EnumSet, RQ::RequiredBefore, SN::T3, MC::SetAddWins).of(kNeedCategory).before({kCompleted}),
      F("sf_needs", FT::EnumSet, RQ::Optional, SN::T3, MC::SetAddWins).of(kSfOutcome),
      F("family_copy_provided_at", FT::DateTime, RQ::Optional, SN::T1, MC::LwwNotify),
      F("status", FT::Enum, RQ::Required, SN::T0, MC::ServerAuthority)
          .of({"DRAFT", "IN_PROGRESS", "COMPLETED", "FAMILY_SIGNED", "AUTHORISED", "ABANDONED", "SUPERSEDED"}),
  });
  a.lifecycle = lifecycle("status", "DRAFT", {"AUTHORISED", "ABANDONED", "SUPERSEDED"},
                          {{"DRAFT", "IN_PROGRESS"}, {"IN_PROGRESS", "COMPLETED"}, {"COMPLETED", "FAMILY_SIGNED"},
                           {"FAMILY_SIGNED", "AUTHORISED"}, {"COMPLETED", "AUTHORISED"}, {"DRAFT", "ABANDONED"},
                           {"IN_PROGRESS", "ABANDONED"}, {"*", "SUPERSEDED"}});
  // DOMAIN.md §4.3 IN_PROGRESS -> COMPLETED, and §8.3 C-7: the EHA is a whole-family document.
  TransitionGuard complete;
  complete.to = kCompleted;
  complete.part_link = "assessment";
  complete.no_open_conflicts = true;
  complete.coverage = {{"AssessmentFinding", "domain", {"CDN_", "PC_", "FEF_"},
                        "at least one finding in the {}* domain of the assessment triangle"}};
  complete.each = {{"episode", "subject_children", "ChildVoice", "child", "the voice of the child {} (a ChildVoice record)"}};
  a.lifecycle->guards = {complete};
  a.lifecycle->reserved_targets = {"AUTHORISED"};
  a.consent_area = ConsentArea::assessment;
  a.owner_field = "author";
  a.co_owner_field = "co_authors";  // co-authors write sections directly (§3.9, §7)
  add(s, authored(a));

  // One section of the assessment triangle; id is "<assessment id>/finding/<domain>".
  add(s, authored(categorised(owned_by(in_area(about(entity("AssessmentFinding", {
      F("assessment", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Assessment"),
      F("domain", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview).of(kTriangleDomains),
      F("local_domain", FT::String, RQ::Conditional, SN::T0, MC::MultiValueReview).when("domain", "LOCAL"),
      F("applies_to", FT::RefSet, RQ::Optional, SN::T1, MC::SetAddWins).to("Person"),
      F("whole_family", FT::Bool, RQ::Optional, SN::T1, MC::MultiValueReview),
      F("strengths", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("needs_worries", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("score", FT::Enum, RQ::Optional, SN::T3, MC::MultiValueReview).of({"1", "2", "3", "4", "5", "NO_ISSUE"}),
      F("evidence_source", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      categories(),
  }), {"applies_to"}), ConsentArea::assessment), "assessment"))));

  // Voice of the child; id is "<assessment id>/voice/<child id>".
  add(s, authored(owned_by(in_area(about(entity("ChildVoice", {
      F("assessment", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Assessment"),
      F("child", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Person"),
      F("method", FT::Enum, RQ::Required, SN::T3, MC::MultiValueReview)
          .of({"DIRECT_CONVERSATION", "TOOL_BASED", "OBSERVATION_PRE_VERBAL", "WRITTEN_OR_DRAWING", "VIA_ADVOCATE",
               "PARENT_REPORTED"}),
      F("date", FT::Date, RQ::Required, SN::T1, MC::LwwNotify),
      // A child-confidential view (CC, §5) is not for the TAF agencies (§7).
      F("views_wishes_feelings", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview).lead_only_when("child_confidential"),
      F("seen", FT::Bool, RQ::Optional, SN::T2, MC::MultiValueReview),
      F("seen_alone", FT::Bool, RQ::Optional, SN::T2, MC::MultiValueReview),
      F("not_obtained_reason", FT::Enum, RQ::Optional, SN::T3, MC::MultiValueReview)
          .of({"UNBORN", "PRE_VERBAL_OBSERVED", "DECLINED", "NOT_AVAILABLE", "OTHER"}),
      F("child_confidential", FT::Bool, RQ::Optional, SN::T3, MC::SafetyMax),
  }), {"child"}), ConsentArea::assessment), "assessment")));
}

void add_plan(Schema& s) {
  auto plan = entity("FamilyPlan", {
      F("episode", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("EarlyHelpEpisode"),
      F("version", FT::Int, RQ::Required, SN::T0, MC::MultiValueReview).range(1, 1000),
      F("based_on_assessment", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Assessment"),
      F("agreed_at", FT::DateTime, RQ::RequiredBefore, SN::T1, MC::LwwNotify).before({"AGREED"}),
      F("agreed_at_meeting", FT::Ref, RQ::Optional, SN::T1, MC::LwwNotify).to("TafMeeting"),
      F("family_agreement", FT::RefSet, RQ::RequiredBefore, SN::T1, MC::SetAddWins).to("Person").before({"AGREED"}),
      F("review_interval_weeks", FT::Int, RQ::Required, SN::T0, MC::LwwNotify).range(4, 12),
      F("next_review_due", FT::Date, RQ::Required, SN::T0, MC::LwwNotify),
      F("contingency", FT::Text, RQ::Optional, SN::T2, MC::MultiValueReview),
      F("status", FT::Enum, RQ::Required, SN::T0, MC::ServerAuthority)
          .of({"DRAFT", "AGREED", "ACTIVE", "UNDER_REVIEW", "SUPERSEDED", "CLOSED", "LOCKED_STEPPED_UP"}),
  });
  plan.lifecycle = lifecycle("status", "DRAFT", {"SUPERSEDED", "CLOSED"},
                             {{"DRAFT", "AGREED"}, {"AGREED", "ACTIVE"}, {"ACTIVE", "UNDER_REVIEW"},
                              {"UNDER_REVIEW", "ACTIVE"}, {"UNDER_REVIEW", "SUPERSEDED"}, {"ACTIVE", "CLOSED"},
                              {"UNDER_REVIEW", "CLOSED"}, {"*", "LOCKED_STEPPED_UP"}, {"LOCKED_STEPPED_UP", "ACTIVE"}});
  plan.consent_area = ConsentArea::plan;
  add(s, plan);

  add(s, categorised(in_area(about(entity("PlanOutcome", {
      F("plan", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("FamilyPlan"),
      F("statement", FT::Text, RQ::Required, SN::T3, MC::MultiValueReview),
      F("linked_needs", FT::EnumSet, RQ::Required, SN::T3, MC::SetAddWins).of(kNeedCategory),
      F("sf_outcome", FT::Enum, RQ::Optional, SN::T3, MC::MultiValueReview).of(kSfOutcome),
      F("children", FT::RefSet, RQ::Optional, SN::T1, MC::SetAddWins).to("Person"),
      F("measure", FT::Text, RQ::Required, SN::T1, MC::MultiValueReview),
      F("baseline", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("baseline_date", FT::Date, RQ::Optional, SN::T3, MC::LwwNotify),
      F("target", FT::Text, RQ::Required, SN::T1, MC::MultiValueReview),
      F("target_date", FT::Date, RQ::Required, SN::T1, MC::LwwNotify),
      F("status", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview)
          .of({"NOT_STARTED", "IN_PROGRESS", "ACHIEVED", "PARTIALLY_ACHIEVED", "NOT_ACHIEVED", "NO_LONGER_RELEVANT"}),
      F("latest_progress", FT::Enum, RQ::Optional, SN::T0, MC::MultiValueReview).of({"IMPROVED", "NO_CHANGE", "DETERIORATED"}),
      categories(),
  }), {"children"}), ConsentArea::plan)));

  add(s, categorised(owned_by(in_area(entity("PlanAction", {
      F("outcome", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("PlanOutcome"),
      F("description", FT::Text, RQ::Required, SN::T3, MC::MultiValueReview),
      F("owner_practitioner", FT::Ref, RQ::Conditional, SN::T1, MC::MultiValueReview).to("Practitioner")
          .when("owner_kind", "PRACTITIONER"),
      F("owner_person", FT::Ref, RQ::Conditional, SN::T1, MC::MultiValueReview).to("Person").when("owner_kind", "FAMILY_MEMBER"),
      F("owner_organisation", FT::Ref, RQ::Conditional, SN::T1, MC::MultiValueReview).to("Organisation")
          .when("owner_kind", "ORGANISATION"),
      F("owner_kind", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview).of({"PRACTITIONER", "ORGANISATION", "FAMILY_MEMBER"}),
      F("due_date", FT::Date, RQ::Required, SN::T1, MC::LwwNotify),
      F("status", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview)
          .of({"NOT_STARTED", "IN_PROGRESS", "DONE", "NOT_DONE", "CANCELLED"}),
      F("notes", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      categories(),
  }), ConsentArea::plan), "owner_practitioner")));

  add(s, categorised(in_area(entity("TafMeeting", {
      F("episode", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("EarlyHelpEpisode"),
      F("meeting_type", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview)
          .of({"INITIAL_TAF", "REVIEW_TAF", "CLOSURE_TAF", "STEP_DOWN_HANDOVER", "FAMILY_NETWORK_MEETING"}),
      F("scheduled_at", FT::DateTime, RQ::Required, SN::T1, MC::LwwNotify),
      F("held_at", FT::DateTime, RQ::Optional, SN::T1, MC::LwwNotify),
      F("chair", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Practitioner"),
      F("attendees", FT::RefSet, RQ::Optional, SN::T1, MC::SetAddWins),
      F("child_participation", FT::Enum, RQ::Optional, SN::T3, MC::MultiValueReview)
          .of({"ATTENDED", "VIEWS_SHARED_BY_ADVOCATE_OR_WORKER", "VIEWS_WRITTEN", "NOT_SHARED"}),
      F("decisions", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("minutes", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("plan_version_reviewed", FT::Ref, RQ::Optional, SN::T0, MC::LwwNotify).to("FamilyPlan"),
      F("next_meeting_date", FT::Date, RQ::Optional, SN::T0, MC::LwwNotify),
      categories(),
  }), ConsentArea::plan)));

  add(s, categorised(in_area(entity("Review", {
      F("episode", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("EarlyHelpEpisode"),
      F("plan", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("FamilyPlan"),
      F("review_date", FT::Date, RQ::Required, SN::T1, MC::LwwNotify),
      F("mode", FT::Enum, RQ::Optional, SN::T0, MC::MultiValueReview).of({"TAF_MEETING", "WITH_FAMILY_COLLATED_FROM_TAF"}),
      F("outcome_progress", FT::Text, RQ::Required, SN::T3, MC::MultiValueReview),
      F("new_needs", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview),
      F("child_voice", FT::Ref, RQ::Optional, SN::T3, MC::MultiValueReview).to("ChildVoice"),
      F("star_reading", FT::Ref, RQ::Optional, SN::T3, MC::MultiValueReview).to("OutcomeMeasurement"),
      F("decision", FT::Enum, RQ::Required, SN::T1, MC::MultiValueReview)
          .of({"CONTINUE", "AMEND_PLAN", "REASSESS", "START_GCP2", "STEP_UP", "STEP_DOWN", "CLOSE"}),
      F("next_review_due", FT::Date, RQ::Optional, SN::T1, MC::LwwNotify),
      categories(),
  }), ConsentArea::plan)));
}

void add_records(Schema& s) {
  auto contact = entity("Contact", {
      F("episode", FT::Ref, RQ::Optional, SN::T1, MC::Append).to("EarlyHelpEpisode"),
      F("practitioner", FT::Ref, RQ::Required, SN::T1, MC::Append).to("Practitioner"),
      F("occurred_at", FT::DateTime, RQ::Required, SN::T1, MC::Append),
      F("duration_min", FT::Int, RQ::Optional, SN::T1, MC::Append).range(0, 24 * 60),
      F("contact_type", FT::Enum, RQ::Required, SN::T0, MC::Append)
          .of({"HOME_VISIT", "SCHOOL_OR_SETTING_VISIT", "CLINIC", "COMMUNITY_VENUE", "DETACHED_YOUTH_WORK", "PHONE",
               "VIDEO", "MESSAGE", "GROUP_SESSION", "PROFESSIONAL_CONSULTATION", "NO_ACCESS_VISIT"}),
      F("persons_present", FT::RefSet, RQ::Optional, SN::T1, MC::Append).to("Person"),
      F("children_seen", FT::RefSet, RQ::Optional, SN::T2, MC::Append).to("Person"),
      F("children_seen_alone", FT::RefSet, RQ::Optional, SN::T2, MC::Append).to("Person"),
      F("narrative", FT::Text, RQ::Required, SN::T3, MC::Append),
      F("concern_raised", FT::Bool, RQ::Required, SN::T2, MC::Append),
      F("escalation", FT::Ref, RQ::Optional, SN::T2, MC::Append).to("StepUpRequest"),
      categories(MC::Append),
  });
  contact.append_only = true;
  contact.subject_fields = {"persons_present", "children_seen", "children_seen_alone"};
  contact.category_field = kCategoryField;
  contact.owner_field = "practitioner";
  contact.occurred_field = "occurred_at";
  add(s, contact);

  // Corrections to APPEND records and authorised assessments (DOMAIN.md §3.9, §3.14).
  auto amendment = entity("Amendment", {
      F("target", FT::String, RQ::Required, SN::T1, MC::Append),
      F("reason", FT::Text, RQ::Required, SN::T3, MC::Append),
      F("text", FT::Text, RQ::Required, SN::T3, MC::Append),
      F("author", FT::Ref, RQ::Required, SN::T1, MC::Append).to("Practitioner"),
      F("recorded_at", FT::DateTime, RQ::Required, SN::T1, MC::Append),
  });
  amendment.append_only = true;
  amendment.owner_field = "author";
  amendment.part_of_field = "target";  // a correction reaches only those its target reaches
  amendment.occurred_field = "recorded_at";
  add(s, amendment);

  auto measurement = entity("OutcomeMeasurement", {
      F("episode", FT::Ref, RQ::Required, SN::T1, MC::Append).to("EarlyHelpEpisode"),
      F("subject_kind", FT::Enum, RQ::Required, SN::T1, MC::Append).of({"FAMILY", "PERSON"}),
      F("person", FT::Ref, RQ::Conditional, SN::T1, MC::Append).to("Person").when("subject_kind", "PERSON"),
      F("tool", FT::Enum, RQ::Required, SN::T0, MC::Append)
          .of({"FAMILY_STAR_PLUS", "FAMILY_STAR_EARLY_YEARS", "MY_STAR", "YOUTH_STAR", "LOCAL_SCALE"}),
      F("edition", FT::String, RQ::Optional, SN::T0, MC::Append),
      F("reading_type", FT::Enum, RQ::Required, SN::T0, MC::Append).of({"BASELINE", "REVIEW", "CLOSING"}),
      F("completed_on", FT::Date, RQ::Required, SN::T1, MC::Append),
      F("completion_mode", FT::Enum, RQ::Required, SN::T0, MC::Append).of({"COLLABORATIVE", "WORKER_ONLY"}),
      // "AREA_CODE=score" entries; codes only, the scale wording is licensed material.
      F("scores", FT::StringSet, RQ::Required, SN::T3, MC::Append),
  });
  measurement.append_only = true;
  measurement.subject_fields = {"person"};
  measurement.creator_owns = true;  // the practitioner who took the reading (§7 "own OutcomeMeasurements")
  measurement.occurred_field = "completed_on";
  add(s, measurement);

  auto consent = entity("ConsentRecord", {
      F("purposes", FT::EnumSet, RQ::Required, SN::T1, MC::SetAddWins).of(kConsentPurpose),
      F("covers_persons", FT::RefSet, RQ::Required, SN::T1, MC::SetAddWins).to("Person"),
      F("given_by", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Person"),
      F("capacity_basis", FT::Enum, RQ::Required, SN::T1, MC::MultiValueReview)
          .of({"SELF_ADULT", "PR_HOLDER_FOR_CHILD", "COMPETENT_CHILD_SELF", "YOUNG_PERSON_16_17_SELF",
               "COURT_APPOINTED_OR_ATTORNEY", "PREGNANT_PERSON_FOR_UNBORN"}),
      F("competence_rationale", FT::Text, RQ::Conditional, SN::T3, MC::MultiValueReview)
          .when("capacity_basis", "COMPETENT_CHILD_SELF"),
      F("competence_assessed_by", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("Practitioner"),
      F("competence_assessed_at", FT::DateTime, RQ::Optional, SN::T1, MC::LwwNotify),
      F("episode", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("EarlyHelpEpisode"),
      F("recipients", FT::RefSet, RQ::Optional, SN::T1, MC::SetAddWins).to("Organisation"),
      F("excluded_recipients", FT::RefSet, RQ::Optional, SN::T1, MC::SetAddWins),
      F("data_scope", FT::Enum, RQ::Required, SN::T1, MC::SafetyMax)
          .of({"ALL_EPISODE_RECORDS", "ASSESSMENT_AND_PLAN_ONLY", "PLAN_ONLY"}),
      F("excluded_categories", FT::EnumSet, RQ::Optional, SN::T1, MC::SetAddWins).of(kSensitiveCategories),
      F("method", FT::Enum, RQ::Required, SN::T1, MC::MultiValueReview)
          .of({"ON_DEVICE_SIGNATURE", "PAPER_SCANNED", "VERBAL_WITNESSED", "VERBAL_PHONE"}),
      F("explained_by", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Practitioner"),
      F("privacy_notice_version", FT::String, RQ::Required, SN::T0, MC::MultiValueReview),
      F("given_at", FT::DateTime, RQ::Required, SN::T1, MC::MultiValueReview),
      F("expires_at", FT::DateTime, RQ::Required, SN::T1, MC::LwwNotify),
      // SAFETY_MAX order, least to most restrictive: a withdrawal wins over a concurrent grant (C-12).
      // Any team member records a withdrawal (§6.6): the status and the withdrawal fields.
      F("status", FT::Enum, RQ::Required, SN::T1, MC::SafetyMax)
          .of({"REQUESTED", "ACTIVE", "SUPERSEDED", "EXPIRED", "REFUSED", "WITHDRAWN"}).any_member_writes(),
      F("withdrawn_at", FT::DateTime, RQ::Conditional, SN::T1, MC::LwwNotify).when("status", "WITHDRAWN")
          .any_member_writes(),
      F("withdrawn_by", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("Person").any_member_writes(),
      F("withdrawal_reason", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview).any_member_writes(),
      F("withdrawal_scope", FT::Enum, RQ::Optional, SN::T1, MC::LwwNotify)
          .of({"FULL", "PURPOSES", "RECIPIENTS"}).any_member_writes(),
      // Add-wins sets: a withdrawal beats a concurrent re-grant (C-12).
      F("withdrawn_purposes", FT::EnumSet, RQ::Optional, SN::T1, MC::SetAddWins).of(kConsentPurpose).any_member_writes(),
      F("withdrawn_recipients", FT::RefSet, RQ::Optional, SN::T1, MC::SetAddWins).to("Organisation").any_member_writes(),
      F("withdrawal_channel", FT::Enum, RQ::Optional, SN::T1, MC::LwwNotify)
          .of({"IN_PERSON", "PHONE", "WRITTEN", "FORM"}).any_member_writes(),
      F("withdrawal_recorded_by", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("Practitioner")
          .any_member_writes(),
  });
  consent.subject_fields = {"covers_persons"};
  consent.owner_field = "explained_by";
  // Not a policy record: a consent record is about the persons it covers (§6.3), so a withdrawal
  // takes the withdrawn person's consent record off the recipient's tablet with the rest.
  add(s, consent);

  auto isd = entity("InformationSharingDecision", {
      F("decided_at", FT::DateTime, RQ::Required, SN::T1, MC::Append),
      F("decided_by", FT::Ref, RQ::Required, SN::T1, MC::Append).to("Practitioner"),
      F("episode", FT::Ref, RQ::Optional, SN::T1, MC::Append).to("EarlyHelpEpisode"),
      F("decision", FT::Enum, RQ::Required, SN::T1, MC::Append).of({"SHARE", "NOT_SHARE"}),
      F("with_consent", FT::Enum, RQ::Required, SN::T1, MC::Append)
          .of({"YES", "NO_CONSENT_REFUSED", "NO_NOT_SOUGHT", "NO_WITHDRAWN"}),
      F("recipients", FT::RefSet, RQ::Conditional, SN::T1, MC::Append).to("Organisation").when("decision", "SHARE"),
      F("items_summary", FT::Text, RQ::Required, SN::T3, MC::Append),
      F("purpose", FT::Enum, RQ::Required, SN::T1, MC::Append)
          .of({"SAFEGUARDING_REFERRAL", "STEP_UP", "PREVENT_HARM_TO_OTHERS", "PREVENT_CRIME", "OTHER"}),
      F("risk_description", FT::Text, RQ::Required, SN::T3, MC::Append),
      F("necessity_proportionality", FT::Text, RQ::Required, SN::T3, MC::Append),
      F("subject_informed", FT::Enum, RQ::Required, SN::T1, MC::Append)
          .of({"INFORMED_BEFORE", "INFORMED_AFTER", "NOT_INFORMED"}),
      F("not_informed_reason", FT::Enum, RQ::Conditional, SN::T2, MC::Append)
          .of({"WOULD_INCREASE_RISK_TO_CHILD", "WOULD_PREJUDICE_INVESTIGATION", "RISK_TO_PRACTITIONER", "UNABLE_TO_CONTACT"})
          .when("subject_informed", "NOT_INFORMED"),
      // The lawful basis of the disclosure, from the LawfulBasisRegister (§6.2).
      F("lawful_basis", FT::Enum, RQ::Required, SN::T1, MC::Append)
          .of({"PUBLIC_TASK_6_1_E", "LEGAL_OBLIGATION_6_1_C", "VITAL_INTERESTS_6_1_D", "LEGITIMATE_INTERESTS_6_1_F",
               "CONSENT_6_1_A"}),
      F("art9_condition", FT::Enum, RQ::Required, SN::T1, MC::Append)
          .of({"SUBSTANTIAL_PUBLIC_INTEREST_SCH1_P18_SAFEGUARDING", "HEALTH_SOCIAL_CARE_9_2_H_SCH1_P2",
               "VITAL_INTERESTS", "EXPLICIT_CONSENT", "NONE"}),
      // Criminal offence data (§6.2 art10_condition; DOMAIN.md names no values: kept simple).
      F("art10_condition", FT::Enum, RQ::Optional, SN::T1, MC::Append)
          .of({"SUBSTANTIAL_PUBLIC_INTEREST_SCH1_P18_SAFEGUARDING", "SCH1_P10_PREVENTING_DETECTING_CRIME",
               "VITAL_INTERESTS", "NONE"}),
      F("items_shared", FT::RefSet, RQ::Optional, SN::T1, MC::Append),  // with items_summary (§6.5)
      F("views_expressed", FT::Text, RQ::Optional, SN::T3, MC::Append),
      F("advice_sought_from", FT::StringSet, RQ::Optional, SN::T2, MC::Append),  // "person or role, when"
      F("identities_protected", FT::RefSet, RQ::Optional, SN::T2, MC::Append).to("Person"),
      // The manager's or DSL's countersignature, due within a working day (§6.5); its absence
      // never blocks the share. The record stays immutable: these two fields alone are given
      // their value once after it is made (FieldDef::countersign), not by the decider. We keep
      // them on the decision rather than in a record of their own so the disclosure log reads
      // as one row, as §6.5 lists it. The server closes the countersign task when it sees them.
      F("countersigned_by", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview)
          .to("Practitioner").countersign().not_self("decided_by"),
      F("countersigned_at", FT::DateTime, RQ::Optional, SN::T1, MC::MultiValueReview).countersign(),
  });
  isd.append_only = true;
  isd.owner_field = "decided_by";
  isd.occurred_field = "decided_at";
  add(s, isd);
}

void add_escalation_and_safety(Schema& s) {
  auto stepup = entity("StepUpRequest", {
      F("episode", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("EarlyHelpEpisode"),
      F("children", FT::RefSet, RQ::Required, SN::T1, MC::SetAddWins).to("Person"),
      F("kind", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview).of({"PLANNED", "UNPLANNED_INCIDENT"}),
      F("submitted_at", FT::DateTime, RQ::RequiredBefore, SN::T1, MC::LwwNotify).before({"SUBMITTED"}),
      F("reason", FT::Text, RQ::Required, SN::T3, MC::MultiValueReview),
      F("needs", FT::EnumSet, RQ::Optional, SN::T3, MC::SetAddWins).of(kNeedCategory),
      F("significant_harm", FT::Bool, RQ::Required, SN::T2, MC::SafetyMax),
      F("phone_referral_made_at", FT::DateTime, RQ::Optional, SN::T1, MC::LwwNotify),
      F("consent_position", FT::Enum, RQ::Required, SN::T2, MC::MultiValueReview)
          .of({"CONSENT_GIVEN", "INFORMED_NOT_CONSENTED", "NOT_SOUGHT_WOULD_INCREASE_RISK", "NOT_SOUGHT_OTHER"}),
      F("disclosure", FT::Ref, RQ::Optional, SN::T2, MC::MultiValueReview).to("InformationSharingDecision"),
      F("csc_decision", FT::Enum, RQ::Optional, SN::T2, MC::ServerAuthority)
          .of({"ACCEPTED_S17_ASSESSMENT", "ACCEPTED_S47_STRATEGY", "ADVICE_RETURN_TO_EH", "NFA_RETURN_TO_EH", "WITHDRAWN"}),
      F("csc_ref", FT::String, RQ::Optional, SN::T2, MC::ServerAuthority),
      F("decided_at", FT::DateTime, RQ::Optional, SN::T1, MC::ServerAuthority),  // the office's decision time (§3.17)
      F("eh_position", FT::Enum, RQ::Optional, SN::T0, MC::ServerAuthority).of({"EH_CONTINUES_ALONGSIDE", "EH_PAUSED", "EH_CLOSED"}),
      F("status", FT::Enum, RQ::Required, SN::T0, MC::ServerAuthority)
          .of({"DRAFT", "SUBMITTED", "ACKNOWLEDGED", "DECIDED", "WITHDRAWN"}),
  });
  stepup.lifecycle = lifecycle("status", "DRAFT", {"DECIDED", "WITHDRAWN"},
                               {{"DRAFT", "SUBMITTED"}, {"SUBMITTED", "ACKNOWLEDGED"}, {"ACKNOWLEDGED", "DECIDED"},
                                {"DRAFT", "WITHDRAWN"}, {"SUBMITTED", "WITHDRAWN"}});
  stepup.subject_fields = {"children"};
  // The lead or any TAF member (an unplanned incident) submits a step-up (§4.2): it is theirs.
  stepup.creator_owns = true;
  add(s, stepup);

  add(s, about(entity("StepDownReceipt", {
      F("from_csc_ref", FT::String, RQ::Required, SN::T2, MC::MultiValueReview),
      F("children", FT::RefSet, RQ::Required, SN::T1, MC::SetAddWins).to("Person"),
      F("received_at", FT::DateTime, RQ::Required, SN::T1, MC::LwwNotify),
      F("csc_plan_type", FT::Enum, RQ::Required, SN::T2, MC::MultiValueReview).of({"CIN_PLAN", "ASSESSMENT_CLOSED", "CP_PLAN_ENDED"}),
      F("handover_meeting", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("TafMeeting"),
      F("consent", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("ConsentRecord"),
      F("episode", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("EarlyHelpEpisode"),
      F("resumed_episode", FT::Ref, RQ::Optional, SN::T1, MC::MultiValueReview).to("EarlyHelpEpisode"),
  }), {"children"}));

  // Type and severity reach everyone with access (safety needs them); the details and the
  // informant go only to the lead professional and managers (§3.20, §5). Removal needs a
  // manager (C-15).
  auto alert = entity("Alert", {
      F("subject", FT::String, RQ::Required, SN::T2, MC::MultiValueReview).lead_only(),
      F("type", FT::Enum, RQ::Required, SN::T2, MC::MultiValueReview)
          .of({"DOMESTIC_ABUSE_RISK", "DO_NOT_DISCLOSE_ADDRESS", "LONE_WORKER_RISK", "AGGRESSIVE_ANIMAL",
               "PERPETRATOR_CONTACT_RESTRICTION", "EXPLOITATION_RISK", "MISSING_EPISODES", "CP_PLAN_ACTIVE",
               "INFECTION_CONTROL", "INTERPRETER_NEEDED", "OTHER"})
          .safety_fact(),
      F("severity", FT::Enum, RQ::Required, SN::T2, MC::SafetyMax).of({"INFO", "WARNING", "HIGH"}).safety_fact(),
      F("visible_to", FT::Enum, RQ::Optional, SN::T2, MC::SafetyMax).of({"ALL_WITH_ACCESS", "LEAD_AND_MANAGER"}),
      F("set_by", FT::Ref, RQ::Required, SN::T2, MC::MultiValueReview).to("Practitioner").lead_only(),
      F("set_at", FT::DateTime, RQ::Required, SN::T2, MC::LwwNotify),
      F("review_date", FT::Date, RQ::Optional, SN::T2, MC::LwwNotify),
      F("note", FT::Text, RQ::Optional, SN::T3, MC::MultiValueReview).lead_only(),
  });
  alert.owner_field = "set_by";
  alert.removal_needs_manager = true;
  alert.safety_record = true;
  add(s, alert);

  // Derived by the materialiser (DOMAIN.md §8.4); declared so it can be rendered and exported.
  auto conflict = entity("ConflictRecord", {
      F("entity_ref", FT::String, RQ::Required, SN::T0, MC::ServerAuthority),
      F("field_path", FT::String, RQ::Optional, SN::T0, MC::ServerAuthority),
      F("kind", FT::Enum, RQ::Required, SN::T0, MC::ServerAuthority)
          .of({"REVIEW", "CONFIRM", "NOTIFY", "REJECTED_INTENT", "DELETE_CANCELLED"}),
      F("merge_class", FT::String, RQ::Required, SN::T0, MC::ServerAuthority),
      F("auto_applied_value", FT::String, RQ::Optional, SN::T2, MC::ServerAuthority),
      F("assignee_role", FT::Enum, RQ::Required, SN::T0, MC::ServerAuthority).of({"LEAD_PROFESSIONAL", "TEAM_MANAGER", "AUTHOR"}),
      F("status", FT::Enum, RQ::Required, SN::T0, MC::ServerAuthority).of({"OPEN", "RESOLVED", "DISMISSED"}),
  });
  conflict.derived = true;
  add(s, conflict);
}

// The family's team, emergency access and the tasks routed to named people: the records the
// access policy reads (DOMAIN.md §3.8 taf_members, §3.23, §7). They are the one source of truth
// for who is on a family's team; every team member receives them (policy records).
void add_team_and_tasks(Schema& s) {
  // One practitioner on the family's team; id "<family>/team/<practitioner>". Only the lead
  // professional or a manager changes a role or a scope. SAFETY_MAX on the scope: a concurrent
  // narrowing wins over a widening (least to most protective).
  auto member = entity("TeamMember", {
      F("practitioner", FT::Ref, RQ::Required, SN::T1, MC::MultiValueReview).to("Practitioner"),
      F("organisation", FT::Ref, RQ::Required, SN::T0, MC::MultiValueReview).to("Organisation"),
      F("team_role", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview)
          .of({"LEAD_PROFESSIONAL", "TAF_MEMBER"}).reserved(),
      F("access_scope", FT::Enum, RQ::Required, SN::T0, MC::SafetyMax)
          .of({"FULL_EPISODE", "PLAN_AND_OWN_ACTIONS", "NONE"}).reserved(),
      F("joined_at", FT::DateTime, RQ::Required, SN::T1, MC::LwwNotify),
      F("left_at", FT::DateTime, RQ::Optional, SN::T1, MC::LwwNotify),
  });
  member.policy_record = true;
  add(s, member);

  // Emergency access by a practitioner not on the team (§7 break-glass): reason code and text,
  // time-boxed (4 hours), immutable once made.
  auto grant = entity("BreakGlassGrant", {
      F("practitioner", FT::Ref, RQ::Required, SN::T1, MC::Append).to("Practitioner"),
      F("reason_code", FT::Enum, RQ::Required, SN::T1, MC::Append)
          .of({"IMMEDIATE_SAFEGUARDING_RISK", "MISSING_CHILD", "OUT_OF_HOURS_EMERGENCY", "LEAD_UNAVAILABLE", "OTHER"}),
      F("reason", FT::Text, RQ::Required, SN::T3, MC::Append),
      F("granted_at", FT::DateTime, RQ::Required, SN::T1, MC::Append),
      F("expires_at", FT::DateTime, RQ::Required, SN::T1, MC::Append),
  });
  grant.append_only = true;
  grant.occurred_field = "granted_at";
  grant.owner_field = "practitioner";
  grant.policy_record = true;
  add(s, grant);

  // A task routed to a named person (§3.23, N6). Every field reaches every team member: a
  // field withheld from some would change their view of the family with every task raised, and
  // a changed view makes their tablets purge and fetch the family again (losing the list of
  // their held edits meanwhile). So the detail is written to carry record ids and the policy's
  // reasons only, never a value of another record (server/src/usecases/task_triggers.cpp).
  auto task = entity("Task", {
      F("task_type", FT::Enum, RQ::Required, SN::T0, MC::MultiValueReview)
          .of({"CONFLICT_REVIEW", "OVERRIDE_COUNTERSIGN", "CONSENT_EXPIRING", "REVIEW_DUE", "REFERRER_FEEDBACK_DUE",
               "WRITE_REFUSED", "WITHDRAWAL_RISK_CONSIDERATION", "BREAK_GLASS_REVIEW", "SHARE_HELD", "FLAG_REVIEW",
               "CONSENT_WITHDRAWN_NOTICE", "ESCALATION_NOTICE", "HELD_EDIT_REOFFERED",
               "DUPLICATE_REVIEW"}),  // probable duplicate persons or contacts (G1, C-1, C-20)
      F("assignee", FT::Ref, RQ::Required, SN::T1, MC::LwwNotify).to("Practitioner"),
      F("due_at", FT::DateTime, RQ::Required, SN::T1, MC::LwwNotify),
      F("about", FT::String, RQ::Optional, SN::T1, MC::MultiValueReview),
      F("detail", FT::Text, RQ::Optional, SN::T1, MC::MultiValueReview),
      F("status", FT::Enum, RQ::Required, SN::T0, MC::LwwNotify).of({"OPEN", "DONE", "CANCELLED"}),
      // Set by the server when the task passes its due time still open (N6: overdue tasks
      // escalate to the manager).
      F("escalated_to", FT::Ref, RQ::Optional, SN::T1, MC::ServerAuthority).to("Practitioner"),
      F("escalated_at", FT::DateTime, RQ::Optional, SN::T1, MC::ServerAuthority),
  });
  task.owner_field = "assignee";
  task.policy_record = true;
  add(s, task);
}

// A sharing act queued on a tablet (DOMAIN.md §6.6, §6.8, S2): "send the plan to S", "invite S
// to the next TAF", "export for S". The tablet creates it only while its policy snapshot is
// younger than the sharing period; the server decides it at sync against the family's state at
// sync time and writes the outcome (status, outcome_reason, decided_at: server authority, so a
// tablet's edit of them is held). What was asked is fixed once made (APPEND fields).
void add_sharing(Schema& s) {
  auto share = entity("SharingRequest", {
      F("kind", FT::Enum, RQ::Required, SN::T0, MC::Append).of({"SEND_PLAN", "INVITE_TO_TAF", "EXPORT_FOR_AGENCY"}),
      F("recipient", FT::Ref, RQ::Required, SN::T0, MC::Append).to("Organisation"),
      F("plan", FT::Ref, RQ::Conditional, SN::T1, MC::Append).to("FamilyPlan").when("kind", "SEND_PLAN"),
      F("meeting", FT::Ref, RQ::Optional, SN::T1, MC::Append).to("TafMeeting"),
      // Record ids of the family to export (EXPORT_FOR_AGENCY).
      F("items", FT::StringSet, RQ::Conditional, SN::T1, MC::Append).when("kind", "EXPORT_FOR_AGENCY"),
      F("note", FT::Text, RQ::Optional, SN::T3, MC::Append),
      F("requested_by", FT::Ref, RQ::Required, SN::T1, MC::Append).to("Practitioner"),
      F("requested_at", FT::DateTime, RQ::Required, SN::T1, MC::Append),
      // The issue time of the policy snapshot the tablet held ("consent status as of", §6.8).
      F("consent_status_as_of", FT::DateTime, RQ::Optional, SN::T1, MC::Append),
      // The server's decision; absent until then (shown as REQUESTED).
      F("status", FT::Enum, RQ::Optional, SN::T0, MC::ServerAuthority).of({"REQUESTED", "SENT", "CANCELLED", "HELD"}),
      F("outcome_reason", FT::Text, RQ::Optional, SN::T1, MC::ServerAuthority),
      F("decided_at", FT::DateTime, RQ::Optional, SN::T1, MC::ServerAuthority),
  });
  share.owner_field = "requested_by";
  share.occurred_field = "requested_at";
  share.sharing_act = true;
  add(s, share);
}

// DOMAIN.md §5, "Handling rules".
void add_sensitivity_handling(Schema& s) {
  s.set_handling({SN::T0, false, false, false, false, false});
  s.set_handling({SN::T1, true, false, false, false, false});
  s.set_handling({SN::T2, true, true, true, false, false});
  s.set_handling({SN::T3, true, true, false, true, true});
}

Schema build_v1() {
  Schema s;
  s.set_family_root_type("Family");  // DOMAIN.md §3.5
  add_sensitivity_handling(s);
  add_directory(s);
  add_family_and_people(s);
  add_referral_and_episode(s);
  add_assessment(s);
  add_plan(s);
  add_records(s);
  add_escalation_and_safety(s);
  add_team_and_tasks(s);
  add_sharing(s);
  return s;
}

}  // namespace

const Schema& Schema::v1() {
  static const Schema schema = build_v1();
  return schema;
}

}  // namespace hearth
