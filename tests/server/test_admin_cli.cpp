// hearth-server's administration commands (fault 10, server part): roles and organisation
// types are the ones the domain defines (DOMAIN.md §3.1, §3.2), a duplicate id is a clear
// error, flags are listed, and both programs print the project version.
#include <catch2/catch.hpp>

#include <fstream>
#include <set>
#include <sstream>

#include "../support/process.hpp"
#include "../support/temp_dir.hpp"

using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

struct Admin {
  TempDir dir;
  ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", dir.file("data")});
    return run_process(build_binary("server/hearth-server"), args);
  }
};

}  // namespace

TEST_CASE("Admin: add-org and add-practitioner accept only the domain's values, duplicates are clear errors",
          "[fault]") {
  Admin a;
  REQUIRE(a.run({"init"}).code == 0);
  auto bad_type = a.run({"add-org", "--id", "org-1", "--name", "X", "--type", "CHARITY"});
  CHECK(bad_type.code != 0);
  CHECK_THAT(bad_type.err, Contains("--type 'CHARITY' is not defined") && Contains("HEALTH_VISITING"));
  REQUIRE(a.run({"add-org", "--id", "org-1", "--name", "X", "--type", "HEALTH_VISITING"}).code == 0);
  auto dup_org = a.run({"add-org", "--id", "org-1", "--name", "Y", "--type", "GP"});
  CHECK(dup_org.code != 0);
  CHECK_THAT(dup_org.err, Contains("organisation with id 'org-1' already exists"));
  CHECK_THAT(dup_org.err, !Contains("UNIQUE") && !Contains("constraint"));

  auto bad_role = a.run({"add-practitioner", "--id", "p-1", "--org", "org-1", "--name", "P", "--role", "BOSS"});
  CHECK(bad_role.code != 0);
  CHECK_THAT(bad_role.err, Contains("--role 'BOSS' is not defined") && Contains("TEAM_MANAGER"));
  REQUIRE(a.run({"add-practitioner", "--id", "p-1", "--org", "org-1", "--name", "P", "--role", "TEAM_MANAGER"}).code == 0);
  auto dup = a.run({"add-practitioner", "--id", "p-1", "--org", "org-1", "--name", "Q", "--role", "PRACTITIONER"});
  CHECK(dup.code != 0);
  CHECK_THAT(dup.err, Contains("practitioner with id 'p-1' already exists"));
  CHECK_THAT(dup.err, !Contains("UNIQUE") && !Contains("constraint"));

  CHECK_THAT(a.run({"flags"}).out, Contains("no flags"));
  auto off = a.run({"deallocate", "--family", "fam-1", "--practitioner", "p-1"});
  CHECK(off.code == 3);
  CHECK_THAT(off.err, Contains("not on the team of family 'fam-1'"));
  // Listings refuse a name nobody has, rather than printing an empty list.
  auto ghost = a.run({"tasks", "--assignee", "ghost"});
  CHECK(ghost.code == 3);
  CHECK_THAT(ghost.err, Contains("no practitioner 'ghost'"));
  CHECK(a.run({"tasks", "--assignee", "p-1"}).code == 0);
  auto nope = a.run({"held", "list", "--family", "nope"});
  CHECK(nope.code == 3);
  CHECK_THAT(nope.err, Contains("no records of family 'nope'"));
  CHECK(a.run({"tasks", "--family", "nope"}).code == 3);
}

TEST_CASE("Admin: bulk-enrol adds missing practitioners once and prints one distinct code per device", "[unit]") {
  Admin a;
  REQUIRE(a.run({"init"}).code == 0);
  auto lines = [](const std::string& out) {
    std::vector<std::string> v;
    std::stringstream in(out);
    for (std::string line; std::getline(in, line);) v.push_back(line);
    return v;
  };
  auto first = a.run({"bulk-enrol", "--prefix", "lg", "--practitioners", "3", "--devices-per-practitioner", "2"});
  REQUIRE(first.code == 0);
  auto codes = lines(first.out);
  REQUIRE(codes.size() == 6);
  CHECK(codes[0].rfind("lg-p1 ", 0) == 0);
  CHECK(codes[5].rfind("lg-p3 ", 0) == 0);
  std::set<std::string> distinct(codes.begin(), codes.end());
  CHECK(distinct.size() == 6);
  // The practitioners exist now; a second run reuses them and issues new codes.
  auto dup = a.run({"add-practitioner", "--id", "lg-p2", "--org", "lg-org", "--name", "P", "--role", "PRACTITIONER"});
  CHECK_THAT(dup.err, Contains("practitioner with id 'lg-p2' already exists"));
  auto again = a.run({"bulk-enrol", "--prefix", "lg", "--practitioners", "3"});
  REQUIRE(again.code == 0);
  CHECK(lines(again.out).size() == 3);
  auto bad = a.run({"bulk-enrol", "--prefix", "no spaces", "--practitioners", "1"});
  CHECK(bad.code != 0);
  CHECK_THAT(bad.err, Contains("--prefix"));
  CHECK(a.run({"bulk-enrol", "--prefix", "lg", "--practitioners", "0"}).code != 0);
}

TEST_CASE("Admin: hearth-server --version and hearth --version print the project version", "[unit]") {
  auto server = run_process(build_binary("server/hearth-server"), {"--version"});
  CHECK(server.code == 0);
  CHECK_THAT(server.out, Contains("hearth-server " HEARTH_VERSION));
  auto client = run_process(build_binary("client/hearth"), {"--version"});
  CHECK(client.code == 0);
  CHECK_THAT(client.out, Contains("hearth " HEARTH_VERSION));
}

// Found trying Hearth as a new user: ids the tablets could never use were stored, a port out of
// range wrapped round, and a data directory that is a file or a configuration value of the wrong
// type ended hearth-server with a signal.
TEST_CASE("Admin: ids, names and ports are checked where they enter, and nothing ends with a signal", "[fault]") {
  Admin a;
  REQUIRE(a.run({"init"}).code == 0);
  REQUIRE(a.run({"add-org", "--id", "org-1", "--name", "X", "--type", "HEALTH_VISITING"}).code == 0);
  for (const std::string& id : {std::string(), std::string("hv 4/../x"), std::string(5000, 'p'), std::string("hv\xff")}) {
    auto r = a.run({"add-practitioner", "--id", id, "--org", "org-1", "--name", "P", "--role", "PRACTITIONER"});
    INFO(id.size());
    CHECK(r.code == 1);
    CHECK_THAT(r.err, Contains("--id"));
  }
  auto bad_name = a.run({"add-practitioner", "--id", "p-1", "--org", "org-1", "--name", "P\xff", "--role", "PRACTITIONER"});
  CHECK(bad_name.code == 1);
  CHECK_THAT(bad_name.err, Contains("--name") && Contains("UTF-8"));
  auto long_family = a.run({"allocate", "--family", std::string(300, 'f'), "--practitioner", "p-1"});
  CHECK(long_family.code == 1);
  CHECK_THAT(long_family.err, Contains("--family"));

  CHECK(a.run({"serve", "--port", "99999"}).code != 0);  // refused, not wrapped round to another port
  {
    std::ofstream(a.dir.file("data") + "/hearth-server.json") << R"({"port": "abc"})";
  }
  auto bad_port = a.run({"serve"});
  CHECK(bad_port.code == 1);
  CHECK_THAT(bad_port.err, Contains("\"port\"") && Contains("0 to 65535"));

  auto not_a_dir = run_process(build_binary("server/hearth-server"), {"--data", "/etc/passwd", "init"});
  CHECK(not_a_dir.code == 1);  // -1 would be a signal
  CHECK_THAT(not_a_dir.err, Contains("what to do"));
}

// The office's team and consent commands (issue 8) check every argument where it enters: values
// the domain does not define, a missing choice, a family the server holds nothing of.
TEST_CASE("Admin: consent withdraw and allocate refuse undefined values with the option named", "[fault]") {
  Admin a;
  REQUIRE(a.run({"init"}).code == 0);
  REQUIRE(a.run({"add-org", "--id", "org-1", "--name", "X", "--type", "HEALTH_VISITING"}).code == 0);
  REQUIRE(a.run({"add-practitioner", "--id", "p-1", "--org", "org-1", "--name", "P", "--role", "PRACTITIONER"}).code == 0);
  std::vector<std::string> base{"consent", "withdraw", "--family", "fam-1", "--consent", "c-1", "--withdrawn-by",
                                "person-1", "--recorded-by", "p-1"};
  auto with = [&](std::vector<std::string> extra) {
    std::vector<std::string> args = base;
    args.insert(args.end(), extra.begin(), extra.end());
    return a.run(args);
  };
  auto channel = with({"--channel", "FAX", "--full"});
  CHECK(channel.code == 1);
  CHECK_THAT(channel.err, Contains("--channel 'FAX' is not defined") && Contains("IN_PERSON, PHONE, WRITTEN, FORM"));
  auto purpose = with({"--channel", "PHONE", "--purposes", "SHARE_WITH_TAF,GOSSIP"});
  CHECK(purpose.code == 1);
  CHECK_THAT(purpose.err, Contains("--purposes 'GOSSIP' is not defined") && Contains("RECEIVE_EARLY_HELP"));
  auto none = with({"--channel", "PHONE"});
  CHECK(none.code == 1);
  CHECK_THAT(none.err, Contains("--recipients, --purposes or --full"));
  CHECK(with({"--channel", "PHONE", "--full", "--recipients", "org-1"}).code == 1);  // one scope only
  auto bad_id = with({"--channel", "PHONE", "--recipients", "org 1"});
  CHECK(bad_id.code == 1);
  CHECK_THAT(bad_id.err, Contains("--recipients"));
  auto no_family = with({"--channel", "PHONE", "--full"});
  CHECK(no_family.code == 3);
  CHECK_THAT(no_family.err, Contains("--family") && Contains("fam-1"));
  auto list = a.run({"consent", "list", "--family", "fam-1"});
  CHECK(list.code == 3);

  auto scope = a.run({"allocate", "--family", "fam-1", "--practitioner", "p-1", "--scope", "EVERYTHING"});
  CHECK(scope.code == 1);
  CHECK_THAT(scope.err, Contains("--scope 'EVERYTHING' is not defined") && Contains("PLAN_AND_OWN_ACTIONS"));
  auto by = a.run({"allocate", "--family", "fam-1", "--practitioner", "p-1", "--by", "nobody"});
  CHECK(by.code == 3);
  CHECK_THAT(by.err, Contains("--by: no practitioner 'nobody'"));
  // a family with no ops yet may be allocated (its first op is then made by the team)
  auto ok = a.run({"allocate", "--family", "fam-1", "--practitioner", "p-1", "--lead"});
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Contains("allocated p-1 (1 family, 1 op)"));
}

TEST_CASE("Admin: tick runs the due events once and refuses a time it cannot read", "[unit]") {
  Admin a;
  REQUIRE(a.run({"init"}).code == 0);
  auto empty = a.run({"tick"});
  INFO(empty.err);
  REQUIRE(empty.code == 0);
  CHECK_THAT(empty.out, Contains("0 events in 0 families"));
  auto as_of = a.run({"tick", "--as-of", "2027-01-01T00:00:00Z"});
  REQUIRE(as_of.code == 0);
  CHECK_THAT(as_of.out, Contains("as of 2027-01-01T00:00:00.000Z"));
  auto bad = a.run({"tick", "--as-of", "next tuesday"});
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Contains("--as-of 'next tuesday'"));
  CHECK(a.run({"serve", "--tick-seconds", "-5"}).code != 0);  // out of range, refused before serving
}

TEST_CASE("Admin: hearth-server audit lists one family's record changes, audits the query and keeps the trail intact",
          "[unit]") {
  Admin a;
  REQUIRE(a.run({"init"}).code == 0);
  REQUIRE(a.run({"add-org", "--id", "org-1", "--name", "X", "--type", "HEALTH_VISITING"}).code == 0);
  REQUIRE(a.run({"add-practitioner", "--id", "p-1", "--org", "org-1", "--name", "P", "--role", "PRACTITIONER"}).code == 0);
  REQUIRE(a.run({"add-practitioner", "--id", "p-2", "--org", "org-1", "--name", "Q", "--role", "PRACTITIONER"}).code == 0);
  REQUIRE(a.run({"allocate", "--family", "fam-1", "--practitioner", "p-1", "--lead"}).code == 0);
  REQUIRE(a.run({"allocate", "--family", "fam-2", "--practitioner", "p-2"}).code == 0);
  auto listed = a.run({"audit", "--family", "fam-1"});
  INFO(listed.out + listed.err);
  CHECK(listed.code == 0);
  CHECK_THAT(listed.out, Contains("office  hearth-server  fam-1  create  TeamMember ") && Contains("fam-1  allocate  -  "));
  CHECK(listed.out.find("fam-2") == std::string::npos);  // another family's events never appear
  CHECK_THAT(listed.out, Contains("audit of family fam-1: "));
  // the query is in fam-1's chain: the next listing shows it
  CHECK_THAT(a.run({"audit", "--family", "fam-1"}).out, Contains("admin  -  fam-1  audit-query-answered  -  family fam-1: "));
  CHECK_THAT(a.run({"audit", "--practitioner", "office", "--from", "2020-01-01"}).out,
             Contains("fam-1  allocate") && Contains("fam-2  allocate"));
  auto bad = a.run({"audit", "--from", "last week"});
  CHECK(bad.code == 1);
  CHECK_THAT(bad.err, Contains("--from 'last week' is not a UTC date or time"));
  auto verified = a.run({"verify-audit"});
  INFO(verified.out);
  CHECK(verified.code == 0);
  CHECK_THAT(verified.out, Contains("audit trail intact"));
}

TEST_CASE("Admin: after erase-family, hearth-server audit shows the family's details as sealed and the trail verifies",
          "[security]") {
  Admin a;
  REQUIRE(a.run({"init"}).code == 0);
  REQUIRE(a.run({"add-org", "--id", "org-1", "--name", "X", "--type", "HEALTH_VISITING"}).code == 0);
  REQUIRE(a.run({"add-practitioner", "--id", "p-1", "--org", "org-1", "--name", "P", "--role", "PRACTITIONER"}).code == 0);
  REQUIRE(a.run({"add-practitioner", "--id", "ig-1", "--org", "org-1", "--name", "I", "--role", "IG_OFFICER"}).code == 0);
  REQUIRE(a.run({"allocate", "--family", "fam-1", "--practitioner", "p-1", "--lead"}).code == 0);
  REQUIRE(a.run({"allocate", "--family", "fam-2", "--practitioner", "p-1"}).code == 0);
  CHECK_THAT(a.run({"audit", "--family", "fam-1"}).out, Contains("fam-1  create  TeamMember "));
  auto erased = a.run({"erase-family", "--family", "fam-1", "--basis", "OPENED_IN_ERROR", "--reference", "REF-1", "--by", "ig-1"});
  INFO(erased.out + erased.err);
  REQUIRE(erased.code == 0);
  auto after = a.run({"audit", "--family", "fam-1"});
  INFO(after.out + after.err);
  CHECK(after.code == 0);
  CHECK_THAT(after.out, Contains("[sealed: family erased]") && Contains("sealed (family erased)"));
  CHECK(after.out.find("create  TeamMember") == std::string::npos);
  CHECK_THAT(a.run({"audit", "--family", "fam-2"}).out, Contains("fam-2  create  TeamMember "));  // untouched
  auto verified = a.run({"verify-audit"});
  INFO(verified.out);
  CHECK(verified.code == 0);
  CHECK_THAT(verified.out, Contains("audit trail intact"));
}
