// S5 end to end (DOMAIN.md §13 S5, §8.3 C-20, G1): a health visitor and a children's-centre
// worker each register the same newborn offline; both sync to a real hearth-server over TLS; a
// review item appears and nothing is merged automatically; a manager merges; after the next
// syncs both tablets' references point at the kept person and the merged-away record carries
// its marker.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "hearth/core/duplicates.hpp"
#include "../support/process.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

FieldValues newborn(const std::string& family_name) {
  return {{"given_names", "Amelia"}, {"family_name", family_name}, {"person_status", "LIVING"},
          {"date_of_birth", "2026-11-20"}, {"sex", "FEMALE"}};
}

FieldValues member(const std::string& person, const std::string& role = "CHILD_SUBJECT") {
  return {{"person", person}, {"member_role", role}, {"lives_in_household", true}};
}

nlohmann::json fields_of(Tablet& t, const std::string& id) {
  return nlohmann::json::parse(must(t.store->get(id)).json)["fields"];
}

ProcessResult server_cli(ServerProcess& s, std::vector<std::string> args) {
  args.insert(args.begin(), {"--data", s.data()});
  return run_process(build_binary("server/hearth-server"), std::move(args));
}

}  // namespace

TEST_CASE("S5: the same newborn registered offline on two tablets is proposed for review, merged by a manager, "
          "and every reference re-points on both tablets",
          "[e2e]") {
  ServerProcess server;
  server.admin({"add-practitioner", "--id", "cc-1", "--org", "org-hv", "--name", "Children's centre worker", "--role",
                "PRACTITIONER"});
  server.admin({"add-practitioner", "--id", "mgr-1", "--org", "org-hv", "--name", "Team manager", "--role",
                "TEAM_MANAGER"});
  Tablet hv(server, "hv-1");
  Tablet cc(server, "cc-1");

  // Offline, each opens a family for the mother and registers the baby (one mistypes the family
  // name); the children's centre worker saves her visit twice.
  std::string fam_hv = must(hv.store->create_family(family_fields("Family O (health visiting)")));
  std::string mum = must(hv.store->create(fam_hv, "Person", person_fields("Grace", "1995-04-02")));
  std::string by_hv = must(hv.store->create(fam_hv, "Person", newborn("Okafor")));
  std::string hv_member = must(hv.store->create(fam_hv, "FamilyMembership", member(by_hv)));
  std::string hv_rel = must(hv.store->create(fam_hv, "Relationship", {{"person_a", mum}, {"person_b", by_hv},
                                                                      {"type", "MOTHER"}, {"parental_responsibility", "YES"}}));
  std::string fam_cc = must(cc.store->create_family(family_fields("Family O (children's centre)")));
  std::string by_cc = must(cc.store->create(fam_cc, "Person", newborn("Okafur")));
  std::string cc_member = must(cc.store->create(fam_cc, "FamilyMembership", member(by_cc)));
  FieldValues visit = contact_fields("2026-11-30T10:00:00Z", "Baby weighed at the centre", "cc-1");
  visit["contact_type"] = "COMMUNITY_VENUE";
  visit["persons_present"] = StringList{by_cc};
  std::string cc_visit = must(cc.store->create(fam_cc, "Contact", visit));
  visit["occurred_at"] = "2026-11-30T10:02:00Z";
  std::string cc_visit_again = must(cc.store->create(fam_cc, "Contact", visit));
  FieldValues ep = episode_fields({by_cc});
  ep["allocated_org"] = "org-hv";
  ep["lead_professional"] = "cc-1";
  std::string cc_episode = must(cc.store->create(fam_cc, "EarlyHelpEpisode", ep));

  // The tablet finds the visit saved twice itself (C-1), with the same rule as the server.
  auto on_tablet = must(cc.store->probable_duplicates(fam_cc));
  REQUIRE(on_tablet.size() == 1);
  CHECK(on_tablet[0].key() == "Contact:" + std::min(cc_visit, cc_visit_again) + "|" + std::max(cc_visit, cc_visit_again));
  cc.store.reset();
  auto cli = run_process(build_binary("client/hearth"), {"duplicates", fam_cc, "--store", cc.path()}, ".",
                         {{"HEARTH_PIN", "2468"}});
  cc.open();
  INFO(cli.err);
  CHECK(cli.code == 0);
  CHECK_THAT(cli.out, Contains(cc_visit) && Contains("same practitioner"));

  hv.sync();
  cc.sync();
  server.admin({"allocate", "--family", fam_hv, "--practitioner", "mgr-1"});
  server.admin({"allocate", "--family", fam_cc, "--practitioner", "mgr-1"});

  // A review item at the office, across the two families, and a task for the manager in each.
  std::string listed = server.admin({"duplicates"});
  CHECK_THAT(listed, Contains("OPEN") && Contains(by_hv) && Contains(by_cc) && Contains("date of birth"));
  CHECK_THAT(listed, Contains(cc_visit_again));  // the double-saved visit too (C-1)
  for (const auto& f : {fam_hv, fam_cc})
    CHECK_THAT(server.admin({"tasks", "--family", f}), Contains("OPEN  DUPLICATE_REVIEW") && Contains("for mgr-1"));
  hv.sync();
  cc.sync();
  // Nothing merged automatically: both babies stand, unmarked.
  CHECK_FALSE(fields_of(hv, by_hv).contains("merged_into"));
  CHECK_FALSE(fields_of(cc, by_cc).contains("merged_into"));

  // Bad merges are refused with the reason: not a manager, into itself, an unknown person.
  auto not_manager = server_cli(server, {"merge-person", "--keep", by_hv, "--merge", by_cc, "--by", "hv-1", "--reason", "x"});
  CHECK(not_manager.code == 1);
  CHECK_THAT(not_manager.err, Contains("not a TEAM_MANAGER"));
  auto itself = server_cli(server, {"merge-person", "--keep", by_hv, "--merge", by_hv, "--by", "mgr-1", "--reason", "x"});
  CHECK(itself.code == 1);
  CHECK_THAT(itself.err, Contains("itself"));
  auto unknown = server_cli(server, {"merge-person", "--keep", by_hv, "--merge", "no-such-person", "--by", "mgr-1",
                                     "--reason", "x"});
  CHECK(unknown.code == 3);
  CHECK_THAT(unknown.err, Contains("no-such-person"));

  // The manager merges the children's centre's record into the health visitor's.
  std::string merged = server.admin({"merge-person", "--keep", by_hv, "--merge", by_cc, "--by", "mgr-1", "--reason",
                                     "same baby registered at the clinic and at the centre"});
  CHECK_THAT(merged, Contains("merged person " + by_cc + " into " + by_hv) && Contains("in 2 families"));
  CHECK_THAT(merged, Contains("Contact " + cc_visit + ".persons_present"));  // a visit note keeps what it recorded
  hv.sync();
  cc.sync();

  // Both tablets' references name the kept person; the merged-away record is kept, marked.
  auto away = fields_of(cc, by_cc);
  CHECK(away.value(duplicates::kMergedIntoField, "") == by_hv);
  CHECK(away.value("given_names", "") == "Amelia");
  CHECK(fields_of(cc, cc_member).value("person", "") == by_hv);
  CHECK(fields_of(cc, cc_episode)["subject_children"] == nlohmann::json::array({by_hv}));
  CHECK(fields_of(hv, hv_member).value("person", "") == by_hv);
  CHECK(fields_of(hv, hv_rel).value("person_b", "") == by_hv);
  CHECK_FALSE(fields_of(hv, by_hv).contains("merged_into"));
  std::string all = server.admin({"duplicates", "--all"});
  CHECK_THAT(all, Contains("MERGED by mgr-1"));
  CHECK_THAT(server.admin({"duplicates", "--family", fam_hv}), Contains("no open probable duplicates"));
  for (const auto& f : {fam_hv, fam_cc})
    CHECK_THAT(server.admin({"tasks", "--family", f}), Contains("DONE  DUPLICATE_REVIEW"));
}
