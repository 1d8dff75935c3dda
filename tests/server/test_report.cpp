// The KPI report (issue 10 part 6; DOMAIN.md §12): periods, the §12.1 conventions at their
// edges (half-open periods, working days across a holiday, duplicates and merged persons,
// small-number suppression), and a generated caseload whose figures must agree to the unit with
// what the generator counted by construction and with a second computation written here,
// independently of the report module (raw JSON, dates compared as ISO text, its own calendar).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <ctime>
#include <fstream>
#include <sstream>

#include "../support/kpi_dataset.hpp"
#include "../support/must.hpp"
#include "../support/process.hpp"
#include "../support/temp_dir.hpp"
#include "audit/audit_key.hpp"
#include "keys/kek.hpp"
#include "keys/keyring.hpp"
#include "storage/storage.hpp"
#include "report/inputs.hpp"
#include "report/kpi.hpp"
#include "report/render.hpp"

using namespace hearth;
using namespace hearth::server::report;
using hearth::test::must;
using nlohmann::json;

namespace {

// ---- building small inputs by hand ----

std::string record(const std::string& id, const std::string& type, const std::string& family, json fields) {
  return json{{"id", id}, {"type", type}, {"family", family}, {"created", true}, {"created_by", "t"}, {"deleted", false},
              {"fields", std::move(fields)}, {"multi", json::object()}}
      .dump();
}

struct Builder {
  KpiInputBuilder b;
  void add(const std::string& id, const std::string& type, const std::string& family, json fields) {
    must(b.add(record(id, type, family, std::move(fields))));
  }
  void child(const std::string& id, const std::string& family, const std::string& dob) {
    add(id, "Person", family, {{"given_names", "C"}, {"family_name", "F"}, {"person_status", "LIVING"}, {"date_of_birth", dob}});
  }
  void episode(const std::string& id, const std::string& family, std::vector<std::string> children, const std::string& start,
               json extra = json::object()) {
    json f = {{"subject_children", children}, {"start_date", start}, {"start_reason", "OTHER"}, {"level_of_need", "L2"},
              {"service_model", "SINGLE_AGENCY"}, {"allocated_org", "org-eh"}, {"status", "ACTIVE"}};
    f.update(extra);
    add(id, "EarlyHelpEpisode", family, f);
  }
  void eha(const std::string& id, const std::string& family, const std::string& episode, const std::string& completed,
           const std::string& author = "hv-1") {
    add(id, "Assessment", family,
        {{"episode", episode}, {"assessment_type", "EHA_FAMILY"}, {"author", author}, {"status", "COMPLETED"},
         {"completed_at", completed}, {"presenting_needs", json::array({"PARENTING_SUPPORT"})}});
  }
};

TenantConfig config_with_holidays(const std::string& closed) {
  TenantConfig c;
  must(c.set("closed_dates", closed));
  return c;
}

Period q3() { return must(parse_quarter("2026-Q3")); }

int64_t count_of(const KpiReport& r, const std::string& kpi, const std::string& key) {
  const Measure* m = r.measure(kpi, key);
  INFO(kpi << " " << key);
  REQUIRE(m);
  return m->n;
}

std::pair<int64_t, int64_t> rate_of(const KpiReport& r, const std::string& kpi, const std::string& key) {
  const Measure* m = r.measure(kpi, key);
  INFO(kpi << " " << key);
  REQUIRE(m);
  return {m->num, m->den};
}

}  // namespace

TEST_CASE("Report periods: a quarter is half-open and the previous one crosses the year", "[unit][report]") {
  Period p = q3();
  CHECK(civil::format_date(p.from_day) == "2026-07-01");
  CHECK(civil::format_date(p.to_day) == "2026-10-01");
  Period q4 = must(parse_quarter("2026-Q4"));
  CHECK(civil::format_date(q4.to_day) == "2027-01-01");
  Period q1 = must(parse_quarter("2026-Q1"));
  CHECK(previous_period(q1).label == "2025-Q4");
  CHECK(civil::format_date(previous_period(q1).from_day) == "2025-10-01");
  for (const char* bad : {"2026-Q5", "2026Q3", "26-Q3", "2026-q3", "", "2026-Q3x"}) {
    auto r = parse_quarter(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("YYYY-Qn") != std::string::npos);
  }
  Period e = must(explicit_period("2026-09-01", "2026-12-01"));
  CHECK(e.to_day - e.from_day == 91);
  CHECK(previous_period(e).label == "2026-06-02..2026-09-01");
  CHECK_FALSE(explicit_period("2026-09-01", "2026-09-01").ok());
  CHECK_FALSE(explicit_period("2026-09-01", "soon").ok());
}

TEST_CASE("Report: an EHA counts in the quarter from its first instant to just before the next quarter", "[unit][report]") {
  Builder b;
  b.child("c1", "f1", "2020-01-01");
  b.episode("e1", "f1", {"c1"}, "2026-06-01");
  b.eha("a-before", "f1", "e1", "2026-06-30T23:59:59Z");
  b.eha("a-first", "f1", "e1", "2026-07-01T00:00:00Z");
  b.eha("a-last", "f1", "e1", "2026-09-30T23:59:59.999Z");
  b.eha("a-after", "f1", "e1", "2026-10-01T00:00:00Z");
  KpiReport r = compute_report(b.b.take(), q3(), TenantConfig{});
  CHECK(count_of(r, "K-01", "assessments") == 2);
  // The quarter before holds a-before only; the trend shows both.
  const Trend* t = nullptr;
  for (const auto& x : r.trends)
    if (x.kpi == "K-01") t = &x;
  REQUIRE(t);
  REQUIRE(t->points.size() == 5);
  CHECK(t->points.back() == std::pair<std::string, int64_t>{"2026-Q3", 2});
  CHECK(t->points[3] == std::pair<std::string, int64_t>{"2026-Q2", 1});
}

TEST_CASE("Report: an EHA due in 10 working days counts on time across a bank holiday", "[unit][report]") {
  Builder b;
  // Start Monday 17 August 2026; Monday 31 August is the summer bank holiday, so the tenth
  // working day after the start is Tuesday 1 September.
  b.child("c1", "f1", "2019-01-01");
  b.child("c2", "f2", "2019-01-01");
  b.episode("e1", "f1", {"c1"}, "2026-08-17");
  b.episode("e2", "f2", {"c2"}, "2026-08-17");
  b.eha("a1", "f1", "e1", "2026-09-01T16:00:00Z");
  b.eha("a2", "f2", "e2", "2026-09-02T09:00:00Z");
  KpiInput input = b.b.take();
  KpiReport with_holiday = compute_report(input, q3(), config_with_holidays("2026-08-31"));
  CHECK(rate_of(with_holiday, "K-15", "eha_10_working_days") == std::pair<int64_t, int64_t>{1, 2});
  KpiReport without = compute_report(input, q3(), TenantConfig{});
  CHECK(rate_of(without, "K-15", "eha_10_working_days") == std::pair<int64_t, int64_t>{0, 2});
}

TEST_CASE("Report: episodes opened in error and persons merged away are not counted", "[unit][report]") {
  Builder b;
  b.child("c1", "f1", "2018-05-01");
  b.add("c1-dup", "Person", "f2",
        {{"given_names", "C"}, {"family_name", "F"}, {"person_status", "LIVING"}, {"date_of_birth", "2018-05-01"},
         {"merged_into", "c1"}});
  b.episode("e1", "f1", {"c1"}, "2026-07-10");
  b.episode("e2", "f2", {"c1-dup"}, "2026-07-20");
  b.episode("e3", "f3", {"c3"}, "2026-07-05",
            {{"status", "CLOSED"}, {"closed_at", "2026-07-06"}, {"closure_reason", "OPENED_IN_ERROR_OR_DUPLICATE"}});
  b.eha("a3", "f3", "e3", "2026-07-06T10:00:00Z");
  b.add("s1", "StepUpRequest", "f2",
        {{"episode", "e2"}, {"children", json::array({"c1-dup"})}, {"kind", "PLANNED"}, {"submitted_at", "2026-08-01T10:00:00Z"},
         {"status", "SUBMITTED"}});
  KpiReport r = compute_report(b.b.take(), q3(), TenantConfig{});
  CHECK(count_of(r, "K-06", "children") == 1);  // c1 and its duplicate are one child
  CHECK(count_of(r, "K-06", "episodes") == 2);
  CHECK(count_of(r, "K-06", "families") == 2);
  CHECK(count_of(r, "K-01", "assessments") == 0);
  CHECK(count_of(r, "K-11", "children") == 1);
  CHECK(rate_of(r, "K-11", "step_up_rate") == std::pair<int64_t, int64_t>{1, 1});
  CHECK(r.excluded_duplicate_episodes == 1);
  CHECK(r.merged_persons == 1);
}

TEST_CASE("Report: age bands at the event date with unborn children in 0-4 and counted apart", "[unit][report]") {
  CHECK(age_band(civil::days_from_civil(2022, 7, 2), civil::days_from_civil(2026, 7, 1), false) == "0-4");
  CHECK(age_band(civil::days_from_civil(2021, 7, 1), civil::days_from_civil(2026, 7, 1), false) == "5-6");
  CHECK(age_band(civil::days_from_civil(2021, 7, 2), civil::days_from_civil(2026, 7, 1), false) == "0-4");
  CHECK(age_band(civil::days_from_civil(2014, 7, 1), civil::days_from_civil(2026, 7, 1), false) == "12-15");
  CHECK(age_band(civil::days_from_civil(2000, 7, 1), civil::days_from_civil(2026, 7, 1), false) == "26+");
  CHECK(age_band(std::nullopt, civil::days_from_civil(2026, 7, 1), false) == "UNKNOWN");
  CHECK(age_band(std::nullopt, civil::days_from_civil(2026, 7, 1), true) == "0-4");

  Builder b;
  b.add("u1", "Person", "f1", {{"given_names", "B"}, {"family_name", "F"}, {"person_status", "UNBORN"}, {"expected_due_date", "2026-12-01"}});
  b.child("c1", "f1", "2021-07-01");
  b.episode("e1", "f1", {"u1", "c1"}, "2026-07-01");
  KpiReport r = compute_report(b.b.take(), q3(), TenantConfig{});
  CHECK(count_of(r, "K-06", "unborn_children") == 1);
  const KpiResult* k = r.kpi("K-06");
  REQUIRE(k);
  for (const auto& br : k->breakdowns)
    if (br.dimension == "age_band") CHECK(br.cells == std::vector<std::pair<std::string, int64_t>>{{"0-4", 1}, {"5-6", 1}});
}

TEST_CASE("Report: a family's LSOA comes from its record or address or the council's postcode table and never from a refuge", "[unit][report]") {
  std::istringstream csv("\xef\xbb\xbfPCDS,oa21cd,LSOA21CD\n\"MK40 1AA\",x,E01001\nmk41 2bb,y,E01002\nbroken\n");
  LsoaTable table = must(read_lsoa_table(csv, "lsoa.csv"));
  CHECK(table.lsoa_of_postcode.at("MK401AA") == "E01001");
  CHECK(table.lsoa_of_postcode.at("MK412BB") == "E01002");
  CHECK(table.skipped == 1);
  std::istringstream no_columns("postcode,ward\nMK40 1AA,W1\n");
  auto refused = read_lsoa_table(no_columns, "wards.csv");
  REQUIRE_FALSE(refused.ok());
  CHECK(refused.error().message.find("wards.csv") != std::string::npos);

  Builder b;
  b.add("f1", "Family", "f1", {{"display_name", "A"}, {"lsoa_code", "E09999"}});
  b.add("f2", "Family", "f2", {{"display_name", "B"}, {"current_address", "ad2"}});
  b.add("ad2", "Address", "f2", {{"postcode", "mk40 1aa"}, {"type", "HOME"}, {"confidential", false}});
  b.add("f3", "Family", "f3", {{"display_name", "C"}});
  b.add("ad3", "Address", "f3", {{"postcode", "MK41 2BB"}, {"type", "REFUGE"}, {"confidential", true}});
  b.add("f4", "Family", "f4", {{"display_name", "D"}});
  for (const char* f : {"f1", "f2", "f3", "f4"}) {
    b.child(std::string("c-") + f, f, "2015-01-01");
    b.episode(std::string("e-") + f, f, {std::string("c-") + f}, "2026-07-02");
  }
  KpiInput input = b.b.take();
  input.lsoa_of_postcode = table.lsoa_of_postcode;
  KpiReport r = compute_report(input, q3(), TenantConfig{});
  const KpiResult* k = r.kpi("K-06");
  REQUIRE(k);
  std::map<std::string, int64_t> by_lsoa;
  for (const auto& br : k->breakdowns)
    if (br.dimension == "lsoa")
      for (const auto& [cat, n] : br.cells) by_lsoa[cat] = n;
  CHECK(by_lsoa == std::map<std::string, int64_t>{{"E09999", 1}, {"E01001", 1}, {"CONFIDENTIAL_ADDRESS", 1}, {"UNKNOWN", 1}});
}

TEST_CASE("Report: counts of 1 to 4 leave as <5 in every format and so do rates built from them", "[unit][report][security]") {
  Builder b;
  for (int i = 0; i < 8; ++i) {
    std::string f = "f" + std::to_string(i), c = "c" + std::to_string(i), e = "e" + std::to_string(i);
    b.child(c, f, "2016-01-01");
    b.episode(e, f, {c}, "2026-07-02");
    // Three EHAs by a school, five by health: 3 is suppressed, 5 and 8 are not.
    b.eha("a" + std::to_string(i), f, e, "2026-07-20T10:00:00Z", i < 3 ? "school-1" : "hv-1");
  }
  KpiInput input = b.b.take();
  input.agency_of_practitioner = {{"school-1", "SCHOOL"}, {"hv-1", "HEALTH_VISITING"}};
  KpiReport r = compute_report(input, q3(), TenantConfig{});
  const Measure* school = r.measure("K-01", "k02_school");
  const Measure* health = r.measure("K-01", "k02_health");
  REQUIRE((school && health));
  CHECK(shown(*school, true) == "<5");
  CHECK(shown(*school, false) == "37.5% (3/8)");
  CHECK(shown(*health, true) == "62.5% (5/8)");
  CHECK(shown(*r.measure("K-01", "assessments"), true) == "8");
  CHECK(shown(*r.measure("K-11", "requests"), true) == "0");
  CHECK(shown_count(4, true) == "<5");
  CHECK(shown_count(5, true) == "5");

  RenderOptions o;
  json j = json::parse(render_json(r, o));
  bool checked = false;
  for (const auto& k : j["kpis"])
    for (const auto& m : k["measures"])
      if (m["key"] == "k02_school") {
        CHECK(m["numerator"].is_null());
        CHECK(m["denominator"].is_null());
        CHECK(m["suppressed"] == true);
        CHECK(m["shown"] == "<5");
        checked = true;
      }
  CHECK(checked);
  for (const auto& k : j["kpis"])
    for (const auto& br : k["breakdowns"])
      for (const auto& cell : br["cells"])
        if (cell["value"].is_number()) CHECK((cell["value"].get<int64_t>() == 0 || cell["value"].get<int64_t>() >= 5));
  std::string csv = render_csv(r, o);
  CHECK(csv.find("measure,K-01,k02_school,,percent of assessments,,,,<5") != std::string::npos);
  CHECK(csv.find("breakdown,K-01,agency,SCHOOL,assessments,,,,<5") != std::string::npos);
  CHECK(csv.find("breakdown,K-01,agency,HEALTH_VISITING,assessments,,,5,5") != std::string::npos);
  std::string html = render_html(r, o);
  CHECK(html.find("data-measure=\"k02_school\"><td>K-01</td><td>K-02: share of EHAs initiated by schools</td><td class=\"value\">&lt;5") !=
        std::string::npos);
  CHECK(html.find("3/8") == std::string::npos);
  std::string text = render_text(r, o);
  CHECK(text.find("3/8") == std::string::npos);
  // Inside the LA, on request, the exact figures.
  o.suppress = false;
  CHECK(render_text(r, o).find("37.5% (3/8)") != std::string::npos);
  CHECK(json::parse(render_json(r, o))["suppression"]["applied"] == false);
}

TEST_CASE("Report: the HTML page is self-contained with both charts and every KPI row", "[unit][report]") {
  auto ds = test::make_kpi_dataset({});
  KpiInputBuilder b;
  for (const auto& rec : ds.records) must(b.add(rec.json));
  KpiInput input = b.take();
  input.agency_of_practitioner = ds.agency_of_practitioner;
  KpiReport r = compute_report(input, q3(), config_with_holidays("2026-08-31"));
  std::string html = render_html(r, {});
  CHECK(html.find("<svg id=\"chart-trends\"") != std::string::npos);
  CHECK(html.find("<svg id=\"chart-distance\"") != std::string::npos);
  CHECK(html.find("http://") == html.find("http://www.w3.org/2000/svg"));  // the SVG namespace only: nothing fetched
  CHECK(html.find("https://") == std::string::npos);
  CHECK(html.find("<script") == std::string::npos);
  size_t rows = 0;
  for (size_t at = html.find("data-measure="); at != std::string::npos; at = html.find("data-measure=", at + 1)) ++rows;
  size_t measures = 0;
  for (const auto& k : r.kpis) measures += k.measures.size();
  CHECK(rows == measures);
  for (const auto& n : r.not_computed) CHECK(html.find("<tr data-kpi=\"" + n.id + "\">") != std::string::npos);
}

// ---- the generated caseload, and a second computation written here ----

namespace independent {

// Seconds since the epoch of "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.fff]Z", by timegm.
std::optional<int64_t> seconds(const json& v) {
  if (!v.is_string()) return std::nullopt;
  std::string s = v.get<std::string>();
  std::tm tm{};
  int matched = std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec);
  if (matched < 3) return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm));
}

std::string ymd(int64_t secs) {
  std::time_t t = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[16];
  std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
  return buf;
}

struct Calendar {
  std::set<std::string> holidays;
  bool working(int64_t secs) const {
    std::time_t t = static_cast<std::time_t>(secs);
    std::tm tm{};
    gmtime_r(&t, &tm);
    return tm.tm_wday >= 1 && tm.tm_wday <= 5 && !holidays.count(ymd(secs));
  }
  // Midnight of the n-th working day after the day holding `secs`.
  int64_t nth_after(int64_t secs, int n) const {
    int64_t day = secs - secs % 86400;
    while (n > 0) {
      day += 86400;
      if (working(day)) --n;
    }
    return day;
  }
};

bool in_q(const json& v) {
  return v.is_string() && v.get<std::string>() >= "2026-07-01" && v.get<std::string>() < "2026-10-01";
}

std::string str(const json& f, const char* k) { return f.contains(k) && f[k].is_string() ? f[k].get<std::string>() : ""; }

struct Figures {
  std::map<std::string, int64_t> counts;
  std::map<std::string, std::pair<int64_t, int64_t>> rates;
  std::map<std::string, int64_t> k06_age;
};

Figures compute(const test::KpiDataset& ds, const Calendar& cal) {
  std::map<std::string, std::vector<json>> by_type;
  for (const auto& r : ds.records) {
    json j = json::parse(r.json);
    by_type[j["type"].get<std::string>()].push_back(j);
  }
  std::map<std::string, std::string> merged;
  std::map<std::string, json> people;
  for (const auto& p : by_type["Person"]) {
    people[p["id"]] = p["fields"];
    if (p["fields"].contains("merged_into")) merged[p["id"]] = p["fields"]["merged_into"];
  }
  auto who = [&](std::string id) {
    while (merged.count(id)) id = merged[id];
    return id;
  };
  std::set<std::string> dup;
  std::map<std::string, json> episodes;
  for (const auto& e : by_type["EarlyHelpEpisode"]) {
    if (str(e["fields"], "closure_reason") == "OPENED_IN_ERROR_OR_DUPLICATE") dup.insert(e["id"]);
    else episodes[e["id"]] = e;
  }
  auto done = [](const json& f) {
    std::string s = str(f, "status");
    return s == "COMPLETED" || s == "FAMILY_SIGNED" || s == "AUTHORISED";
  };
  Figures out;
  auto& c = out.counts;
  auto& r = out.rates;

  // K-01, K-02 (schools), K-03 (parenting), K-15 (a, b), K-16.
  std::set<std::string> eha_families, eha_children;
  std::map<std::string, std::vector<int64_t>> taf_held;
  for (const auto& m : by_type["TafMeeting"])
    if (auto h = seconds(m["fields"]["held_at"])) taf_held[str(m["fields"], "episode")].push_back(*h);
  std::map<std::string, std::set<std::string>> voiced;
  for (const auto& v : by_type["ChildVoice"]) {
    json f = v["fields"];  // a copy: f["absent"] reads null instead of asserting
    if (!str(f, "method").empty() && (!str(f, "views_wishes_feelings").empty() || !str(f, "not_obtained_reason").empty()))
      voiced[str(f, "assessment")].insert(who(str(f, "child")));
  }
  for (const auto& a : by_type["Assessment"]) {
    json f = a["fields"];  // a copy: f["absent"] reads null instead of asserting
    if (str(f, "assessment_type") != "EHA_FAMILY" || !done(f) || !in_q(f["completed_at"]) || dup.count(str(f, "episode"))) continue;
    ++c["K-01/assessments"];
    eha_families.insert(a["family"]);
    const json& ep = episodes.at(str(f, "episode"))["fields"];
    for (const auto& ch : ep["subject_children"]) eha_children.insert(who(ch));
    if (ds.agency_of_practitioner.at(str(f, "author")) == "SCHOOL") ++r["K-01/k02_school"].first;
    ++r["K-01/k02_school"].second;
    bool parenting = false;
    for (const auto& n : f["presenting_needs"]) parenting = parenting || n == "PARENTING_SUPPORT";
    r["K-01/k03_parenting"].first += parenting;
    ++r["K-01/k03_parenting"].second;
    const int64_t completed = *seconds(f["completed_at"]);
    const int64_t completed_day = completed - completed % 86400;
    ++r["K-15/eha_10_working_days"].second;
    if (completed_day <= cal.nth_after(*seconds(ep["start_date"]), 10)) ++r["K-15/eha_10_working_days"].first;
    ++r["K-15/taf_15_working_days"].second;
    for (int64_t h : taf_held[str(f, "episode")])
      if (h - h % 86400 >= completed_day && h - h % 86400 <= cal.nth_after(completed, 15)) {
        ++r["K-15/taf_15_working_days"].first;
        break;
      }
    ++r["K-16/ehas_every_child_heard"].second;
    bool all = true;
    for (const auto& ch : ep["subject_children"]) all = all && voiced[a["id"]].count(who(ch));
    r["K-16/ehas_every_child_heard"].first += all;
  }
  c["K-01/families"] = static_cast<int64_t>(eha_families.size());
  c["K-01/children"] = static_cast<int64_t>(eha_children.size());

  // K-04, K-05, K-08.
  for (const auto& ref : by_type["Referral"]) {
    json f = ref["fields"];  // a copy: f["absent"] reads null instead of asserting
    const std::string channel = str(f, "channel");
    if ((channel == "MASH_FRONT_DOOR" || channel == "EARLY_HELP_HUB") && f.contains("referrer") && in_q(f["received_at"]) &&
        !dup.count(str(f, "episode"))) {
      ++r["K-04/within_24h"].second;
      auto notified = seconds(f["referrer_notified_at"]);
      if (notified && *notified - *seconds(f["received_at"]) <= 24 * 3600) ++r["K-04/within_24h"].first;
      if (!notified || ymd(*notified) >= "2026-10-01") ++c["K-04/not_informed_at_period_end"];
    }
    if (f.contains("decision") && in_q(f["decided_at"]) && !dup.count(str(f, "episode"))) {
      ++c["K-05/decided"];
      std::string d = str(f, "decision");
      ++r["K-05/allocated_share"].second;
      r["K-05/allocated_share"].first += d == "ALLOCATE_TARGETED_EH_SERVICE" || d == "EH_CONSULTATION_TAF";
      c["K-05/signposted"] += d == "SIGNPOST_IAG";
      c["K-05/no_further_action"] += d == "NO_FURTHER_ACTION";
      std::string offer = str(f, "offer_outcome");
      if (offer == "ACCEPTED" || offer == "DECLINED" || offer == "NO_RESPONSE") ++r["K-08/accepted"].second;
      r["K-08/accepted"].first += offer == "ACCEPTED";
    }
  }

  // K-06 (with the age band of each child at the later of the start and 2026-07-01), K-07, K-12.
  std::set<std::string> families, children;
  std::map<std::string, std::pair<std::string, std::string>> band_of;  // child -> (earliest date, band)
  for (const auto& [id, e] : episodes) {
    json f = e["fields"];  // a copy: f["absent"] reads null instead of asserting
    const std::string start = str(f, "start_date"), closed = str(f, "closed_at");
    if (!(start < "2026-10-01" && (closed.empty() || closed >= "2026-07-01"))) continue;
    ++c["K-06/episodes"];
    families.insert(e["family"]);
    if (in_q(f["start_date"])) ++c["K-06/new_episodes"];
    const std::string at = std::max(start, std::string("2026-07-01"));
    for (const auto& ch : f["subject_children"]) {
      std::string child = who(ch);
      children.insert(child);
      const json& p = people.at(child);
      std::string band;
      if (str(p, "person_status") == "UNBORN") {
        band = "0-4";
      } else {
        const std::string dob = str(p, "date_of_birth");
        int years = std::stoi(at.substr(0, 4)) - std::stoi(dob.substr(0, 4)) - (at.substr(5) < dob.substr(5) ? 1 : 0);
        band = years <= 4 ? "0-4" : years <= 6 ? "5-6" : years <= 11 ? "7-11" : years <= 15 ? "12-15" : years <= 19 ? "16-19" : "20-25";
      }
      auto [it, fresh] = band_of.try_emplace(child, at, band);
      if (!fresh && std::make_pair(at, band) < it->second) it->second = {at, band};  // the child's earliest event
    }
  }
  c["K-06/families"] = static_cast<int64_t>(families.size());
  c["K-06/children"] = static_cast<int64_t>(children.size());
  for (const auto& [child, first] : band_of) ++out.k06_age[first.second];

  for (const auto& [id, e] : episodes) {
    json f = e["fields"];  // a copy: f["absent"] reads null instead of asserting
    if (!in_q(f["start_date"])) continue;
    ++r["K-07/share_consent_within_28_days"].second;
    const int64_t start = *seconds(f["start_date"]);
    for (const auto& k : by_type["ConsentRecord"]) {
      const json& cf = k["fields"];
      if (k["family"] != e["family"]) continue;
      bool share = false;
      for (const auto& p : cf["purposes"]) share = share || p == "SHARE_WITH_TAF";
      if (!share || str(cf, "status") == "REQUESTED" || str(cf, "status") == "REFUSED") continue;
      const int64_t given = *seconds(cf["given_at"]);
      const int64_t days = (given - given % 86400 - start) / 86400;
      const bool ok = str(cf, "episode") == id ? days <= 28 : str(cf, "episode").empty() && days >= -28 && days <= 28;
      if (ok) {
        ++r["K-07/share_consent_within_28_days"].first;
        break;
      }
    }
    std::set<std::string> seen;
    for (const auto& ch : f["subject_children"]) {
      const std::string child = who(ch);
      if (!seen.insert(child).second) continue;
      ++r["K-12/rereferral"].second;
      for (const auto& [other_id, other] : episodes) {
        const json& of = other["fields"];
        if (other_id == id || str(of, "status") != "CLOSED" || !of.contains("closed_at")) continue;
        bool has = false;
        for (const auto& oc : of["subject_children"]) has = has || who(oc) == child;
        const int64_t gap = (start - *seconds(of["closed_at"])) / 86400;
        if (has && gap >= 0 && gap <= 365) {
          ++r["K-12/rereferral"].first;
          break;
        }
      }
    }
  }

  // K-10 (collaborative series only) and K-11 (c): episodes closed in the quarter.
  std::map<std::string, std::vector<json>> readings;
  for (const auto& m : by_type["OutcomeMeasurement"]) readings[str(m["fields"], "episode")].push_back(m);
  for (const auto& [id, e] : episodes) {
    json f = e["fields"];  // a copy: f["absent"] reads null instead of asserting
    if (str(f, "status") != "CLOSED" || !in_q(f["closed_at"])) continue;
    ++r["K-10/coverage"].second;
    ++r["K-11/conversion"].second;
    r["K-11/conversion"].first += str(f, "closure_reason") == "STEPPED_UP_TO_CSC";
    // The generator writes one family series per episode: two readings at most.
    auto rs = readings[id];
    std::erase_if(rs, [&](const json& m) { return str(m["fields"], "completed_on") > str(f, "closed_at"); });
    if (rs.size() < 2) continue;
    std::sort(rs.begin(), rs.end(), [](const json& a, const json& b) {
      return std::make_pair(str(a["fields"], "completed_on"), a["id"].get<std::string>()) <
             std::make_pair(str(b["fields"], "completed_on"), b["id"].get<std::string>());
    });
    const json& first = rs.front()["fields"];
    const json& last = rs.back()["fields"];
    if (str(first, "reading_type") != "BASELINE") continue;
    if (str(first, "completion_mode") == "WORKER_ONLY" || str(last, "completion_mode") == "WORKER_ONLY") continue;
    ++r["K-10/coverage"].first;
    ++r["K-10/improved"].second;
    std::map<std::string, int> base;
    for (const auto& s : first["scores"]) {
      std::string t = s;
      base[t.substr(0, t.find('='))] = std::stoi(t.substr(t.find('=') + 1));
    }
    int delta = 0;
    for (const auto& s : last["scores"]) {
      std::string t = s;
      auto b = base.find(t.substr(0, t.find('=')));
      if (b != base.end()) delta += std::stoi(t.substr(t.find('=') + 1)) - b->second;
    }
    r["K-10/improved"].first += delta >= 1;
  }

  // K-11 (a).
  std::set<std::string> stepped;
  for (const auto& s : by_type["StepUpRequest"]) {
    json f = s["fields"];  // a copy: f["absent"] reads null instead of asserting
    if (!in_q(f["submitted_at"]) || dup.count(str(f, "episode"))) continue;
    ++c["K-11/requests"];
    for (const auto& ch : f["children"]) stepped.insert(who(ch));
  }
  c["K-11/children"] = static_cast<int64_t>(stepped.size());

  // K-14 handover within 10 working days.
  std::map<std::string, int64_t> held;
  for (const auto& m : by_type["TafMeeting"])
    if (auto h = seconds(m["fields"]["held_at"])) held[m["id"]] = *h;
  for (const auto& s : by_type["StepDownReceipt"]) {
    json f = s["fields"];  // a copy: f["absent"] reads null instead of asserting
    if (!in_q(f["received_at"])) continue;
    ++r["K-14/handover_10_working_days"].second;
    auto h = held.find(str(f, "handover_meeting"));
    if (h != held.end() && h->second - h->second % 86400 <= cal.nth_after(*seconds(f["received_at"]), 10))
      ++r["K-14/handover_10_working_days"].first;
  }

  // K-21: overrides countersigned by the same time on the next working day.
  for (const auto& d : by_type["InformationSharingDecision"]) {
    json f = d["fields"];  // a copy: f["absent"] reads null instead of asserting
    if (!in_q(f["decided_at"]) || str(f, "with_consent") == "YES") continue;
    ++r["K-21/countersigned_1_working_day"].second;
    const int64_t decided = *seconds(f["decided_at"]);
    auto signed_at = seconds(f["countersigned_at"]);
    if (signed_at && *signed_at <= cal.nth_after(decided, 1) + decided % 86400) ++r["K-21/countersigned_1_working_day"].first;
  }
  return out;
}

}  // namespace independent

TEST_CASE("Report: a generated caseload's quarter agrees to the unit with its construction and an independent computation", "[property][report]") {
  for (uint64_t seed : {7u, 11u, 2026u}) {
    test::KpiDatasetSpec spec;
    spec.families = 400;
    spec.seed = seed;
    auto ds = test::make_kpi_dataset(spec);
    KpiInputBuilder b;
    for (const auto& rec : ds.records) must(b.add(rec.json));
    KpiInput input = b.take();
    input.agency_of_practitioner = ds.agency_of_practitioner;
    for (const auto& [pc, code] : ds.lsoa_table) input.lsoa_of_postcode[normalise_postcode(pc)] = code;
    const std::string holidays = "2026-08-31,2026-12-25";
    KpiReport r = compute_report(input, q3(), config_with_holidays(holidays));
    INFO("seed " << seed);

    // What the generator counted as it wrote the records.
    const auto& ex = ds.expected;
    CHECK(count_of(r, "K-01", "assessments") == ex.ehas_completed);
    CHECK(count_of(r, "K-01", "families") == static_cast<int64_t>(ex.eha_families.size()));
    CHECK(count_of(r, "K-05", "decided") == ex.referrals_decided);
    CHECK(count_of(r, "K-06", "families") == static_cast<int64_t>(ex.families_supported.size()));
    CHECK(count_of(r, "K-06", "new_episodes") == ex.episodes_started);
    CHECK(count_of(r, "K-11", "requests") == ex.step_ups);
    CHECK(r.excluded_duplicate_episodes == ex.duplicate_episodes);
    CHECK(r.merged_persons == ex.merged_persons);
    CHECK(ex.ehas_completed >= 5);  // the dataset exercises the quarter
    CHECK(ex.duplicate_episodes >= 1);
    CHECK(ex.merged_persons >= 1);

    // The second computation.
    independent::Calendar cal{{"2026-08-31", "2026-12-25"}};
    auto fig = independent::compute(ds, cal);
    for (const auto& [name, n] : fig.counts) {
      INFO(name);
      auto slash = name.find('/');
      CHECK(count_of(r, name.substr(0, slash), name.substr(slash + 1)) == n);
    }
    for (const auto& [name, nd] : fig.rates) {
      INFO(name);
      auto slash = name.find('/');
      CHECK(rate_of(r, name.substr(0, slash), name.substr(slash + 1)) == nd);
    }
    const KpiResult* k06 = r.kpi("K-06");
    REQUIRE(k06);
    std::map<std::string, int64_t> age;
    for (const auto& br : k06->breakdowns)
      if (br.dimension == "age_band")
        for (const auto& [cat, n] : br.cells) age[cat] = n;
    CHECK(age == fig.k06_age);
    CHECK(fig.rates.size() >= 15);
  }
}

TEST_CASE("Report: hearth-server report prints the quarter's table and writes JSON and the HTML page and is audited", "[e2e][report]") {
  test::TempDir tmp;
  const std::string data = tmp.file("data");
  auto hs = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data});
    return test::run_process(test::build_binary("server/hearth-server"), args);
  };
  REQUIRE(hs({"init"}).code == 0);
  test::KpiDatasetSpec spec;
  spec.families = 150;
  auto ds = test::make_kpi_dataset(spec);
  for (const auto& [org, type] : ds.org_type) REQUIRE(hs({"add-org", "--id", org, "--name", org, "--type", type}).code == 0);
  for (const auto& [p, org] : ds.organisation_of)
    REQUIRE(hs({"add-practitioner", "--id", p, "--org", org, "--name", p, "--role", "PRACTITIONER"}).code == 0);
  REQUIRE(hs({"config", "set", "closed_dates", "2026-08-31"}).code == 0);
  {
    // The records as the server keeps them, sealed under the data directory's own keys.
    namespace fs = std::filesystem;
    auto ring = must(server::SqlKeyring::open((fs::path(data) / "keyring" / "keyring.db").string(),
                                                 must(server::keys::FileKek::load(fs::path(data) / "keys" / "kek.key"))));
    auto store = must(server::open_sqlite_storage((fs::path(data) / "hearth-server.db").string(),
                                                  must(server::audit::AuditKey::load(fs::path(data) / "keys" / "audit.key")),
                                                  std::shared_ptr<server::ServerKeys>(std::move(ring))));
    must(store->transaction([&]() -> Result<void> {
      int64_t revision = 0;
      for (const auto& rec : ds.records) {
        server::StoredRecord r;
        r.id = rec.id;
        r.type = rec.type;
        r.family = rec.family;
        r.revision = ++revision;
        r.updated_at = 1790000000000;
        r.occurred = "2026-06-01";
        r.json = rec.json;
        if (auto put = store->records().put(r); !put) return put;
      }
      return store->records().mark_built();
    }));
  }
  // What the report must say, computed in process from the same records.
  KpiInputBuilder b;
  for (const auto& rec : ds.records) must(b.add(rec.json));
  KpiInput input = b.take();
  input.agency_of_practitioner = ds.agency_of_practitioner;
  KpiReport expected = compute_report(input, q3(), config_with_holidays("2026-08-31"));

  auto text = hs({"report", "--period", "2026-Q3", "--html", tmp.file("kpi.html")});
  INFO(text.err);
  REQUIRE(text.code == 0);
  std::ofstream(test::build_binary("Testing/report-cli.txt")) << text.out;  // kept with the test output
  CHECK(text.out.find("Hearth KPI report 2026-Q3 [2026-07-01, 2026-10-01)") != std::string::npos);
  const Measure* ehas = expected.measure("K-01", "assessments");
  REQUIRE(ehas);
  CHECK(ehas->n >= 5);
  CHECK(text.out.find("EHAs (EHA_FAMILY) completed") != std::string::npos);
  CHECK(text.out.find(shown(*ehas, true) + "\n") != std::string::npos);
  CHECK(text.out.find("HTML report: " + tmp.file("kpi.html")) != std::string::npos);
  std::ifstream page(tmp.file("kpi.html"));
  std::string first;
  std::getline(page, first);
  CHECK(first == "<!DOCTYPE html>");

  auto js = hs({"report", "--period", "2026-Q3", "--format", "json", "--out", tmp.file("kpi.json")});
  REQUIRE(js.code == 0);
  std::ifstream jf(tmp.file("kpi.json"));
  json got = json::parse(jf);
  json want = json::parse(render_json(expected, {}));
  CHECK(got["kpis"] == want["kpis"]);
  CHECK(got["trends"] == want["trends"]);
  CHECK(got["period"]["from"] == "2026-07-01");

  // The council's LSOA table, given on the command line.
  std::ofstream(tmp.file("lsoa.csv")) << "pcds,lsoa21cd\n";
  {
    std::ofstream csv(tmp.file("lsoa.csv"), std::ios::app);
    for (const auto& [pc, code] : ds.lsoa_table) csv << pc << "," << code << "\n";
  }
  auto with_lsoa = hs({"report", "--period", "2026-Q3", "--format", "csv", "--lsoa-table", tmp.file("lsoa.csv")});
  REQUIRE(with_lsoa.code == 0);
  CHECK(with_lsoa.out.find("breakdown,K-06,lsoa,E01001") != std::string::npos);

  auto current = hs({"report", "--period", "current"});
  CHECK(current.code == 0);
  CHECK(current.out.rfind("Hearth KPI report 2", 0) == 0);
  CHECK(hs({"report", "--period", "2026-Q3", "--from", "2026-07-01", "--to", "2026-08-01"}).code == 1);
  auto bad = hs({"report", "--period", "2026-Q9"});
  CHECK(bad.code == 1);
  CHECK(bad.err.find("YYYY-Qn") != std::string::npos);
  CHECK(hs({"report", "--period", "2026-Q3", "--format", "pdf"}).code == 1);
  CHECK(hs({"report"}).code == 1);
  auto missing = hs({"report", "--period", "2026-Q3", "--lsoa-table", tmp.file("none.csv")});
  CHECK(missing.code == 1);
  CHECK(missing.err.find("none.csv") != std::string::npos);

  // Each run is in the audit trail, saying whether small numbers were suppressed.
  auto exact = hs({"report", "--period", "2026-Q3", "--no-suppress"});
  REQUIRE(exact.code == 0);
  CHECK(exact.out.find("NOT SUPPRESSED") != std::string::npos);
  auto trail = hs({"audit", "--practitioner", "admin"});
  INFO(trail.out);
  CHECK(trail.out.find("period 2026-Q3, format text and html, small numbers suppressed") != std::string::npos);
  CHECK(trail.out.find("NOT SUPPRESSED") != std::string::npos);
}

TEST_CASE("Report: a record that is not JSON is a clear error and values of the wrong kind are left out", "[unit][report][fault]") {
  KpiInputBuilder b;
  auto bad = b.add("{not json");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().code == ErrorCode::corrupt);
  CHECK_FALSE(b.add(R"({"id":"x","type":"Person"})").ok());  // no fields object: named
  // Wrong kinds are read as unset, never thrown on.
  must(b.add(R"({"id":5,"type":"Assessment","family":["f"],"deleted":"yes","fields":{"assessment_type":"EHA_FAMILY",
               "status":"COMPLETED","completed_at":"not a time","presenting_needs":"PARENTING_SUPPORT"}})"));
  must(b.add(R"({"id":"m1","type":"OutcomeMeasurement","family":"f","fields":{"episode":"e","scores":["WELLBEING=4","=3","X=ten","Y=12345"]}})"));
  KpiInput in = b.take();
  REQUIRE(in.assessments.size() == 1);
  CHECK_FALSE(in.assessments[0].completed_ms.has_value());
  CHECK(in.assessments[0].needs.empty());
  REQUIRE(in.measurements.size() == 1);
  CHECK(in.measurements[0].scores == std::vector<std::pair<std::string, int64_t>>{{"WELLBEING", 4}});
  CHECK(in.unreadable_values == 4);  // the time and three scores
  KpiReport r = compute_report(in, q3(), TenantConfig{});
  REQUIRE(r.notes.size() == 1);
  CHECK(r.notes[0].find("4 recorded values could not be read") != std::string::npos);
}
