// The server's storage interfaces over SQLite (server/src/storage/), in process: counters and
// sequence numbers from the database, team membership with its removal history, enrolment
// codes spent once, flags, clear errors for duplicates, and the upgrade from the old layout.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <set>

#include "../support/audit_key.hpp"
#include "../support/db_count.hpp"
#include "../support/must.hpp"
#include "../support/temp_dir.hpp"
#include "storage/storage.hpp"

using namespace hearth;
using namespace hearth::server;
using hearth::test::must;
using Catch::Matchers::Contains;

namespace {

std::unique_ptr<Storage> open_with_people(const std::string& path) {
  auto s = must(open_sqlite_storage(path, hearth::test::audit_key()));
  must(s->caseload().add_organisation("org-hv", "Health Visiting", "HEALTH_VISITING"));
  for (const char* p : {"hv-1", "yw-1"}) must(s->caseload().add_practitioner(p, "org-hv", p, "PRACTITIONER"));
  return s;
}


}  // namespace

TEST_CASE("Storage: sequence numbers and server counters come from the database", "[unit]") {
  test::TempDir dir;
  std::string path = dir.file("server.db");
  {
    auto s = must(open_sqlite_storage(path, hearth::test::audit_key()));
    OpLog& log = s->ops();
    CHECK(must(log.highest_seq("fam-1")) == 0);
    CHECK(must(log.highest_counter("dev-a")) == 0);
    int64_t a = must(log.append(StoredOp{0, "fam-1", "dev-a", 1, "x"}));
    int64_t b = must(log.append(StoredOp{0, "fam-2", "dev-a", 2, "y"}));
    int64_t c = must(log.append(StoredOp{0, "fam-1", "dev-b", 7, "z"}));
    CHECK(a < b);
    CHECK(b < c);
    CHECK(must(log.highest_seq("fam-1")) == c);
    CHECK(must(log.highest_seq("fam-2")) == b);
    CHECK(must(log.highest_counter("dev-a")) == 2);
    CHECK(must(log.family_has_ops("fam-2")));
    CHECK_FALSE(must(log.family_has_ops("fam-3")));
    auto dup = log.append(StoredOp{0, "fam-1", "dev-a", 1, "again"});
    REQUIRE_FALSE(dup.ok());
    CHECK(dup.error().code == ErrorCode::conflict);
    CHECK(must(log.ops_after("fam-1", a, 1 << 20)).size() == 1);
    CHECK(must(log.next_server_counter()) == 1);
    CHECK(must(log.next_server_counter()) == 2);
    // a rolled-back transaction gives its counter back: nothing outside the database holds it
    auto failed = s->transaction([&]() -> Result<void> {
      (void)log.next_server_counter();
      return make_error(ErrorCode::conflict, "rolled back on purpose");
    });
    CHECK_FALSE(failed.ok());
  }
  auto s = must(open_sqlite_storage(path, hearth::test::audit_key()));  // reopened: the counter continues
  CHECK(must(s->ops().next_server_counter()) == 3);
}

TEST_CASE("Storage: two connections never hand out the same server counter", "[unit]") {
  test::TempDir dir;
  auto one = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));
  auto two = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));
  std::set<uint64_t> seen;
  for (int i = 0; i < 50; ++i) {
    for (Storage* s : {one.get(), two.get()}) {
      uint64_t got = 0;
      must(s->transaction([&]() -> Result<void> {
        auto c = s->ops().next_server_counter();
        if (!c) return c.error();
        got = *c;
        return {};
      }));
      CHECK(seen.insert(got).second);
    }
  }
  CHECK(seen.size() == 100);
}

TEST_CASE("Storage: team membership keeps when a member joined and was removed", "[unit]") {
  test::TempDir dir;
  auto s = open_with_people(dir.file("server.db"));
  Caseload& c = s->caseload();
  CHECK_FALSE(must(c.family_allocated("fam-1")));
  must(c.allocate("fam-1", "hv-1", true, 1000));
  must(c.allocate("fam-1", "yw-1", false, 2000));
  CHECK(must(c.team_of("fam-1")) == std::vector<std::string>{"hv-1", "yw-1"});
  int64_t feed = must(c.feed_version("yw-1"));
  must(c.deallocate("fam-1", "yw-1", 3000));
  CHECK(must(c.feed_version("yw-1")) == feed + 1);
  CHECK(must(c.team_of("fam-1")) == std::vector<std::string>{"hv-1"});
  CHECK(must(c.families_of("yw-1")).empty());
  auto m = must(c.membership("fam-1", "yw-1"));
  REQUIRE(m);
  CHECK(m->joined_at == 2000);
  REQUIRE(m->removed_at);
  CHECK(*m->removed_at == 3000);
  CHECK(must(c.family_allocated("fam-1")));
  auto again = c.deallocate("fam-1", "yw-1", 3500);
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ErrorCode::not_found);
  // back on the team: a new membership, the old one kept
  must(c.allocate("fam-1", "yw-1", false, 4000));
  m = must(c.membership("fam-1", "yw-1"));
  REQUIRE(m);
  CHECK(m->joined_at == 4000);
  CHECK_FALSE(m->removed_at);
  // allocating a current member again changes only the lead flag
  must(c.allocate("fam-1", "hv-1", false, 5000));
  m = must(c.membership("fam-1", "hv-1"));
  CHECK(m->joined_at == 1000);
  CHECK_FALSE(m->lead);
  CHECK_FALSE(must(c.membership("fam-2", "hv-1")));
  auto unknown = c.allocate("fam-1", "nobody", false, 6000);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::not_found);
}

TEST_CASE("Storage: a duplicate organisation or practitioner id is a clear conflict", "[unit][fault]") {
  test::TempDir dir;
  auto s = open_with_people(dir.file("server.db"));
  auto org = s->caseload().add_organisation("org-hv", "Again", "GP");
  REQUIRE_FALSE(org.ok());
  CHECK(org.error().code == ErrorCode::conflict);
  CHECK_THAT(org.error().message, Contains("organisation with id 'org-hv' already exists"));
  auto prac = s->caseload().add_practitioner("hv-1", "org-hv", "Again", "PRACTITIONER");
  REQUIRE_FALSE(prac.ok());
  CHECK(prac.error().code == ErrorCode::conflict);
  CHECK_THAT(prac.error().message, Contains("practitioner with id 'hv-1' already exists"));
  auto no_org = s->caseload().add_practitioner("x-1", "org-none", "X", "PRACTITIONER");
  REQUIRE_FALSE(no_org.ok());
  CHECK(no_org.error().code == ErrorCode::not_found);
}

TEST_CASE("Storage: an enrolment code is spent once, and a device's last pull is kept", "[unit]") {
  test::TempDir dir;
  auto s = open_with_people(dir.file("server.db"));
  Devices& d = s->devices();
  must(d.add_enrol_code("hash-1", "hv-1", 10000));
  CHECK_FALSE(must(d.spend_enrol_code("hash-1", 20000)));  // expired
  must(d.add_enrol_code("hash-2", "hv-1", 10000));
  CHECK(must(d.spend_enrol_code("hash-2", 5000)) == std::optional<std::string>("hv-1"));
  CHECK_FALSE(must(d.spend_enrol_code("hash-2", 5000)));  // spent
  must(d.add_device("dev-1", "hv-1", "tok-1", 5000, 90000));
  must(d.record_pull("dev-1", 7000));
  must(d.record_pull("dev-1", 6000));  // never goes back
  auto rec = must(d.device_by_token("tok-1"));
  REQUIRE(rec);
  CHECK(rec->last_pull_at == 7000);
  CHECK(must(d.revoke_device("dev-1")));
  CHECK_FALSE(must(d.revoke_device("dev-none")));
}

TEST_CASE("Storage: flags are kept once per op and listed by family", "[unit]") {
  test::TempDir dir;
  auto s = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));
  FlagLog& f = s->flags();
  CHECK(must(f.add(Flag{0, 1, "fam-1", kFlagRecordedAfterRemoval, "dev-y:3", "yw-1", "dev-y", "why"})));
  CHECK_FALSE(must(f.add(Flag{0, 2, "fam-1", kFlagRecordedAfterRemoval, "dev-y:3", "yw-1", "dev-y", "why"})));
  CHECK(must(f.add(Flag{0, 3, "fam-2", kFlagQuarantinedOnDevice, "dev-y:4", "yw-1", "dev-y", "why"})));
  CHECK(must(f.list(std::nullopt)).size() == 2);
  auto one = must(f.list(std::string("fam-1")));
  REQUIRE(one.size() == 1);
  CHECK(one[0].op_id == "dev-y:3");
  CHECK(one[0].kind == kFlagRecordedAfterRemoval);
}

TEST_CASE("Storage: a database of the earlier layout is upgraded without losing teams or the counter", "[unit]") {
  test::TempDir dir;
  std::string path = dir.file("server.db");
  test::db_exec(path,
       "CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;"
       "INSERT INTO meta VALUES('server_counter', '41');"
       "CREATE TABLE teams(family TEXT NOT NULL, practitioner TEXT NOT NULL, lead INTEGER NOT NULL,"
       "  PRIMARY KEY(family, practitioner)) WITHOUT ROWID;"
       "INSERT INTO teams VALUES('fam-1', 'hv-1', 1), ('fam-1', 'yw-1', 0);"
       "CREATE TABLE devices(id TEXT PRIMARY KEY, practitioner TEXT NOT NULL, token_hash TEXT NOT NULL UNIQUE,"
       "  enrolled_at INTEGER NOT NULL, last_seen INTEGER NOT NULL, revoked INTEGER NOT NULL DEFAULT 0,"
       "  expires_at INTEGER NOT NULL) WITHOUT ROWID;"
       "INSERT INTO devices VALUES('dev-1', 'hv-1', 'tok', 1, 1, 0, 99);");
  auto s = must(open_sqlite_storage(path, hearth::test::audit_key()));
  CHECK(must(s->caseload().team_of("fam-1")) == std::vector<std::string>{"hv-1", "yw-1"});
  CHECK(must(s->caseload().membership("fam-1", "hv-1"))->lead);
  CHECK(must(s->ops().next_server_counter()) == 42);
  auto dev = must(s->devices().device_by_token("tok"));
  REQUIRE(dev);
  CHECK(dev->last_pull_at == 0);
  // devices enrolled before remote wipe and the key lease (N5) have neither, and can have both
  CHECK(dev->wipe_requested_at == 0);
  CHECK(dev->lease_until == 0);
  CHECK(must(s->devices().request_wipe("dev-1", 50, false)));
  must(s->devices().record_lease("dev-1", 700));
  dev = must(s->devices().device_by_token("tok"));
  CHECK(dev->wipe_pending());
  CHECK(dev->lease_until == 700);
}

TEST_CASE("Storage: a wipe is requested and acknowledged once and revokes the credential", "[unit][security]") {
  test::TempDir dir;
  auto s = open_with_people(dir.file("server.db"));
  Devices& d = s->devices();
  must(d.add_device("dev-1", "hv-1", "tok-1", 5000, 90000));
  must(d.add_device("dev-2", "hv-1", "tok-2", 5000, 90000));
  CHECK_FALSE(must(d.acknowledge_wipe("dev-1", 6000, 0, 0)));  // nothing requested: nothing changes
  CHECK_FALSE(must(d.device_by_token("tok-1"))->revoked);
  CHECK_FALSE(must(d.request_wipe("dev-none", 6000, false)));
  CHECK(must(d.request_wipe("dev-1", 6000, false)));
  CHECK(must(d.request_wipe("dev-1", 6500, true)));  // a second request keeps the first time, takes discard
  auto rec = *must(d.device_by_token("tok-1"));
  CHECK(rec.wipe_requested_at == 6000);
  CHECK(rec.wipe_discard_unsynced);
  CHECK(rec.wipe_pending());
  CHECK(must(d.acknowledge_wipe("dev-1", 7000, 3, 1)));
  CHECK_FALSE(must(d.acknowledge_wipe("dev-1", 8000, 0, 0)));  // once
  rec = *must(d.device_by_token("tok-1"));
  CHECK(rec.revoked);
  CHECK_FALSE(rec.wipe_pending());
  CHECK(rec.wipe_acknowledged_at == 7000);
  CHECK(rec.wipe_unsynced_lost == 3);
  CHECK(rec.wipe_quarantined_lost == 1);
  auto again = d.request_wipe("dev-1", 9000, false);
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ErrorCode::conflict);
  must(d.revoke_device("dev-2"));
  auto revoked = d.request_wipe("dev-2", 9000, false);
  REQUIRE_FALSE(revoked);
  CHECK_THAT(revoked.error().message, Contains("revoked"));
  must(d.record_lease("dev-2", 900));
  must(d.record_lease("dev-2", 800));  // the lease last given: a shortened key_lease_days shows at once
  CHECK(must(d.device_by_token("tok-2"))->lease_until == 800);
}

TEST_CASE("Storage: held ops of the earlier layout gain decisions, kept once decided, and office credentials", "[unit]") {
  test::TempDir dir;
  std::string path = dir.file("server.db");
  test::db_exec(path,
       "CREATE TABLE held_ops(op_id TEXT PRIMARY KEY, at INTEGER NOT NULL, family TEXT NOT NULL,"
       "  practitioner TEXT NOT NULL, device TEXT NOT NULL, route_to TEXT NOT NULL, reason TEXT NOT NULL, body BLOB NOT NULL);"
       "INSERT INTO held_ops VALUES('dev-1:3', 5, 'fam-1', 'yw-1', 'dev-1', 'hv-1', 'lead only', x'00');");
  auto s = must(open_sqlite_storage(path, hearth::test::audit_key()));
  auto held = must(s->flags().held_op("dev-1:3"));
  REQUIRE(held);
  CHECK_FALSE(held->decision);
  CHECK_FALSE(must(s->flags().held_op("dev-1:4")));
  CHECK(must(s->flags().decide("dev-1:3", HeldDecision{kHeldDismissed, 9, "hv-1", "not needed", ""})));
  // decided once: a second decision changes nothing
  CHECK_FALSE(must(s->flags().decide("dev-1:3", HeldDecision{kHeldApplied, 10, "hv-1", "", "hearth-server:1"})));
  CHECK_FALSE(must(s->flags().decide("dev-1:9", HeldDecision{kHeldApplied, 10, "hv-1", "", ""})));
  auto all = must(s->flags().held(std::nullopt));
  REQUIRE(all.size() == 1);  // kept
  REQUIRE(all[0].decision);
  CHECK(all[0].decision->outcome == kHeldDismissed);
  CHECK(all[0].decision->by == "hv-1");
  CHECK(all[0].decision->note == "not needed");
  CHECK(all[0].decision->at == 9);

  CHECK(must(s->office().issue("case-system", "hash-1", 1)));
  CHECK_FALSE(must(s->office().issue("case-system", "hash-2", 2)));  // a name is issued once
  REQUIRE(must(s->office().by_token("hash-1")));
  CHECK_FALSE(must(s->office().by_token("hash-2")));
  CHECK(must(s->office().revoke("case-system", 3)));
  CHECK_FALSE(must(s->office().revoke("case-system", 4)));
  CHECK(must(s->office().by_token("hash-1"))->revoked_at == 3);
  CHECK(must(s->office().list()).size() == 1);
}
