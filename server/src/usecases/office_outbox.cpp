#include "office_outbox.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>

#include "authority_write.hpp"
#include "hearth/core/access.hpp"
#include "record_values.hpp"

namespace hearth::server {

namespace {

using nlohmann::json;
using Strings = std::vector<std::string>;

// DOMAIN.md §11.1, record by record: the minimum the office expects. Person: identity, DOB/EDD,
// sex, ethnicity, disability, NHS number, UPN (its address and LSOA travel as the family's
// Address records). Episode: start, reason, level, organisation, lead, status, closure.
// Assessment: type, dates, authorisation, findings and the child's voice. Plan, reviews, TAF
// meetings: versions, outcomes, actions with owner and status, dates and ratings, attendance.
// Contacts: date, type, practitioner, children seen (alone), narrative. Outcome readings: tool,
// date, area scores. Consent and disclosures: purposes, recipients, status, withdrawal,
// override decisions. Step-up: the request (its package is built separately).
const std::vector<std::pair<std::string, Strings>> kContract = {
    {"Family", {"display_name", "current_address", "lsoa_code"}},
    {"Person",
     {"office_person_id", "given_names", "family_name", "person_status", "date_of_birth", "dob_estimated",
      "expected_due_date", "sex", "ethnicity", "disability", "nhs_number", "upn", "statutory_status", "merged_into"}},
    {"Address", {"lines", "postcode", "uprn", "lsoa_code", "type", "confidential", "valid_from", "valid_to"}},
    {"FamilyMembership", {"person", "member_role", "lives_in_household", "joined", "left"}},
    {"Relationship", {"person_a", "person_b", "type", "parental_responsibility"}},
    {"Referral",
     {"received_at", "channel", "referral_source_code", "subject_persons", "presenting_needs", "level_at_triage",
      "decision", "decided_at", "episode", "status"}},
    {"EarlyHelpEpisode",
     {"subject_children", "origin_referral", "start_date", "start_reason", "level_of_need", "service_model",
      "allocated_org", "lead_professional", "status", "closed_at", "closure_reason", "outcome_at_closure",
      "closure_destination"}},
    {"Assessment",
     {"episode", "assessment_type", "author", "started_at", "completed_at", "authorised_by", "authorised_at",
      "level_of_need_determined", "presenting_needs", "status"}},
    {"AssessmentFinding", {"assessment", "domain", "local_domain", "applies_to", "score", "strengths", "needs_worries"}},
    {"ChildVoice", {"assessment", "child", "method", "date", "views_wishes_feelings", "seen", "seen_alone"}},
    {"FamilyPlan", {"episode", "version", "based_on_assessment", "agreed_at", "review_interval_weeks", "next_review_due",
                    "status"}},
    {"PlanOutcome", {"plan", "statement", "linked_needs", "children", "target_date", "status", "latest_progress"}},
    {"PlanAction", {"outcome", "description", "owner_kind", "owner_practitioner", "owner_organisation", "due_date",
                    "status"}},
    {"TafMeeting", {"episode", "meeting_type", "scheduled_at", "held_at", "chair", "attendees", "plan_version_reviewed"}},
    {"Review", {"episode", "plan", "review_date", "decision", "next_review_due"}},
    {"Contact",
     {"episode", "practitioner", "occurred_at", "duration_min", "contact_type", "children_seen", "children_seen_alone",
      "narrative", "concern_raised"}},
    {"Amendment", {"target", "reason", "text", "author", "recorded_at"}},
    {"OutcomeMeasurement", {"episode", "subject_kind", "person", "tool", "reading_type", "completed_on", "scores"}},
    {"ConsentRecord",
     {"purposes", "covers_persons", "given_by", "recipients", "status", "given_at", "expires_at", "withdrawn_at",
      "withdrawal_scope", "withdrawn_purposes", "withdrawn_recipients"}},
    {"InformationSharingDecision",
     {"decided_at", "decided_by", "episode", "decision", "with_consent", "recipients", "purpose", "lawful_basis",
      "art9_condition", "subject_informed", "items_shared", "countersigned_by", "countersigned_at"}},
    {"StepUpRequest",
     {"episode", "children", "kind", "submitted_at", "reason", "needs", "significant_harm", "phone_referral_made_at",
      "consent_position", "disclosure", "status"}},
    {"Alert", {"subject", "type", "severity", "set_at"}},
};

const Strings* contract_fields(const std::string& type) {
  for (const auto& [t, fields] : kContract)
    if (t == type) return &fields;
  return nullptr;
}

bool holds(const Strings& list, const std::string& v) { return std::find(list.begin(), list.end(), v) != list.end(); }

bool live(const sync::EntityMerge* e) { return e && e->created() && !e->deleted(); }

// A step-up is with the office from its submission on.
bool submitted(const sync::EntityMerge& su) {
  const std::string s = text_of(su, "status");
  return s == "SUBMITTED" || s == "ACKNOWLEDGED" || s == "DECIDED";
}

// "Type.field" -> Hearth value -> the office's code.
using Codes = std::map<std::string, std::map<std::string, std::string>>;

Result<Codes> load_codes(ServiceContext& ctx) {
  auto all = ctx.store.outbox().codes();
  if (!all) return all.error();
  Codes out;
  for (const auto& m : *all) out[m.field][m.value] = m.code;
  return out;
}

// The persons a record is about (DOMAIN.md §6.3): its subject fields; a Person itself; none
// named: every person of the family.
Strings subjects_of(const sync::Materialiser& m, const std::string& family, const sync::EntityMerge& e) {
  Strings out;
  if (e.def().subject_is_self) return {e.id()};
  for (const auto& f : e.def().subject_fields) {
    Value v = e.value(f);
    if (v.is_string() && !v.as_string().empty()) out.push_back(v.as_string());
    if (v.is_list())
      for (const auto& p : v.as_list()) out.push_back(p);
  }
  if (!out.empty()) return out;
  for (const sync::EntityMerge* p : m.entities(family))
    if (live(p) && p->def().name == "Person") out.push_back(p->id());
  return out;
}

// Why the record may not go to the office now ("" when it may): see office_outbox.hpp.
std::string stop_reason(const sync::Materialiser& m, const std::string& family, const sync::EntityMerge& e) {
  // The consents that stop sharing with the office, and the overrides, in one pass; the
  // record's subjects only when some consent stops (most families: none).
  std::vector<const sync::EntityMerge*> stops, decisions;
  const auto all = m.entities(family);
  for (const sync::EntityMerge* c : all) {
    if (!live(c)) continue;
    if (c->def().name == "InformationSharingDecision") {
      decisions.push_back(c);
      continue;
    }
    if (c->def().name != "ConsentRecord" || !holds(list_of(*c, "purposes"), kOfficePurpose)) continue;
    const std::string status = text_of(*c, "status");
    if (status == "WITHDRAWN" || status == "REFUSED" || holds(list_of(*c, "withdrawn_purposes"), kOfficePurpose))
      stops.push_back(c);
  }
  if (stops.empty()) return "";
  const Strings subjects = subjects_of(m, family, e);
  std::string why;
  for (const sync::EntityMerge* c : stops) {
    for (const auto& p : list_of(*c, "covers_persons"))
      if (holds(subjects, p)) {
        why = "consent record " + c->id() + " for " + kOfficePurpose + " is " +
              (text_of(*c, "status") == "REFUSED" ? std::string("refused") : std::string("withdrawn")) +
              " for person " + p + " (DOMAIN.md §6.6)";
        break;
      }
    if (!why.empty()) break;
  }
  if (why.empty()) return why;
  for (const sync::EntityMerge* d : decisions)  // an override authorises that disclosure (§6.5)
    if (text_of(*d, "decision") == "SHARE" && holds(list_of(*d, "items_shared"), e.id())) return "";
  return why;
}

// One record as the office receives it: its minimum fields (those the view lets through),
// the office's codes for its mapped enum values, and the values no mapping covers.
json record_json(const sync::EntityMerge& e, const Codes& codes, const access::FamilyView* view) {
  json j = {{"id", e.id()}, {"type", e.def().name}, {"deleted", e.deleted()}};
  json fields = json::object(), mapped = json::object(), unmapped = json::array();
  const Strings* wanted = contract_fields(e.def().name);
  if (wanted && !e.deleted())
    for (const auto& name : *wanted) {
      const FieldDef* f = e.def().field(name);
      if (!f || (view && !view->field_visible(e.id(), name))) continue;
      std::string value = e.field_json(*f);
      if (value.empty()) continue;
      fields[name] = json::parse(value, nullptr, false);
      auto table = codes.find(e.def().name + "." + name);
      if (table == codes.end()) continue;
      Value v = e.value(name);
      auto code_of = [&](const std::string& x) -> std::optional<std::string> {
        auto it = table->second.find(x);
        if (it == table->second.end()) {
          unmapped.push_back(name + "=" + x);
          return std::nullopt;
        }
        return it->second;
      };
      if (v.is_string()) {
        if (auto c = code_of(v.as_string())) mapped[name] = *c;
      } else if (v.is_list()) {
        json list = json::array();
        for (const auto& x : v.as_list())
          if (auto c = code_of(x)) list.push_back(*c);
        mapped[name] = list;
      }
    }
  j["fields"] = fields;
  if (!mapped.empty()) j["codes"] = mapped;
  if (!unmapped.empty()) j["unmapped"] = unmapped;
  return j;
}

Result<void> office_audit(ServiceContext& ctx, const std::string& action, const std::string& family, const std::string& detail) {
  return ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, "", action, family, detail});
}

// The family's step-up the office has (the first by id), or nullptr.
const sync::EntityMerge* submitted_step_up(const sync::Materialiser& m, const std::string& family) {
  for (const sync::EntityMerge* e : m.entities(family))
    if (live(e) && e->def().name == "StepUpRequest" && submitted(*e)) return e;
  return nullptr;
}

// The step-up package (§11.1 "Step-up", §13 S3), from the family's merge state.
json package_json(const sync::Materialiser& m, const std::string& family, const sync::EntityMerge& su,
                  const Codes& codes) {
  const std::string episode = text_of(su, "episode");
  json persons = json::array(), assessments = json::array(), plans = json::array(), reviews = json::array(),
       chronology = json::array(), consent = json::array(), readings = json::array(), decisions = json::array(),
       alerts = json::array();
  json ep = nullptr;
  const auto all = m.entities(family);
  auto children_of = [&](const std::string& type, const std::string& link, const std::string& id) {
    json out = json::array();
    for (const sync::EntityMerge* x : all)
      if (live(x) && x->def().name == type && text_of(*x, link) == id) out.push_back(record_json(*x, codes, nullptr));
    return out;
  };
  for (const sync::EntityMerge* e : all) {
    if (!live(e)) continue;
    const std::string& type = e->def().name;
    const bool this_episode = episode.empty() || text_of(*e, "episode") == episode;
    if (type == "Person") {
      persons.push_back(record_json(*e, codes, nullptr));
    } else if (type == "EarlyHelpEpisode" && e->id() == episode) {
      ep = record_json(*e, codes, nullptr);
    } else if (type == "Assessment" && this_episode) {
      json a = record_json(*e, codes, nullptr);
      a["findings"] = children_of("AssessmentFinding", "assessment", e->id());
      a["child_voice"] = children_of("ChildVoice", "assessment", e->id());
      assessments.push_back(std::move(a));
    } else if (type == "FamilyPlan" && this_episode) {
      json p = record_json(*e, codes, nullptr);
      json outcomes = json::array();
      for (const sync::EntityMerge* o : all) {
        if (!live(o) || o->def().name != "PlanOutcome" || text_of(*o, "plan") != e->id()) continue;
        json oj = record_json(*o, codes, nullptr);
        oj["actions"] = children_of("PlanAction", "outcome", o->id());
        outcomes.push_back(std::move(oj));
      }
      p["outcomes"] = std::move(outcomes);
      plans.push_back(std::move(p));
    } else if ((type == "Review" || type == "TafMeeting") && this_episode) {
      reviews.push_back(record_json(*e, codes, nullptr));
    } else if (type == "ConsentRecord") {
      consent.push_back(record_json(*e, codes, nullptr));
    } else if (type == "OutcomeMeasurement") {
      readings.push_back(record_json(*e, codes, nullptr));
    } else if (type == "Alert") {
      alerts.push_back(record_json(*e, codes, nullptr));
    } else if (type == "InformationSharingDecision" &&
               (e->id() == text_of(su, "disclosure") || text_of(*e, "purpose") == "STEP_UP")) {
      decisions.push_back(record_json(*e, codes, nullptr));
    }
  }
  for (const sync::EntityMerge* e : m.chronology(family))
    if (live(e) && e->def().name == "Contact") chronology.push_back(record_json(*e, codes, nullptr));
  return json{{"step_up", record_json(su, codes, nullptr)},
              {"episode", ep},
              {"persons", persons},
              {"assessments", assessments},
              {"plans", plans},
              {"reviews", reviews},
              {"chronology", chronology},
              {"consent_position", text_of(su, "consent_position")},
              {"consent", consent},
              {"star_readings", readings},
              {"information_sharing_decisions", decisions},
              {"alerts", alerts},
              {"lawful_basis", "safeguarding referral to children's social care (DOMAIN.md §6.5, §11.1 Step-up)"}};
}

Result<void> queue_package(ServiceContext& ctx, const sync::Materialiser& m, const sync::EntityMerge& su, int64_t seq,
                           const Codes& codes) {
  if (!submitted(su)) return {};
  auto had = ctx.store.outbox().has_package(su.id());
  if (!had) return had.error();
  if (*had) return {};
  OutboxItem item;
  item.key = "stepup-package:" + su.id() + ":" + std::to_string(seq);
  item.record = su.id();
  item.kind = "package";
  item.type = su.def().name;
  item.family = su.family();
  item.revision = seq;
  item.priority = 0;
  item.created_at = ctx.now();
  json j = {{"key", item.key},         {"kind", "package"},     {"record", su.id()},
            {"type", su.def().name},   {"family", su.family()}, {"revision", seq},
            {"changed_at", datetime_of(ctx.now())}, {"deleted", false}};
  j["package"] = package_json(m, su.family(), su, codes);
  item.payload = j.dump();
  auto queued = ctx.store.outbox().enqueue(item);
  if (!queued) return queued.error();
  const json& p = j["package"];
  return office_audit(ctx, "office-package-queued", su.family(),
               "step-up package for " + su.id() + " queued for the office with priority (item " + std::to_string(item.seq) +
                   "): " + std::to_string(p["assessments"].size()) + " assessments, " +
                   std::to_string(p["plans"].size()) + " plans, " + std::to_string(p["chronology"].size()) +
                   " contacts, " + std::to_string(p["consent"].size()) + " consent records, " +
                   std::to_string(p["star_readings"].size()) + " star readings, " +
                   std::to_string(p["information_sharing_decisions"].size()) + " sharing decisions");
}

// A consent change: the family's undelivered record items it now forbids are cancelled.
Result<void> recheck_family(ServiceContext& ctx, const sync::Materialiser& m, const std::string& family) {
  auto pending = ctx.store.outbox().undelivered(family);
  if (!pending) return pending.error();
  for (const auto& item : *pending) {
    if (item.kind != "record") continue;
    const sync::EntityMerge* e = m.entity(item.record);
    if (!live(e)) continue;
    std::string why = stop_reason(m, family, *e);
    if (why.empty()) continue;
    if (auto r = ctx.store.outbox().cancel(item.seq, why); !r) return r;
    if (auto r = office_audit(ctx, "office-cancelled", family,
                       "queued item " + item.key + " (" + item.type + ") cancelled before it reached the office: " + why);
        !r)
      return r;
  }
  return {};
}

}  // namespace

const std::vector<std::pair<std::string, std::vector<std::string>>>& office_contract() { return kContract; }

Result<void> check_code_mapping(const std::string& field, const std::string& value) {
  std::string mappable;
  const FieldDef* found = nullptr;
  const size_t dot = field.find('.');
  for (const auto& [type, fields] : kContract) {
    const EntityDef* def = Schema::v1().entity(type);
    if (!def) continue;
    for (const auto& name : fields) {
      const FieldDef* f = def->field(name);
      if (!f || (f->type != FieldType::Enum && f->type != FieldType::EnumSet)) continue;
      mappable += (mappable.empty() ? "" : ", ") + type + "." + name;
      if (dot != std::string::npos && field.substr(0, dot) == type && field.substr(dot + 1) == name) found = f;
    }
  }
  if (!found)
    return make_error(ErrorCode::invalid_argument,
                      "FIELD '" + field + "' is not an enum field the office receives; map one of: " + mappable);
  if (!found->allows(value)) {
    std::string values;
    for (const auto& v : found->values) values += (values.empty() ? "" : ", ") + v;
    return make_error(ErrorCode::invalid_argument,
                      "VALUE '" + value + "' is not a value of " + field + "; use one of: " + values);
  }
  return {};
}

namespace {

Result<void> queue_record(ServiceContext& ctx, sync::Materialiser& mat, const sync::EntityMerge& rec, int64_t seq,
                          const Codes& codes);

// The changes of one family: consent re-checked once, then each record's newest revision queued
// (a step-up's package first).
Result<void> queue_family_changes(ServiceContext& ctx, const std::string& family,
                                  const std::vector<std::pair<std::string, int64_t>>& records) {
  sync::Materialiser* m = ctx.cache.current(family);
  if (!m) {
    auto got = ctx.cache.get(family);
    if (!got) return got.error();
    m = *got;
  }
  std::vector<const sync::EntityMerge*> changed;
  bool consent_change = false;
  for (const auto& [id, seq] : records) {
    const sync::EntityMerge* e = m->entity(id);
    if (!e || !e->created() || e->family() != family) continue;
    const std::string& type = e->def().name;
    consent_change |= type == "ConsentRecord" || type == "InformationSharingDecision";
    if (contract_fields(type)) changed.push_back(e);
  }
  if (changed.empty() && !consent_change) return {};
  auto codes = load_codes(ctx);
  if (!codes) return codes.error();
  if (consent_change)
    if (auto r = recheck_family(ctx, *m, family); !r) return r;
  for (const auto& [id, seq] : records) {
    const sync::EntityMerge* e = m->entity(id);
    if (!e || std::find(changed.begin(), changed.end(), e) == changed.end()) continue;
    if (e->def().name == "StepUpRequest" && !e->deleted())
      if (auto r = queue_package(ctx, *m, *e, seq, *codes); !r) return r;
    if (auto r = queue_record(ctx, *m, *e, seq, *codes); !r) return r;
  }
  return {};
}

// Everything the transaction changed, just before it commits.
Result<void> queue_changed(ServiceContext& ctx) {
  auto changed = std::move(ctx.changed.office);
  ctx.changed.office.clear();
  std::map<std::string, std::vector<std::pair<std::string, int64_t>>> by_family;
  for (const auto& [id, at] : changed) by_family[at.first].emplace_back(id, at.second);
  for (const auto& [family, records] : by_family)
    if (auto r = queue_family_changes(ctx, family, records); !r) return r;
  return {};
}

}  // namespace

Result<void> queue_for_office(ServiceContext& ctx, const sync::Op& op, int64_t seq) {
  const uint64_t transaction = ctx.store.transaction_id();
  if (transaction == 0) return queue_family_changes(ctx, op.family, {{op.entity_id, seq}});
  if (ctx.changed.office_transaction != transaction) {  // the first change of this transaction
    ctx.changed.office_transaction = transaction;
    ctx.changed.office.clear();  // left by a transaction that rolled back
    ctx.store.before_commit([&ctx]() { return queue_changed(ctx); });
  }
  ctx.changed.office[op.entity_id] = {op.family, seq};
  return {};
}

namespace {

Result<void> queue_record(ServiceContext& ctx, sync::Materialiser& mat, const sync::EntityMerge& rec, int64_t seq,
                          const Codes& codes) {
  sync::Materialiser* m = &mat;
  const sync::EntityMerge* e = &rec;
  const std::string& type = e->def().name;
  const bool step_up = type == "StepUpRequest";
  const std::string family = e->family();
  const access::FamilyView* view = nullptr;
  access::FamilyView office_view;
  if (!e->deleted()) {
    if (std::string why = stop_reason(*m, family, *e); !why.empty())
      return office_audit(ctx, "office-withheld", family,
                   type + " " + e->id() + " revision " + std::to_string(seq) + " not queued for the office: " + why);
    if (access::FamilyFacts* facts = ctx.cache.facts(family)) {
      access::Viewer office;
      office.office = true;
      office_view = access::view_of(m->schema(), *facts, office, ctx.now());
      view = &office_view;
      if (!office_view.record_visible(e->id())) {
        auto w = office_view.withheld_records.find(e->id());
        return office_audit(ctx, "office-withheld", family,
                     type + " " + e->id() + " revision " + std::to_string(seq) + " not queued for the office: " +
                         (w != office_view.withheld_records.end() ? w->second : std::string("the access policy")));
      }
    }
  }
  OutboxItem item;
  item.key = e->id() + ":" + std::to_string(seq);
  item.record = e->id();
  item.kind = "record";
  item.type = type;
  item.family = family;
  item.revision = seq;
  item.priority = 1;
  item.created_at = ctx.now();
  json j = record_json(*e, codes, view);
  j["key"] = item.key;
  j["kind"] = "record";
  j["record"] = e->id();
  j["family"] = family;
  j["revision"] = seq;
  j["changed_at"] = datetime_of(ctx.now());
  j.erase("id");
  if (!step_up)
    if (const sync::EntityMerge* su = submitted_step_up(*m, family)) j["supplementary_to"] = su->id();
  auto ref = ctx.store.outbox().office_ref(e->id());
  if (!ref) return ref.error();
  if (*ref) j["office_ref"] = (*ref)->office_ref;
  item.payload = j.dump();
  auto queued = ctx.store.outbox().enqueue(item);
  if (!queued) return queued.error();
  return {};
}

}  // namespace

Result<size_t> backfill_office(ServiceContext& ctx, const std::string& only) {
  std::vector<std::string> families{only};
  if (only.empty()) {
    auto all = ctx.store.ops().families();
    if (!all) return all.error();
    families = *all;
  }
  auto codes = load_codes(ctx);
  if (!codes) return codes.error();
  auto total = [&]() -> Result<int64_t> {
    auto c = ctx.store.outbox().counts();
    if (!c) return c.error();
    return c->queued + c->sent + c->dead + c->cancelled;
  };
  auto before = total();
  if (!before) return before.error();
  for (const auto& family : families) {
    auto done = ctx.store.transaction([&]() -> Result<void> {
      auto m = ctx.cache.get(family);
      if (!m) return m.error();
      auto highest = ctx.store.ops().highest_seq(family);
      if (!highest) return highest.error();
      for (const sync::EntityMerge* e : (*m)->entities(family)) {
        if (!e->created() || !contract_fields(e->def().name)) continue;
        auto stored = ctx.store.records().get(e->id());
        if (!stored) return stored.error();
        const int64_t revision = *stored ? (*stored)->revision : *highest;
        if (e->def().name == "StepUpRequest" && !e->deleted())
          if (auto r = queue_package(ctx, **m, *e, revision, *codes); !r) return r;
        if (auto r = queue_record(ctx, **m, *e, revision, *codes); !r) return r;
      }
      return {};
    });
    if (!done) {
      ctx.cache.forget(family);
      return done.error();
    }
  }
  auto after = total();
  if (!after) return after.error();
  return static_cast<size_t>(*after - *before);
}


Result<std::string> office_send_stop(ServiceContext& ctx, const OutboxItem& item) {
  if (item.kind != "record") return std::string();
  auto m = ctx.cache.get(item.family);
  if (!m) return m.error();
  const sync::EntityMerge* e = (*m)->entity(item.record);
  if (!live(e)) return std::string();
  return stop_reason(**m, item.family, *e);
}

}  // namespace hearth::server
