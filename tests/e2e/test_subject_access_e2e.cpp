// S4 end to end (DOMAIN.md §13 S4, §10.2): a competent 15-year-old asks for her records. A real
// hearth-server over TLS on 127.0.0.1, two real tablets (the lead's and the school's), and
// `hearth-server sar` run as the IG officer would: once to log the request (the school's tablet
// still holds an unsynced visit, so the export is marked incomplete and names the devices), then
// again after both tablets synced.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "family_g.hpp"
#include "tablet.hpp"
#include "../support/process.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

ProcessResult sar_run(ServerProcess& server, std::vector<std::string> args) {
  args.insert(args.begin(), {"--data", server.data(), "sar"});
  return run_process(build_binary("server/hearth-server"), args);
}

// The path after "written " ending in `ext` in the command's answer.
std::string written(const std::string& out, const std::string& ext) {
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.rfind("written ", 0) == 0 && line.size() > ext.size() && line.compare(line.size() - ext.size(), ext.size(), ext) == 0)
      return line.substr(8);
  return "";
}

json read_json(const std::string& path) {
  std::ifstream in(path);
  return json::parse(in);
}

const json* record_in(const json& doc, const std::string& id) {
  for (const auto& r : doc["records"])
    if (r["id"] == id) return &r;
  return nullptr;
}

bool has_entry(const json& list, const std::string& record, const std::string& field, const std::string& code) {
  for (const auto& e : list)
    if (e["record"] == record && e["field"] == field && e["code"] == code) return true;
  return false;
}

}  // namespace

TEST_CASE("S4: a competent 15-year-old's subject access request from every device redacted and flagged",
          "[e2e][security]") {
  ServerProcess server;
  server.admin({"add-org", "--id", "org-school", "--name", "Hillside School", "--type", "SCHOOL"});
  server.admin({"add-practitioner", "--id", "yw-2", "--org", "org-ys", "--name", "Youth worker", "--role", "PRACTITIONER"});
  server.admin({"add-practitioner", "--id", "dsl-1", "--org", "org-school", "--name", "School DSL", "--role", "PRACTITIONER"});
  server.admin({"add-practitioner", "--id", "ig-1", "--org", "org-ys", "--name", "IG officer", "--role", "IG_OFFICER"});

  // The lead's tablet: the S2 family (father P, daughter D, 15), named, and what S4 is about.
  Tablet lead(server, "yw-2");
  auto& st = *lead.store;
  auto g = family_g::create(st, "Family G", "07700 900123", {"org-school", "org-ys"});
  must(st.update(g.p, "given_names", Value(std::string("Paul"))));
  must(st.update(g.d, "given_names", Value(std::string("Daisy"))));
  FieldValues referral = {{"received_at", "2026-09-01T09:00:00Z"}, {"channel", "MASH_FRONT_DOOR"},
                          {"referral_source_code", "1A"}, {"subject_persons", StringList{g.d}},
                          {"presenting_needs", StringList{"PARENTING_SUPPORT"}},
                          {"reason_text", "Daisy often misses school. Paul drinks heavily at weekends."},
                          {"significant_harm_suspected", true}, {"referrer", "dsl-1"},
                          {"referrer_details", "MRKinformantQZX, next-door neighbour"}};
  std::string ref = must(st.create(g.family, "Referral", referral));
  FieldValues concern = family_g::visit(g.d, "Daisy was upset. Paul refused to leave the room.");
  concern["persons_present"] = StringList{g.d, g.p};
  concern["concern_raised"] = true;
  std::string visit = must(st.create(g.family, "Contact", concern));
  std::string as = must(st.create(g.family, "Assessment", assessment_fields(g.ep)));
  std::string voice = must(st.create(g.family, "ChildVoice",
                                     {{"assessment", as}, {"child", g.d}, {"method", "DIRECT_CONVERSATION"},
                                      {"date", "2026-11-18"},
                                      {"views_wishes_feelings", "MRKccQZX I do not want my dad to know I see a counsellor."},
                                      {"child_confidential", true}},
                                     client::voice_id(as, g.d)));
  std::string about_dad = must(st.create(g.family, "Contact", family_g::visit(g.p, "MRKdadonlyQZX his job search")));
  lead.sync();
  server.admin({"allocate", "--family", g.family, "--practitioner", "dsl-1", "--scope", "FULL_EPISODE"});
  Tablet school(server, "dsl-1");
  school.sync();
  // The school records a visit and has not synced it when the request is logged.
  FieldValues school_visit = family_g::visit(g.d, "Daisy met the school mentor. MRKschoolQZX");
  school_visit["practitioner"] = "dsl-1";
  std::string from_school = must(school.store->create(g.family, "Contact", school_visit));

  fs::path out_dir = fs::path(server.data()).parent_path() / "sar-out";
  std::vector<std::string> args = {"--person", g.d, "--requester-type", "SELF", "--received", "2026-11-30",
                                   "--out", out_dir.string(), "--by", "ig-1"};
  auto first = sar_run(server, args);
  INFO(first.out << first.err);
  REQUIRE(first.code == 0);
  CHECK_THAT(first.out, Contains("subject access request logged") && Contains("INCOMPLETE") &&
                            Contains(school.store->device_id()) && Contains(lead.store->device_id()));
  json incomplete = read_json(written(first.out, ".json"));
  CHECK(incomplete["complete"] == false);
  CHECK(incomplete["status"] == "INCOMPLETE");
  CHECK_FALSE(record_in(incomplete, from_school));  // still only on the school's tablet

  school.sync();
  lead.sync();
  auto second = sar_run(server, args);
  INFO(second.out << second.err);
  REQUIRE(second.code == 0);
  CHECK_THAT(second.out, Contains("sync complete") && Contains("due 2026-12-30") && Contains("2027-02-28"));
  const std::string json_file = written(second.out, ".json"), html_file = written(second.out, ".html");
  REQUIRE_FALSE(json_file.empty());
  REQUIRE_FALSE(html_file.empty());
  for (const auto& f : {json_file, html_file})
    CHECK((fs::status(f).permissions() & fs::perms::all) == (fs::perms::owner_read | fs::perms::owner_write));
  json doc = read_json(json_file);
  CHECK(doc["complete"] == true);
  CHECK(doc["person"] == g.d);
  CHECK(doc["due"] == "2026-12-30");
  CHECK(doc["extended_due"] == "2027-02-28");
  CHECK(doc["sync"]["devices"].size() == 2);

  // Every device's records: the school's visit is in.
  REQUIRE(record_in(doc, from_school));
  CHECK_THAT((*record_in(doc, from_school))["fields"]["narrative"].get<std::string>(), Contains("MRKschoolQZX"));
  CHECK(record_in(doc, g.d));
  CHECK(record_in(doc, g.family));
  // Her father's records are not; the relationship is hers, without his id.
  CHECK_FALSE(record_in(doc, g.p));
  CHECK_FALSE(record_in(doc, about_dad));
  REQUIRE(record_in(doc, g.rel));
  CHECK_FALSE((*record_in(doc, g.rel))["fields"].contains("person_a"));
  CHECK(has_entry(doc["redactions"], g.rel, "person_a", "S2 P3 rights of others"));
  // The informant's identity.
  REQUIRE(record_in(doc, ref));
  CHECK_FALSE((*record_in(doc, ref))["fields"].contains("referrer"));
  CHECK_FALSE((*record_in(doc, ref))["fields"].contains("referrer_details"));
  CHECK(has_entry(doc["redactions"], ref, "referrer_details", "S2 P3 rights of others"));
  // Third-party passages about her father.
  std::string reason = (*record_in(doc, ref))["fields"]["reason_text"];
  CHECK_THAT(reason, Contains("Daisy often misses school.") && !Contains("Paul") && !Contains("drinks"));
  std::string narrative = (*record_in(doc, visit))["fields"]["narrative"];
  CHECK_THAT(narrative, Contains("Daisy was upset.") && !Contains("Paul"));
  CHECK((*record_in(doc, visit))["fields"]["persons_present"] == json::array({g.d}));
  // Nothing child-confidential withheld: it is her own.
  REQUIRE(record_in(doc, voice));
  CHECK_THAT((*record_in(doc, voice))["fields"]["views_wishes_feelings"].get<std::string>(), Contains("MRKccQZX"));
  // Social-work items flagged for the serious-harm test, not withheld.
  CHECK(has_entry(doc["harm_test_flags"], visit, "narrative", "S3 P3 Para 11 SC harm"));
  CHECK(has_entry(doc["harm_test_flags"], ref, "significant_harm_suspected", "S3 P3 Para 11 SC harm"));
  CHECK(doc["status"] == "AWAITING_HARM_DECISIONS");
  // Nothing of the father, the informant or his own records anywhere in either file.
  std::string html = [&] {
    std::ifstream in(html_file);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }();
  for (const std::string& text : {doc.dump(), html})
    CHECK_THAT(text, !Contains("MRKinformantQZX") && !Contains("MRKdadonlyQZX") && !Contains("Paul") && !Contains(g.p));
  CHECK_THAT(html, Contains("Sync complete") && Contains("2026-12-30") && Contains("S3 P3 Para 11 SC harm") &&
                       Contains("MRKccQZX"));

  // Her parent asking on her behalf does not receive her child-confidential view.
  auto parent = sar_run(server, {"--person", g.d, "--requester-type", "PARENT", "--received", "2026-11-30", "--out",
                                 (out_dir / "parent").string(), "--by", "ig-1"});
  REQUIRE(parent.code == 0);
  json for_parent = read_json(written(parent.out, ".json"));
  CHECK_FALSE((*record_in(for_parent, voice))["fields"].contains("views_wishes_feelings"));
  CHECK(has_entry(for_parent["redactions"], voice, "views_wishes_feelings", "CC child-confidential"));

  // Each SAR is in the family's audit: who, for whom, what was disclosed and withheld.
  std::string audit = server.admin({"audit", "--family", g.family});
  CHECK_THAT(audit, Contains("ig-1") && Contains("sar-logged") && Contains("subject access: person " + g.d) &&
                        Contains("requester PARENT") && Contains("records disclosed"));
  // An unknown person is a clear error.
  auto unknown = sar_run(server, {"--person", "no-such-person", "--out", out_dir.string()});
  CHECK(unknown.code == 3);
  CHECK_THAT(unknown.err, Contains("no Person record 'no-such-person'"));
  CHECK_THAT(server.admin({"verify-audit"}), Contains("audit trail intact"));
}
