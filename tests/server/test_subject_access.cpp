// Subject access (usecases/subject_access.hpp; DOMAIN.md §10.2, §6.6, §5, S4): the statutory
// due dates, the sync-complete check, each redaction rule with its exemption code, a parent
// requester and child-confidential items, an unknown person, and hostile text in the HTML.
// Pure functions over records held by a small in-memory RecordStore.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "../support/audit_key.hpp"
#include "../support/must.hpp"
#include "../support/process.hpp"
#include "../support/temp_dir.hpp"
#include "admin/sar_command.hpp"
#include "hearth/core/civil_time.hpp"
#include "storage/storage.hpp"
#include "usecases/subject_access.hpp"

using namespace hearth;
using namespace hearth::server;
using hearth::test::must;
using json = sar::Json;
using Catch::Matchers::Contains;

namespace {

// The RecordQuery semantics of storage/records.hpp, in memory.
class MemoryRecords : public RecordStore {
 public:
  std::map<std::string, StoredRecord> rows;
  int64_t next = 0;

  Result<void> put(const StoredRecord& r) override {
    add(r);
    return {};
  }
  void add(const StoredRecord& r) {
    StoredRecord copy = r;
    copy.revision = ++next;
    rows[r.id] = copy;
  }
  Result<std::optional<StoredRecord>> get(const std::string& id) override {
    auto it = rows.find(id);
    if (it == rows.end()) return std::optional<StoredRecord>();
    return std::optional<StoredRecord>(it->second);
  }
  Result<void> scan(const RecordQuery& q, const std::function<Result<bool>(const StoredRecord&)>& each) override {
    std::vector<const StoredRecord*> hits;
    for (const auto& [id, r] : rows)
      if (matches(q, r)) hits.push_back(&r);
    std::sort(hits.begin(), hits.end(), [](auto* a, auto* b) { return a->revision < b->revision; });
    for (auto* r : hits) {
      auto go = each(*r);
      if (!go) return go.error();
      if (!*go) break;
    }
    return {};
  }
  Result<int64_t> count(const RecordQuery& q) override {
    int64_t n = 0;
    for (const auto& [id, r] : rows) n += matches(q, r) ? 1 : 0;
    return n;
  }
  Result<int64_t> highest_revision() override { return next; }
  Result<bool> built() override { return true; }
  Result<void> mark_built() override { return {}; }

 private:
  bool about(const StoredRecord& r, const std::string& person) const {
    return std::find(r.persons.begin(), r.persons.end(), person) != r.persons.end();
  }
  bool matches(const RecordQuery& q, const StoredRecord& r) const {
    if (!q.type.empty() && r.type != q.type) return false;
    if (!q.family.empty() && r.family != q.family) return false;
    if (r.deleted && !q.include_deleted) return false;
    if (!q.person.empty() && !about(r, q.person)) {
      if (!q.family_wide || !r.persons.empty()) return false;
      bool family_holds = std::any_of(rows.begin(), rows.end(), [&](const auto& kv) {
        return kv.second.family == r.family && about(kv.second, q.person);
      });
      if (!family_holds) return false;
    }
    return true;
  }
};

StoredRecord record(const std::string& id, const std::string& type, std::vector<std::string> persons, json fields,
                    json multi = json::object(), const std::string& family = "fam-d") {
  StoredRecord r;
  r.id = id;
  r.type = type;
  r.family = family;
  r.occurred = "2026-11-20";
  r.persons = std::move(persons);
  r.json = json{{"id", id}, {"type", type}, {"family", family}, {"created", true}, {"created_by", "hv-1"},
                {"deleted", false}, {"fields", fields}, {"multi", multi}}.dump();
  return r;
}

json person(const std::string& given, const std::string& family_name, const std::string& dob) {
  return {{"given_names", given}, {"family_name", family_name}, {"person_status", "LIVING"}, {"date_of_birth", dob}};
}

// Family D (S4): Daisy (15, the subject), her father Paul, her mother Maria; the records a
// family like hers holds, each carrying what one rule is about.
MemoryRecords family_d() {
  MemoryRecords m;
  m.add(record("fam-d", "Family", {}, {{"display_name", "Family D"}}));
  m.add(record("p-daisy", "Person", {"p-daisy"}, person("Daisy", "Dee", "2011-03-04")));
  m.add(record("p-paul", "Person", {"p-paul"}, person("Paul", "Dee", "1980-01-01")));
  m.add(record("p-maria", "Person", {"p-maria"}, person("Maria Anne", "Ortiz", "1982-02-02")));
  m.add(record("rel-paul-daisy", "Relationship", {"p-paul", "p-daisy"},
               {{"person_a", "p-paul"}, {"person_b", "p-daisy"}, {"type", "FATHER"}}));
  m.add(record("rel-paul-maria", "Relationship", {"p-paul", "p-maria"},
               {{"person_a", "p-paul"}, {"person_b", "p-maria"}, {"type", "PARTNER_OF_PARENT"}}));
  m.add(record("ref-1", "Referral", {"p-daisy"},
               {{"received_at", "2026-11-01T09:00:00Z"}, {"channel", "MASH_FRONT_DOOR"}, {"referrer", "dsl-1"},
                {"referrer_details", "Ms Informant, school DSL, 01234 567890"},
                {"subject_persons", json::array({"p-daisy"})},
                {"reason_text", "Daisy is often late to school. Paul shouts at her at night. She wants help."},
                {"significant_harm_suspected", false}}));
  m.add(record("c-1", "Contact", {"p-daisy", "p-paul"},
               {{"practitioner", "sw-1"}, {"occurred_at", "2026-11-10T10:00:00Z"}, {"contact_type", "HOME_VISIT"},
                {"persons_present", json::array({"p-daisy", "p-paul"})},
                {"narrative", "Met Daisy at home.\nHer father Paul was angry. Daisy was calm."},
                {"concern_raised", true}}));
  m.add(record("c-2", "Contact", {"p-daisy"},
               {{"practitioner", "yw-1"}, {"occurred_at", "2026-11-12T16:00:00Z"}, {"contact_type", "DETACHED_YOUTH_WORK"},
                {"persons_present", json::array({"p-daisy"})}, {"narrative", "Daisy came to the group."},
                {"concern_raised", false}}));
  m.add(record("cv-1", "ChildVoice", {"p-daisy"},
               {{"assessment", "as-1"}, {"child", "p-daisy"}, {"method", "DIRECT_CONVERSATION"}, {"date", "2026-11-11"},
                {"views_wishes_feelings", "I do not want my parents to know I see a counsellor."},
                {"child_confidential", true}}));
  m.add(record("su-1", "StepUpRequest", {"p-daisy"},
               {{"episode", "ep-1"}, {"children", json::array({"p-daisy"})}, {"kind", "PLANNED"},
                {"reason", "Escalating conflict at home."}, {"significant_harm", false},
                {"consent_position", "CONSENT_GIVEN"}, {"csc_decision", "ACCEPTED_S17_ASSESSMENT"}, {"status", "DECIDED"}}));
  m.add(record("al-1", "Alert", {},
               {{"subject", "p-paul"}, {"type", "DOMESTIC_ABUSE_RISK"}, {"severity", "WARNING"}, {"set_by", "hv-1"},
                {"set_at", "2026-11-10T11:00:00Z"}, {"note", "Concern raised by a neighbour."}}));
  // A concurrent value naming her mother, on a family-wide record.
  m.add(record("as-1", "Assessment", {},
               {{"episode", "ep-1"}, {"assessment_type", "EHA_FAMILY"}, {"author", "hv-1"},
                {"reason_for_assessment", "Whole-family assessment."}, {"significant_harm_indicated", false}},
               {{"reason_for_assessment", json::array({"Whole-family assessment.", "Maria asked for support."})}}));
  // Another family, not hers.
  m.add(record("fam-x", "Family", {}, {{"display_name", "Family X"}}, json::object(), "fam-x"));
  return m;
}

sar::SyncCheck no_devices() { return sar::check_sync({}, {}, 1000); }

sar::SarDocument build(MemoryRecords& store, sar::Requester who, const std::string& person = "p-daisy") {
  auto in = sar::read_person_records(store, person);
  REQUIRE(in.ok());
  sar::SarRequest request{person, who, "2026-11-30", "ig-1", *civil::parse_ms("2026-12-01T09:00:00Z"), std::nullopt};
  auto doc = sar::build_document(Schema::v1(), request, *in, no_devices());
  REQUIRE(doc.ok());
  return *doc;
}

const sar::DisclosedRecord* find(const sar::SarDocument& doc, const std::string& id) {
  for (const auto& r : doc.records)
    if (r.id == id) return &r;
  return nullptr;
}

bool redacted(const sar::SarDocument& doc, const std::string& record, const std::string& field, const std::string& code) {
  return std::any_of(doc.redactions.begin(), doc.redactions.end(), [&](const sar::Redaction& r) {
    return r.record == record && r.field == field && r.code == code;
  });
}

bool flagged(const sar::SarDocument& doc, const std::string& record, const std::string& field) {
  return std::any_of(doc.harm_flags.begin(), doc.harm_flags.end(), [&](const sar::Redaction& r) {
    return r.record == record && r.field == field && r.code == sar::kSocialCareHarm;
  });
}

DeviceRecord device(const std::string& id, const std::string& practitioner, int64_t last_pull) {
  DeviceRecord d;
  d.id = id;
  d.practitioner = practitioner;
  d.last_pull_at = last_pull;
  return d;
}

}  // namespace

TEST_CASE("SAR: the due date is one calendar month from receipt clamped to the month's end", "[unit]") {
  auto check = [](const char* received, const char* due, const char* extended) {
    auto d = sar::due_dates(received);
    REQUIRE(d.ok());
    CHECK(d->due == due);
    CHECK(d->extended == extended);
  };
  check("2026-11-30", "2026-12-30", "2027-02-28");  // S4: the extension ends in a short February
  check("2026-09-03", "2026-10-03", "2026-12-03");
  check("2026-12-15", "2027-01-15", "2027-03-15");  // across the year's end
  check("2026-01-31", "2026-02-28", "2026-04-30");  // no 31 February: its last day
  check("2024-01-31", "2024-02-29", "2024-04-30");  // a leap year
  check("2023-11-29", "2023-12-29", "2024-02-29");  // extended into a leap February
  check("2025-11-29", "2025-12-29", "2026-02-28");
  check("2100-01-29", "2100-02-28", "2100-04-29");  // 2100 is not a leap year
  check("2000-01-30", "2000-02-29", "2000-04-30");  // 2000 is
  check("2026-03-31", "2026-04-30", "2026-06-30");
  // With the council's calendar, a date on a weekend or a closed day moves to the next working day.
  TenantConfig calendar;
  REQUIRE(calendar.set("closed_dates", "2026-12-25,2026-12-28"));
  auto monday = sar::due_dates("2026-10-30", &calendar);  // due Monday 2026-11-30: unchanged
  REQUIRE(monday.ok());
  CHECK(monday->respond_by == "2026-11-30");
  auto saturday = sar::due_dates("2026-11-05", &calendar);  // due Saturday 2026-12-05
  REQUIRE(saturday.ok());
  CHECK(saturday->due == "2026-12-05");
  CHECK(saturday->respond_by == "2026-12-07");
  auto christmas = sar::due_dates("2026-11-25", &calendar);  // Friday 25th closed, then the weekend, then 28th closed
  REQUIRE(christmas.ok());
  CHECK(christmas->respond_by == "2026-12-29");
  CHECK(sar::due_dates("2026-11-05")->respond_by == "2026-12-05");  // no calendar: the statutory date
  for (const char* bad : {"2026-02-30", "2026-13-01", "2026-1-05", "yesterday", "", "2026-11-30T10:00:00Z"}) {
    auto d = sar::due_dates(bad);
    CHECK_FALSE(d.ok());
    if (!d.ok()) CHECK(d.error().code == ErrorCode::invalid_argument);
  }
}

TEST_CASE("SAR: S4 - her own records with third parties and the informant redacted and social work flagged", "[unit]") {
  auto store = family_d();
  auto doc = build(store, sar::Requester::self);

  // Her records and the family-wide ones; none about other people only, none of another family.
  CHECK(find(doc, "p-daisy"));
  CHECK(find(doc, "fam-d"));
  CHECK(find(doc, "rel-paul-daisy"));
  CHECK_FALSE(find(doc, "p-paul"));
  CHECK_FALSE(find(doc, "p-maria"));
  CHECK_FALSE(find(doc, "rel-paul-maria"));
  CHECK_FALSE(find(doc, "fam-x"));
  CHECK(doc.families == std::vector<std::string>{"fam-d"});

  // The informant's identity (rule 2), with the code, the record and the field.
  const auto* referral = find(doc, "ref-1");
  REQUIRE(referral);
  CHECK_FALSE(referral->fields.contains("referrer"));
  CHECK_FALSE(referral->fields.contains("referrer_details"));
  CHECK(redacted(doc, "ref-1", "referrer", sar::kRightsOfOthers));
  CHECK(redacted(doc, "ref-1", "referrer_details", sar::kRightsOfOthers));
  // Third parties in free text (rule 5): the sentence naming her father goes, hers stay.
  std::string reason = referral->fields["reason_text"];
  CHECK_THAT(reason, Contains("Daisy is often late to school.") && Contains("She wants help.") &&
                         Contains("[withheld: S2 P3 rights of others]"));
  CHECK_THAT(reason, !Contains("Paul") && !Contains("shouts"));
  CHECK(redacted(doc, "ref-1", "reason_text", sar::kRightsOfOthers));

  // Third parties by id (rule 4): her father's id leaves the relationship and the contact.
  const auto* rel = find(doc, "rel-paul-daisy");
  REQUIRE(rel);
  CHECK_FALSE(rel->fields.contains("person_a"));
  CHECK(rel->fields["person_b"] == "p-daisy");
  CHECK(redacted(doc, "rel-paul-daisy", "person_a", sar::kRightsOfOthers));
  const auto* visit = find(doc, "c-1");
  REQUIRE(visit);
  CHECK(visit->fields["persons_present"] == json::array({"p-daisy"}));
  CHECK(redacted(doc, "c-1", "persons_present", sar::kRightsOfOthers));
  std::string narrative = visit->fields["narrative"];
  CHECK_THAT(narrative, Contains("Met Daisy at home.") && Contains("Daisy was calm.") && !Contains("Paul"));
  // The alert about her father: its subject withheld, the professional who set it kept.
  const auto* alert = find(doc, "al-1");
  REQUIRE(alert);
  CHECK_FALSE(alert->fields.contains("subject"));
  CHECK(alert->fields["set_by"] == "hv-1");
  CHECK(redacted(doc, "al-1", "subject", sar::kRightsOfOthers));
  // A concurrent value naming her mother (a word of her given names) is redacted too.
  const auto* assessment = find(doc, "as-1");
  REQUIRE(assessment);
  CHECK_THAT(assessment->multi.dump(), !Contains("Maria") && Contains("Whole-family assessment."));
  // A name is found written as a name, not as an ordinary word.
  {
    auto m = family_d();
    m.add(record("p-may", "Person", {"p-may"}, person("May", "Dee", "2015-05-05")));
    m.add(record("c-4", "Contact", {"p-daisy"},
                 {{"practitioner", "hv-1"}, {"occurred_at", "2026-11-14T10:00:00Z"}, {"contact_type", "PHONE"},
                  {"narrative", "Daisy may come to the group. May was at school. Paul's car was outside."},
                  {"concern_raised", false}}));
    m.add(record("t-1", "Task", {},
                 {{"task_type", "FLAG_REVIEW"}, {"assignee", "hv-1"}, {"due_at", "2026-11-20T10:00:00Z"},
                  {"detail", "Review c-4. Check the record of p-may."}, {"status", "OPEN"}}));
    auto may = build(m, sar::Requester::self);
    CHECK(find(may, "t-1")->fields["detail"] == "Review c-4. [withheld: S2 P3 rights of others]");
    CHECK(find(may, "c-4")->fields["narrative"] ==
          "Daisy may come to the group. [withheld: S2 P3 rights of others] [withheld: S2 P3 rights of others]");
  }
  // Professionals' names are not withheld (§10.2).
  CHECK(visit->fields["practitioner"] == "sw-1");
  CHECK(find(doc, "c-2")->fields["practitioner"] == "yw-1");

  // Nothing child-confidential is withheld from the child herself (S4).
  const auto* voice = find(doc, "cv-1");
  REQUIRE(voice);
  CHECK(voice->fields["views_wishes_feelings"] == "I do not want my parents to know I see a counsellor.");
  CHECK_FALSE(redacted(doc, "cv-1", "views_wishes_feelings", sar::kChildConfidential));

  // Social-work items are flagged for the serious-harm test, and still disclosed (rule 6).
  CHECK(flagged(doc, "su-1", "reason"));
  CHECK(flagged(doc, "su-1", "csc_decision"));
  CHECK(find(doc, "su-1")->fields["reason"] == "Escalating conflict at home.");
  CHECK(flagged(doc, "c-1", "narrative"));       // a contact that raised a concern
  CHECK_FALSE(flagged(doc, "c-2", "narrative"));  // an ordinary one is not
  CHECK(flagged(doc, "ref-1", "significant_harm_suspected"));
  CHECK(std::find(visit->flagged.begin(), visit->flagged.end(), "narrative") != visit->flagged.end());
  // A withheld field is never also flagged.
  CHECK_FALSE(flagged(doc, "al-1", "subject"));

  // The JSON carries all of it, and the audit detail counts it.
  json j = sar::to_json(doc);
  CHECK(j["format"] == "hearth-sar/1");
  CHECK(j["due"] == "2026-12-30");
  CHECK(j["extended_due"] == "2027-02-28");
  CHECK(j["respond_by"] == "2026-12-30");
  CHECK(j["requester_type"] == "SELF");
  CHECK(j["complete"] == true);
  CHECK(j["status"] == "AWAITING_HARM_DECISIONS");
  CHECK(j["counts"]["records"] == doc.records.size());
  CHECK(j["redactions"].size() == doc.redactions.size());
  CHECK(j["harm_test_flags"][0]["decision"] == "PENDING_IG_DECISION");
  CHECK_THAT(j.dump(), !Contains("Paul") && !Contains("Maria") && !Contains("Informant") && !Contains("dsl-1") &&
                           !Contains("p-paul"));
  std::string detail = sar::audit_detail(doc);
  CHECK_THAT(detail, Contains("person p-daisy") && Contains("requester SELF") && Contains("due 2026-12-30") &&
                         Contains(std::to_string(doc.records.size()) + " records disclosed") && Contains("sync complete"));
  CHECK_THAT(detail, !Contains("Paul") && !Contains("Daisy"));
}

TEST_CASE("SAR: a parent requester does not receive the child's child-confidential items", "[unit]") {
  auto store = family_d();
  for (auto who : {sar::Requester::parent, sar::Requester::representative}) {
    auto doc = build(store, who);
    const auto* voice = find(doc, "cv-1");
    REQUIRE(voice);
    CHECK_FALSE(voice->fields.contains("views_wishes_feelings"));
    CHECK(voice->fields["child"] == "p-daisy");  // the record is listed; the confidential view is not
    CHECK(redacted(doc, "cv-1", "views_wishes_feelings", sar::kChildConfidential));
    CHECK_THAT(sar::to_json(doc).dump(), !Contains("counsellor"));
    CHECK_THAT(sar::to_html(doc), !Contains("counsellor") && Contains("CC child-confidential"));
  }
  // A view the child did not mark confidential reaches a parent.
  auto m = family_d();
  m.add(record("cv-1", "ChildVoice", {"p-daisy"},
               {{"assessment", "as-1"}, {"child", "p-daisy"}, {"method", "DIRECT_CONVERSATION"}, {"date", "2026-11-11"},
                {"views_wishes_feelings", "I like the youth club."}, {"child_confidential", false}}));
  auto doc = build(m, sar::Requester::parent);
  CHECK(find(doc, "cv-1")->fields["views_wishes_feelings"] == "I like the youth club.");
}

TEST_CASE("SAR: an unknown person is a clear error", "[unit]") {
  auto store = family_d();
  for (const char* who : {"p-nobody", "fam-d", "c-1"}) {  // no record, or a record that is not a Person
    auto in = sar::read_person_records(store, who);
    REQUIRE_FALSE(in.ok());
    CHECK(in.error().code == ErrorCode::not_found);
    CHECK_THAT(in.error().message, Contains(std::string("no Person record '") + who + "'"));
  }
  // build_document refuses too when its input lacks the person.
  sar::SarRequest request{"p-nobody", sar::Requester::self, "2026-11-30", "admin", 0, std::nullopt};
  auto doc = sar::build_document(Schema::v1(), request, sar::PersonRecords{}, no_devices());
  REQUIRE_FALSE(doc.ok());
  CHECK(doc.error().code == ErrorCode::not_found);
  // A bad date of receipt is an argument error naming the option.
  auto in = sar::read_person_records(store, "p-daisy");
  REQUIRE(in.ok());
  request = {"p-daisy", sar::Requester::self, "2026-02-31", "admin", 0, std::nullopt};
  auto bad = sar::build_document(Schema::v1(), request, *in, no_devices());
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.error().message, Contains("--received"));
}

TEST_CASE("SAR: a device of the team that has not synced since the SAR was logged is listed", "[unit]") {
  const int64_t logged = *civil::parse_ms("2026-12-01T09:00:00Z");
  std::vector<DeviceRecord> devices = {
      device("dev-hv", "hv-1", logged + 60'000),  // synced after the SAR was logged
      device("dev-yw", "yw-1", logged - 60'000),  // synced before: may hold unsent records
      device("dev-yw-old", "yw-1", 0),            // never synced, declared lost
      device("dev-sw", "sw-1", 0),                // never synced
      device("dev-other", "xx-1", 0),             // not on the family's team: not asked about
      device("dev-wiped", "hv-1", 5),             // a wipe was requested
  };
  devices[2].revoked = true;
  devices[5].wipe_requested_at = logged - 1;
  auto check = sar::check_sync(devices, {"hv-1", "yw-1", "sw-1"}, logged);
  REQUIRE(check.devices.size() == 5);
  CHECK_FALSE(check.complete());
  CHECK(check.not_synced() == std::vector<std::string>{"dev-sw", "dev-yw"});
  std::map<std::string, sar::DeviceSync::State> state;
  for (const auto& d : check.devices) state[d.device] = d.state;
  CHECK(state["dev-hv"] == sar::DeviceSync::State::synced);
  CHECK(state["dev-yw-old"] == sar::DeviceSync::State::lost_or_wiped);
  CHECK(state["dev-wiped"] == sar::DeviceSync::State::lost_or_wiped);
  CHECK_FALSE(state.count("dev-other"));

  // The export is still produced, marked incomplete, naming them.
  auto store = family_d();
  auto in = sar::read_person_records(store, "p-daisy");
  REQUIRE(in.ok());
  sar::SarRequest request{"p-daisy", sar::Requester::self, "2026-11-30", "ig-1", logged + 120'000, std::nullopt};
  auto doc = sar::build_document(Schema::v1(), request, *in, check);
  REQUIRE(doc.ok());
  CHECK_FALSE(doc->records.empty());
  json j = sar::to_json(*doc);
  CHECK(j["complete"] == false);
  CHECK(j["status"] == "INCOMPLETE");
  CHECK(j["sync"]["not_synced"] == json::array({"dev-sw", "dev-yw"}));
  CHECK_THAT(j["sync"]["statement"].get<std::string>(), Contains("INCOMPLETE") && Contains("dev-sw, dev-yw"));
  CHECK_THAT(sar::to_html(*doc), Contains("class=\"incomplete\"") && Contains("dev-yw"));
  CHECK_THAT(sar::audit_detail(*doc), Contains("INCOMPLETE, not synced: dev-sw dev-yw"));

  // Once they have synced (or are declared lost), it is complete.
  devices[1].last_pull_at = logged + 1;
  devices[3].revoked = true;
  auto later = sar::check_sync(devices, {"hv-1", "yw-1", "sw-1"}, logged);
  CHECK(later.complete());
  CHECK(later.not_synced().empty());
}

TEST_CASE("SAR: hostile text is escaped in the HTML document and it loads nothing", "[unit][security]") {
  auto store = family_d();
  const std::string hostile = "<script>alert(1)</script>\"><img src=x onerror=alert(2)> & 'quoted'";
  store.add(record("c-3", "Contact", {"p-daisy"},
                   {{"practitioner", "hv-1"}, {"occurred_at", "2026-11-13T10:00:00Z"}, {"contact_type", "PHONE"},
                    {"narrative", hostile}, {"concern_raised", false}}));
  store.add(record("p-daisy", "Person", {"p-daisy"}, person("Daisy<b>", "Dee</title><script>x()</script>", "2011-03-04")));
  auto doc = build(store, sar::Requester::self);
  std::string html = sar::to_html(doc);
  CHECK_THAT(html, !Contains("<script") && !Contains("<img") && !Contains("<b>") && !Contains("</title><script"));
  CHECK_THAT(html, Contains("&lt;script&gt;alert(1)&lt;/script&gt;&quot;&gt;&lt;img src=x onerror=alert(2)&gt; &amp; "
                            "&#39;quoted&#39;"));
  CHECK_THAT(html, Contains("Content-Security-Policy") && Contains("default-src 'none'"));
  CHECK_THAT(html, !Contains("http://") && !Contains("https://"));
  // Sections per record type, the schedule, the sync statement and the due dates.
  CHECK_THAT(html, Contains("<h2>Contact</h2>") && Contains("<h2>Referral</h2>") && Contains("id=\"redactions\"") &&
                       Contains("id=\"sync\"") && Contains("2026-12-30") && Contains("2027-02-28"));
  CHECK(sar::html_escape("a<b>&\"'") == "a&lt;b&gt;&amp;&quot;&#39;");
  // The JSON keeps the text as it was recorded (JSON escaping is the reader's).
  CHECK(sar::to_json(doc).dump().find("onerror=alert(2)") != std::string::npos);
}

TEST_CASE("SAR: the sar command logs the request and writes private files and audits and judges devices from the log time",
          "[unit][security]") {
  test::TempDir dir;
  auto store = must(open_sqlite_storage(dir.file("server.db"), test::audit_key()));
  auto trail = must(audit::open_trail_file(dir.file("server.db"), test::audit_key(), &store->keys()));
  auto& cl = store->caseload();
  must(cl.add_organisation("org-eh", "Early Help", "LA_EARLY_HELP"));
  must(cl.add_practitioner("hv-1", "org-eh", "HV One", "PRACTITIONER"));
  must(cl.add_practitioner("sw-1", "org-eh", "SW One", "PRACTITIONER"));
  must(cl.add_practitioner("ig-1", "org-eh", "IG One", "IG_OFFICER"));
  must(cl.allocate("fam-d", "hv-1", true, 1));
  must(cl.allocate("fam-d", "sw-1", false, 1));
  must(store->devices().add_device("dev-hv", "hv-1", "t1", 1, INT64_MAX / 2));
  must(store->devices().add_device("dev-sw", "sw-1", "t2", 1, INT64_MAX / 2));
  auto records = family_d();
  const int64_t t0 = *civil::parse_ms("2026-12-01T09:00:00Z");
  must(store->devices().record_pull("dev-hv", t0 - 1000));  // before the request was logged
  const std::string out_dir = dir.file("sar-out");
  SarArgs args{"p-daisy", "SELF", "2026-11-30", out_dir, "ig-1"};

  std::ostringstream out, err;
  REQUIRE(sar_command(*store, records, *trail.trail, Schema::v1(), args, t0, out, err) == 0);
  INFO(out.str() << err.str());
  CHECK_THAT(out.str(), Contains("subject access request logged at 2026-12-01T09:00:00Z") &&
                            Contains("due 2026-12-30") && Contains("extended due date 2027-02-28") &&
                            Contains("INCOMPLETE") && Contains("dev-hv (hv-1)") && Contains("dev-sw (sw-1)"));
  const std::string base = out_dir + "/sar-p-daisy-20261201T090000Z";
  for (const char* ext : {".json", ".html"}) {
    REQUIRE(std::filesystem::exists(base + ext));
    CHECK((std::filesystem::status(base + ext).permissions() & std::filesystem::perms::all) ==
          (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
  }
  CHECK((std::filesystem::status(out_dir).permissions() & std::filesystem::perms::all) == std::filesystem::perms::owner_all);

  // Both devices sync after the request was logged: the next run is complete, against the
  // logged time (not its own).
  must(store->devices().record_pull("dev-hv", t0 + 60'000));
  must(store->devices().record_pull("dev-sw", t0 + 60'000));
  std::ostringstream out2, err2;
  REQUIRE(sar_command(*store, records, *trail.trail, Schema::v1(), args, t0 + 120'000, out2, err2) == 0);
  CHECK_THAT(out2.str(), Contains("sync complete") && !Contains("logged at"));
  auto written = json::parse(std::ifstream(out_dir + "/sar-p-daisy-20261201T090200Z.json"));
  CHECK(written["complete"] == true);
  CHECK(written["sync"]["logged_at"] == "2026-12-01T09:00:00Z");
  // A run in the same second writes new files beside them, never over them.
  std::ostringstream out3, err3;
  CHECK(sar_command(*store, records, *trail.trail, Schema::v1(), args, t0 + 120'000, out3, err3) == 0);
  CHECK_THAT(out3.str(), Contains("sar-p-daisy-20261201T090200Z-2.json") && Contains("sar-p-daisy-20261201T090200Z-2.html"));
  CHECK(std::filesystem::exists(out_dir + "/sar-p-daisy-20261201T090200Z.json"));

  // Every SAR is in the family's audit chain: who, which person, what was disclosed and withheld.
  std::vector<audit::Event> events;
  audit::AuditQuery q;
  q.family = "fam-d";
  must(trail.trail->query(q, [&](const audit::ListedEvent& e) -> Result<void> {
    events.push_back(e.event);
    return {};
  }));
  auto count = [&](const std::string& action) {
    return std::count_if(events.begin(), events.end(), [&](const audit::Event& e) { return e.action == action; });
  };
  CHECK(count("sar-logged") == 1);
  std::vector<audit::Event> started;
  must(trail.trail->query(audit::AuditQuery{}, [&](const audit::ListedEvent& e) -> Result<void> {
    if (e.event.action == "sar-started" && e.chain == "server") started.push_back(e.event);
    return {};
  }));
  REQUIRE(started.size() == 3);  // every run, before it read anything
  CHECK(started[0].actor == "ig-1");
  CHECK_THAT(started[0].detail, Contains("person p-daisy") && Contains("requester SELF"));
  CHECK(count("sar") == 3);  // (counted before the runs below)
  for (const auto& e : events)
    if (e.action == "sar") {
      CHECK(e.actor == "ig-1");
      CHECK_THAT(e.detail, Contains("person p-daisy") && Contains("records disclosed") && Contains("S2 P3 rights of others x"));
    }

  // A practitioner taken off the team whose tablet has not pulled since may still hold records
  // about her (its next pull pushes them, then purges the family): it is asked about again.
  records.add(record("fam-d/team/sw-1", "TeamMember", {},
                     {{"practitioner", "sw-1"}, {"organisation", "org-eh"}, {"team_role", "TAF_MEMBER"},
                      {"access_scope", "FULL_EPISODE"}, {"joined_at", "2026-11-01T09:00:00Z"}}));
  must(cl.deallocate("fam-d", "sw-1", t0 + 130'000));
  SarArgs next = args;
  next.received = "2026-12-01";  // a new request, logged now
  std::ostringstream out5, err5;
  REQUIRE(sar_command(*store, records, *trail.trail, Schema::v1(), next, t0 + 140'000, out5, err5) == 0);
  CHECK_THAT(out5.str(), Contains("INCOMPLETE") && Contains("dev-sw (sw-1)") && Contains("dev-hv (hv-1)"));
  must(store->devices().record_pull("dev-sw", t0 + 150'000));  // its purging pull: it holds the family no more
  must(store->devices().record_pull("dev-hv", t0 + 150'000));
  std::ostringstream out6, err6;
  REQUIRE(sar_command(*store, records, *trail.trail, Schema::v1(), next, t0 + 160'000, out6, err6) == 0);
  CHECK_THAT(out6.str(), Contains("sync complete: every device holding the families (1)"));

  // An unknown person, a requester type, an officer who is not IG: clear errors.
  std::ostringstream o4, e4;
  SarArgs nobody = args;
  nobody.person = "p-nobody";
  CHECK(sar_command(*store, records, *trail.trail, Schema::v1(), nobody, t0, o4, e4) == 3);
  CHECK_THAT(e4.str(), Contains("no Person record 'p-nobody'"));
  SarArgs bad_type = args;
  bad_type.requester_type = "NEIGHBOUR";
  CHECK(sar_command(*store, records, *trail.trail, Schema::v1(), bad_type, t0, o4, e4) == 1);
  CHECK_THAT(e4.str(), Contains("--requester-type must be SELF, PARENT or REPRESENTATIVE"));
  SarArgs not_ig = args;
  not_ig.by = "hv-1";
  CHECK(sar_command(*store, records, *trail.trail, Schema::v1(), not_ig, t0, o4, e4) == 1);
  CHECK_THAT(e4.str(), Contains("not IG_OFFICER"));
  SarArgs future = args;
  future.received = "2026-12-02";
  CHECK(sar_command(*store, records, *trail.trail, Schema::v1(), future, t0, o4, e4) == 1);
  CHECK_THAT(e4.str(), Contains("after today"));
}

TEST_CASE("SAR: hearth-server sar checks its arguments where they enter and ends with a clear message", "[fault]") {
  test::TempDir dir;
  auto run = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", dir.file("data")});
    return test::run_process(test::build_binary("server/hearth-server"), args);
  };
  REQUIRE(run({"init"}).code == 0);
  REQUIRE(run({"add-org", "--id", "org-1", "--name", "X", "--type", "LA_EARLY_HELP"}).code == 0);
  REQUIRE(run({"add-practitioner", "--id", "hv-1", "--org", "org-1", "--name", "P", "--role", "PRACTITIONER"}).code == 0);
  const std::string out = dir.file("out");
  for (const std::string& id : {std::string(), std::string("p 1"), std::string(5000, 'p'), std::string("p\xff")}) {
    auto r = run({"sar", "--person", id, "--out", out});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("--person"));
  }
  // An id may hold '/' (record ids do), but never makes a path: no such person here, and the
  // file name of a real one keeps only letters, digits, '.', '-' and '_'.
  auto slashes = run({"sar", "--person", "p/../../etc", "--out", out});
  CHECK(slashes.code == 3);
  auto missing = run({"sar", "--out", out});
  CHECK(missing.code != 0);
  CHECK_THAT(missing.err, Contains("--person"));
  auto type = run({"sar", "--person", "p-1", "--requester-type", "self", "--out", out});
  CHECK(type.code == 1);
  CHECK_THAT(type.err, Contains("--requester-type must be SELF, PARENT or REPRESENTATIVE"));
  for (const char* date : {"2026-02-30", "30/11/2026", "2026-11-30T00:00:00Z"}) {
    auto r = run({"sar", "--person", "p-1", "--received", date, "--out", out});
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("--received") && Contains("is not a date"));
  }
  auto not_ig = run({"sar", "--person", "p-1", "--by", "hv-1", "--out", out});
  CHECK(not_ig.code == 1);
  CHECK_THAT(not_ig.err, Contains("not IG_OFFICER"));
  auto unknown = run({"sar", "--person", "p-1", "--out", out});
  CHECK(unknown.code == 3);
  CHECK_THAT(unknown.err, Contains("no Person record 'p-1' is held on the server"));
  CHECK_FALSE(std::filesystem::exists(out));  // nothing written for a refused request
}
