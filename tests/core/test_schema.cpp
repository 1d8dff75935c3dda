#include <catch2/catch.hpp>

#include <set>

#include "hearth/core/schema.hpp"

using namespace hearth;

TEST_CASE("Schema: v1 declares every entity of the foundation issue", "[unit][schema]") {
  const Schema& s = Schema::v1();
  for (const char* name :
       {"Organisation", "Practitioner", "Person", "Relationship", "Family", "FamilyMembership", "Address", "Referral",
        "EarlyHelpEpisode", "Assessment", "AssessmentFinding", "ChildVoice", "FamilyPlan", "PlanOutcome", "PlanAction",
        "TafMeeting", "Review", "Contact", "OutcomeMeasurement", "ConsentRecord", "InformationSharingDecision",
        "StepUpRequest", "StepDownReceipt", "Alert", "ConflictRecord", "TeamMember", "BreakGlassGrant",
        "Task"}) {
    INFO(name);
    CHECK(s.entity(name) != nullptr);
  }
  CHECK(s.entity("NoSuchThing") == nullptr);
}

TEST_CASE("Schema: only directory records live outside a family", "[unit][schema]") {
  for (const auto& e : Schema::v1().entities()) {
    INFO(e.name);
    bool directory = e.name == "Organisation" || e.name == "Practitioner";
    CHECK(e.family_scoped == !directory);
  }
}

TEST_CASE("Schema: every field is declared consistently", "[unit][schema]") {
  for (const auto& e : Schema::v1().entities()) {
    std::set<std::string> names;
    for (const auto& f : e.fields) {
      INFO(e.name << "." << f.name);
      CHECK(names.insert(f.name).second);  // no duplicates
      if (f.type == FieldType::Enum || f.type == FieldType::EnumSet) CHECK(!f.values.empty());
      // a list is add-wins, unless it is fixed once the record is made (APPEND)
      if (is_set_type(f.type) && !e.append_only && f.merge != MergeClass::Append) CHECK(f.merge == MergeClass::SetAddWins);
      if (f.merge == MergeClass::SetAddWins) CHECK(is_set_type(f.type));
      if (e.append_only && !f.countersign) CHECK(f.merge == MergeClass::Append);
      if (f.countersign) CHECK((e.append_only && f.merge != MergeClass::Append));  // set once after creation
      if (f.merge == MergeClass::SafetyMax) CHECK((f.type == FieldType::Bool || f.type == FieldType::Enum));
      if (f.req == Requirement::RequiredBefore) CHECK(!f.required_before.empty());
      if (f.req == Requirement::Conditional) {
        REQUIRE(f.required_if.has_value());
        CHECK(e.field(f.required_if->field) != nullptr);
      }
      for (const auto& state : f.required_before) {
        REQUIRE(e.lifecycle.has_value());
        CHECK(e.field(e.lifecycle->field)->allows(state));
      }
    }
  }
}

TEST_CASE("Schema: lifecycles name real states and are server-authoritative", "[unit][schema]") {
  for (const auto& e : Schema::v1().entities()) {
    if (!e.lifecycle) continue;
    INFO(e.name);
    const FieldDef* status = e.field(e.lifecycle->field);
    REQUIRE(status);
    CHECK(status->merge == MergeClass::ServerAuthority);
    CHECK(status->allows(e.lifecycle->initial));
    for (const auto& t : e.lifecycle->transitions) {
      CHECK((t.from == "*" || status->allows(t.from)));
      CHECK(status->allows(t.to));
    }
  }
}

TEST_CASE("Schema: safety and judgement fields have the merge class of DOMAIN.md 8.2", "[unit][schema]") {
  const Schema& s = Schema::v1();
  auto merge = [&](const char* e, const char* f) { return s.entity(e)->field(f)->merge; };
  CHECK(merge("EarlyHelpEpisode", "level_of_need") == MergeClass::SafetyMax);
  CHECK(merge("Address", "confidential") == MergeClass::SafetyMax);
  CHECK(merge("Alert", "severity") == MergeClass::SafetyMax);
  CHECK(merge("ConsentRecord", "status") == MergeClass::SafetyMax);
  CHECK(merge("Referral", "significant_harm_suspected") == MergeClass::SafetyMax);
  CHECK(merge("AssessmentFinding", "needs_worries") == MergeClass::MultiValueReview);
  CHECK(merge("Assessment", "analysis") == MergeClass::MultiValueReview);
  CHECK(merge("PlanAction", "status") == MergeClass::MultiValueReview);
  CHECK(merge("PlanAction", "due_date") == MergeClass::LwwNotify);
  CHECK(merge("EarlyHelpEpisode", "lead_professional") == MergeClass::MultiValueReview);
  CHECK(merge("Person", "given_names") == MergeClass::MultiValueReview);
  CHECK(merge("Family", "phone") == MergeClass::LwwSilent);
  CHECK(merge("Contact", "narrative") == MergeClass::Append);
  CHECK(merge("Referral", "presenting_needs") == MergeClass::SetAddWins);
  // protective order: most protective last
  CHECK(s.entity("EarlyHelpEpisode")->field("level_of_need")->protective_rank("L4") == 3);
  CHECK(s.entity("ConsentRecord")->field("status")->protective_rank("WITHDRAWN") >
        s.entity("ConsentRecord")->field("status")->protective_rank("ACTIVE"));
}

TEST_CASE("Schema: domain rules are declared in the table (family root, conflict routing, guards, sensitivity)", "[unit][schema]") {
  const Schema& s = Schema::v1();
  CHECK(s.family_root_type() == "Family");
  CHECK(s.is_family_root("Family"));
  CHECK_FALSE(s.is_family_root("Person"));

  const EntityDef* episode = s.entity("EarlyHelpEpisode");
  REQUIRE(episode);
  CHECK(episode->conflict_role == "LEAD_PROFESSIONAL");
  CHECK(episode->escalation_role == "TEAM_MANAGER");
  CHECK(episode->field("lead_professional")->escalate_conflicts);
  CHECK(episode->lifecycle->escalated_targets == std::vector<std::string>{"CLOSED"});
  for (const char* authored : {"Assessment", "AssessmentFinding", "ChildVoice"})
    CHECK(s.entity(authored)->value_conflict_role == "AUTHOR");
  for (const auto& e : s.entities()) {
    INFO(e.name);
    CHECK_FALSE(e.conflict_role.empty());  // every conflict goes to someone
    CHECK_FALSE(e.escalation_role.empty());
  }

  const auto& guards = s.entity("Assessment")->lifecycle->guards;
  REQUIRE(guards.size() == 1);
  CHECK(guards[0].to == "COMPLETED");
  CHECK(guards[0].no_open_conflicts);
  REQUIRE(guards[0].coverage.size() == 1);
  CHECK(guards[0].coverage[0].prefixes == std::vector<std::string>{"CDN_", "PC_", "FEF_"});
  // every name a guard uses is a type and field of the schema
  for (const auto& e : s.entities()) {
    if (!e.lifecycle) continue;
    for (const auto& g : e.lifecycle->guards) {
      INFO(e.name << " -> " << g.to);
      CHECK(e.field(e.lifecycle->field)->allows(g.to));
      for (const auto& c : g.coverage) {
        REQUIRE(s.entity(c.part_type));
        CHECK(s.entity(c.part_type)->field(c.field));
        CHECK(s.entity(c.part_type)->field(g.part_link));
      }
      for (const auto& each : g.each) {
        CHECK(e.field(each.via));
        REQUIRE(s.entity(each.part_type));
        CHECK(s.entity(each.part_type)->field(each.field));
      }
    }
  }

  CHECK(s.sensitivity("Contact", "narrative") == Sensitivity::T3);
  CHECK_FALSE(s.sensitivity("Contact", "shoe_size").has_value());
  CHECK(s.handling(Sensitivity::T3).field_key);
  CHECK(s.handling(Sensitivity::T3).reads_audited);
  CHECK(s.handling(Sensitivity::T2).export_needs_decision);
  CHECK(s.handling(Sensitivity::T1).encrypted_at_rest);
  CHECK_FALSE(s.handling(Sensitivity::T0).encrypted_at_rest);
}

TEST_CASE("Schema: access declarations name real fields of the right type", "[unit][schema]") {
  const Schema& s = Schema::v1();
  for (const auto& e : s.entities()) {
    INFO(e.name);
    for (const auto& name : e.subject_fields) {
      INFO(name);
      const FieldDef* f = e.field(name);
      REQUIRE(f);
      CHECK((f->type == FieldType::Ref || f->type == FieldType::RefSet));
      CHECK(f->ref == "Person");
    }
    if (e.subject_is_self) CHECK(e.name == "Person");
    if (!e.category_field.empty()) {
      const FieldDef* f = e.field(e.category_field);
      REQUIRE(f);
      CHECK(f->type == FieldType::EnumSet);
      CHECK(f->values == s.entity("ConsentRecord")->field("excluded_categories")->values);
    }
    for (const auto* owner : {&e.owner_field, &e.co_owner_field, &e.part_of_field}) {
      if (owner->empty()) continue;
      INFO(*owner);
      const FieldDef* f = e.field(*owner);
      REQUIRE(f);
      CHECK((f->type == FieldType::Ref || f->type == FieldType::RefSet || f->type == FieldType::String));
    }
    if (e.lifecycle) {
      const FieldDef* status = e.field(e.lifecycle->field);
      for (const auto& st : e.lifecycle->reserved_targets) CHECK(status->allows(st));
      for (const auto& st : e.lifecycle->reserved_sources) CHECK(status->allows(st));
    }
    for (const auto& f : e.fields) {
      INFO(f.name);
      if (!f.audience_when.empty()) {
        REQUIRE(e.field(f.audience_when));
        CHECK(e.field(f.audience_when)->type == FieldType::Bool);
        CHECK(f.audience == Audience::lead_and_managers);
      }
      if (!f.not_self_of.empty()) {
        REQUIRE(e.field(f.not_self_of));
        CHECK(e.field(f.not_self_of)->ref == "Practitioner");
        CHECK(f.ref == "Practitioner");
      }
    }
  }
}

TEST_CASE("Schema: the minimisation and role rules of DOMAIN.md 5 and 7 are declared", "[unit][schema]") {
  const Schema& s = Schema::v1();
  auto field = [&](const char* e, const char* f) { return s.entity(e)->field(f); };
  CHECK(field("Alert", "type")->audience == Audience::team);
  CHECK(field("Alert", "severity")->audience == Audience::team);
  for (const char* f : {"subject", "note", "set_by"}) CHECK(field("Alert", f)->audience == Audience::lead_and_managers);
  for (const char* f : {"lines", "postcode", "uprn"}) CHECK(field("Address", f)->audience_when == "confidential");
  for (const char* f : {"referrer", "referrer_details", "significant_harm_suspected"})
    CHECK(field("Referral", f)->audience == Audience::lead_and_managers);
  CHECK(field("EarlyHelpEpisode", "lead_professional")->lead_or_manager_writes);
  CHECK(field("EarlyHelpEpisode", "closure_authorised_by")->lead_or_manager_writes);
  CHECK(field("Assessment", "authorised_by")->not_self_of == "author");
  CHECK(s.entity("Alert")->removal_needs_manager);
  CHECK(s.entity("Person")->subject_is_self);
  CHECK(s.entity("Contact")->subject_fields.front() == "persons_present");
  CHECK(s.entity("PlanAction")->owner_field == "owner_practitioner");
  CHECK(s.entity("PlanAction")->consent_area == ConsentArea::plan);
  CHECK(s.entity("Assessment")->consent_area == ConsentArea::assessment);
  CHECK(s.entity("Contact")->consent_area == ConsentArea::episode);
  const auto& episode = *s.entity("EarlyHelpEpisode")->lifecycle;
  CHECK(episode.reserved_targets == std::vector<std::string>{"CLOSING", "CLOSED"});
  CHECK(episode.reserved_sources == std::vector<std::string>{"STEP_UP_PENDING"});
  CHECK(s.entity("Assessment")->lifecycle->reserved_targets == std::vector<std::string>{"AUTHORISED"});
  for (const char* e : {"TeamMember", "BreakGlassGrant", "Task"}) {
    INFO(e);
    REQUIRE(s.entity(e));
    CHECK(s.entity(e)->policy_record);
  }
  // An episode and a consent record are about their persons like any record (§6.3).
  CHECK_FALSE(s.entity("ConsentRecord")->policy_record);
  CHECK_FALSE(s.entity("EarlyHelpEpisode")->policy_record);
  for (const char* f : {"withdrawal_scope", "withdrawn_purposes", "withdrawn_recipients", "withdrawal_channel",
                        "withdrawal_recorded_by", "competence_assessed_by", "competence_assessed_at", "excluded_categories"}) {
    INFO(f);
    CHECK(field("ConsentRecord", f) != nullptr);
  }
  CHECK(field("ConsentRecord", "withdrawn_recipients")->merge == MergeClass::SetAddWins);
}
