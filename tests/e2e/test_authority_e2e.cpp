// End to end with a real hearth-server: the office's commands write ops to the family's records
// (issue 8, "one source of truth for the team"; DOMAIN.md §6.6, §7). `allocate` writes a
// TeamMember record that the tablets receive, `consent withdraw` writes the withdrawal onto the
// ConsentRecord, the ops survive a restart of the server and are held exactly once, and a
// withdrawal naming something unknown is a clear error that writes nothing.
#include <catch2/catch.hpp>

#include "../support/db_count.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

int64_t query(const std::string& db_path, const std::string& sql) { return db_count(db_path, sql); }

std::string record(Tablet& t, const std::string& id) { return must(t.store->get(id)).json; }

}  // namespace

TEST_CASE("E2E: the office allocates and records a withdrawal as ops every team member's tablet receives",
          "[e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  std::string family = must(hv.store->create_family(family_fields("Family W")));
  std::string father = must(hv.store->create(family, "Person", person_fields("D", "1985-02-03")));
  FieldValues c = consent_fields();
  c["covers_persons"] = StringList{father};
  c["given_by"] = father;
  c["recipients"] = StringList{"org-hv", "org-ys"};
  std::string consent = must(hv.store->create(family, "ConsentRecord", c));
  hv.sync();
  const std::string db = server.db();
  const std::string authority_ops =
      "SELECT count(*) FROM ops WHERE device = 'hearth-server' AND family = '" + family + "'";
  CHECK(query(db, authority_ops) == 1);  // the creator's TeamMember record, written by the server
  CHECK_THAT(record(hv, family + "/team/hv-1"), Contains("LEAD_PROFESSIONAL"));

  // the office puts the youth worker on the team: her tablet receives the family whole
  CHECK_THAT(server.admin({"allocate", "--family", family, "--practitioner", "yw-1", "--scope", "FULL_EPISODE"}),
             Contains("1 op"));
  yw.sync();
  CHECK_THAT(record(yw, family + "/team/yw-1"), Contains("\"organisation\":\"org-hv\"") && Contains("TAF_MEMBER"));
  hv.sync();
  CHECK(yw.family_json(family) == hv.family_json(family));

  // the father phones the office: no more sharing with the youth service
  std::string out = server.admin({"consent", "withdraw", "--family", family, "--consent", consent, "--recipients",
                                  "org-ys", "--withdrawn-by", father, "--recorded-by", "tm-1", "--channel", "PHONE",
                                  "--reason", "by phone to the office"});
  CHECK_THAT(out, Contains("withdrawal recorded on " + consent));
  for (Tablet* t : {&hv, &yw}) {
    t->sync();
    INFO(t->who);
    std::string json = record(*t, consent);
    CHECK_THAT(json, Contains("\"withdrawn_recipients\":[\"org-ys\"]") && Contains("\"withdrawal_scope\":\"RECIPIENTS\"") &&
                         Contains("\"withdrawal_channel\":\"PHONE\"") && Contains("\"withdrawal_recorded_by\":\"tm-1\""));
  }
  CHECK(yw.family_json(family) == hv.family_json(family));
  std::string listed = server.admin({"consent", "list", "--family", family});
  CHECK_THAT(listed, Contains(consent) && Contains("withdrawn recipients: org-ys") && Contains(father + " (D F)") &&
                         Contains("RECIPIENTS") && Contains("2027-01-05T10:00:00Z"));

  // a withdrawal naming an unknown consent, family or channel: a clear error, nothing written
  const int64_t held = query(db, "SELECT count(*) FROM ops");
  std::vector<std::string> base{"consent", "withdraw", "--withdrawn-by", father, "--recorded-by", "tm-1", "--full"};
  auto attempt = [&](std::vector<std::string> extra) {
    std::vector<std::string> args{"--data", server.data()};
    args.insert(args.end(), base.begin(), base.end());
    args.insert(args.end(), extra.begin(), extra.end());
    return run_process(build_binary("server/hearth-server"), args);
  };
  auto no_consent = attempt({"--family", family, "--consent", "consent-none", "--channel", "PHONE"});
  CHECK(no_consent.code == 3);
  CHECK_THAT(no_consent.err, Contains("--consent: no consent record 'consent-none'"));
  auto no_family = attempt({"--family", "fam-none", "--consent", consent, "--channel", "PHONE"});
  CHECK(no_family.code == 3);
  CHECK_THAT(no_family.err, Contains("--family") && Contains("fam-none"));
  auto bad_channel = attempt({"--family", family, "--consent", consent, "--channel", "CARRIER_PIGEON"});
  CHECK(bad_channel.code == 1);
  CHECK_THAT(bad_channel.err, Contains("--channel 'CARRIER_PIGEON' is not defined") && Contains("IN_PERSON"));
  CHECK(query(db, "SELECT count(*) FROM ops") == held);

  // a restart: the authority ops are kept, counted once, and the next ones follow them
  const int64_t before_restart = query(db, authority_ops);
  server.stop();
  server.start();
  server.admin({"deallocate", "--family", family, "--practitioner", "yw-1"});
  server.admin({"consent", "withdraw", "--family", family, "--consent", consent, "--full", "--withdrawn-by", father,
                "--recorded-by", "hv-1", "--channel", "WRITTEN"});
  const int64_t after = query(db, authority_ops);
  CHECK(after > before_restart);
  CHECK(query(db, "SELECT count(DISTINCT counter) FROM ops WHERE device = 'hearth-server'") ==
        query(db, "SELECT count(*) FROM ops WHERE device = 'hearth-server'"));
  hv.sync();
  CHECK_THAT(record(hv, consent), Contains("\"status\":\"WITHDRAWN\""));
  CHECK_THAT(record(hv, family + "/team/yw-1"), Contains("left_at"));
  auto report = yw.sync();  // taken off the team: the family leaves her tablet
  (void)report;
  auto families = must(yw.store->families());
  CHECK(std::find(families.begin(), families.end(), family) == families.end());
  // every authority op is on the lead's tablet exactly once
  size_t entities = must(hv.store->family(family)).entities.size();
  CHECK(entities == 5);  // family, father, consent, two TeamMember records
  CHECK(query(db, "SELECT count(*) FROM ops WHERE family = '" + family + "'") ==
        query(db, "SELECT count(DISTINCT device || ':' || counter) FROM ops WHERE family = '" + family + "'"));
}
