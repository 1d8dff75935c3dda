// The server's keys at rest (server/src/keys/, docs/server-encryption.md): the KEK and the
// keyring, sealed storage rows, erasure by crypto-shredding, legal holds and retention.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <fstream>

#include "../support/audit_key.hpp"
#include "../support/db_count.hpp"
#include "../support/fake_clock.hpp"
#include "../support/must.hpp"
#include "../support/replica.hpp"
#include "../support/samples.hpp"
#include "../support/temp_dir.hpp"
#include "family_cache.hpp"
#include "hearth/sync/encoding.hpp"
#include "keys/kek.hpp"
#include "keys/keyring.hpp"
#include "service_harness.hpp"
#include "storage/storage.hpp"
#include "usecases/erasure.hpp"

using namespace hearth;
using namespace hearth::server;
using Catch::Matchers::Contains;
using hearth::test::must;

namespace {

std::unique_ptr<keys::KeyEncryptionKey> kek_of(char fill) {
  return must(keys::FileKek::from_secret(std::string(32, fill), "the test KEK " + std::string(1, fill)));
}

std::shared_ptr<SqlKeyring> keyring(const std::string& path, char fill = 'k') {
  return must(SqlKeyring::open(path, kek_of(fill)));
}

StoredOp stored(const sync::Op& op) { return StoredOp{0, op.family, op.id.device, op.id.counter, sync::encode(op)}; }

}  // namespace

TEST_CASE("Server keys: a keyring opens only with its own KEK and says which is wrong", "[unit][security]") {
  test::TempDir dir;
  std::string path = dir.file("keyring.db");
  {
    auto ring = keyring(path, 'a');
    must(ring->seal("fam-1", "value", "aad"));
  }
  auto wrong = SqlKeyring::open(path, kek_of('b'));
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == ErrorCode::locked);
  CHECK_THAT(wrong.error().message, Contains("the test KEK b") && Contains("is not the key-encryption key"));
  auto none = SqlKeyring::open(path, nullptr);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().code == ErrorCode::locked);
  CHECK_THAT(none.error().message, Contains("none was given"));
  CHECK(SqlKeyring::open(path, kek_of('a')).ok());
}

TEST_CASE("Server keys: rotating the KEK re-wraps every key and keeps every value readable", "[unit][security]") {
  test::TempDir dir;
  std::string path = dir.file("keyring.db");
  auto ring = keyring(path, 'a');
  std::string one = must(ring->seal("fam-1", "first family", "row 1"));
  std::string two = must(ring->seal("fam-2", "second family", "row 2"));
  CHECK(must(ring->rotate(kek_of('b'))) == 2);
  CHECK(must(ring->open("fam-1", one, "row 1")) == "first family");
  ring.reset();
  CHECK_FALSE(SqlKeyring::open(path, kek_of('a')).ok());  // the old KEK no longer opens it
  auto again = keyring(path, 'b');
  CHECK(must(again->open("fam-2", two, "row 2")) == "second family");
  CHECK(must(again->open("fam-1", one, "row 1")) == "first family");
}

TEST_CASE("Server keys: an erased family can be neither read nor written, here or by another process", "[unit][security]") {
  test::TempDir dir;
  std::string path = dir.file("keyring.db");
  auto ring = keyring(path);
  auto other = keyring(path);  // hearth-server serving while an admin command erases
  std::string kept = must(ring->seal("fam-keep", "kept", "a"));
  std::string gone = must(other->seal("fam-gone", "gone", "b"));
  CHECK(must(ring->open("fam-gone", gone, "b")) == "gone");  // its key now cached by this process
  must(other->erase(Erasure{"fam-gone", 1000, "ig-1", "OPENED_IN_ERROR", "IG-42"}));

  auto read = ring->open("fam-gone", gone, "b");
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().code == ErrorCode::not_found);
  CHECK_THAT(read.error().message, Contains("fam-gone") && Contains("erased"));
  auto write = ring->seal("fam-gone", "more", "c");
  REQUIRE_FALSE(write.ok());
  CHECK(write.error().code == ErrorCode::forbidden);
  CHECK(must(ring->open("fam-keep", kept, "a")) == "kept");
  auto entry = must(ring->erased("fam-gone"));
  REQUIRE(entry);
  CHECK(entry->basis == "OPENED_IN_ERROR");
  CHECK(entry->reference == "IG-42");
  CHECK(other->erase(Erasure{"fam-gone", 2000, "ig-1", "OPENED_IN_ERROR", "again"}).error().code == ErrorCode::conflict);
}

TEST_CASE("Server keys: a sealed row altered or moved is corruption naming the record", "[unit][security]") {
  test::TempDir dir;
  std::string db = dir.file("server.db");
  test::FakeClock clock;
  test::Replica hv("dev-hv", "hv-1", clock);
  auto a = must(hv.create("fam-1", "Family", "fam-1", test::family_fields()));
  auto b = must(hv.set("fam-1", "phone", std::string("07700 900111")));
  {
    auto store = must(open_sqlite_storage(db, test::audit_key(), keyring(dir.file("keyring.db"))));
    must(store->ops().append(stored(a)));
    must(store->ops().append(stored(b)));
    CHECK(must(store->ops().ops_after("fam-1", 0, 1 << 20)).size() == 2);
  }
  SECTION("a flipped byte") {
    test::db_exec(db, "UPDATE ops SET body = substr(body, 1, 20) || CASE WHEN substr(body, 21, 1) = x'00' THEN x'01' ELSE x'00' END || substr(body, 22) WHERE counter = 2");
  }
  SECTION("a value moved to another row") {
    test::db_exec(db, "UPDATE ops SET body = (SELECT body FROM ops WHERE counter = 1) WHERE counter = 2");
  }
  auto store = must(open_sqlite_storage(db, test::audit_key(), keyring(dir.file("keyring.db"))));
  auto read = store->ops().ops_after("fam-1", 0, 1 << 20);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().code == ErrorCode::corrupt);
  CHECK_THAT(read.error().message, Contains("stored op dev-hv:2 of family fam-1"));
}

TEST_CASE("Server keys: a database written in clear is sealed in place when encryption is turned on", "[unit][security]") {
  test::TempDir dir;
  std::string db = dir.file("server.db");
  test::FakeClock clock;
  test::Replica hv("dev-hv", "hv-1", clock);
  auto a = must(hv.create("fam-1", "Family", "fam-1", {{"display_name", "MRKclearnameQZX"}}));
  {
    auto plain = must(open_sqlite_storage(db, test::audit_key(), must(SqlKeyring::open(dir.file("k.db"), nullptr))));
    must(plain->caseload().add_organisation("org-hv", "Health Visiting", "HEALTH_VISITING"));
    must(plain->caseload().add_practitioner("hv-1", "org-hv", "MRKstaffnameQZX", "PRACTITIONER"));
    must(plain->ops().append(stored(a)));
  }
  auto contains = [&](const std::string& marker) {
    std::ifstream in(db, std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), {});
    return bytes.find(marker) != std::string::npos;
  };
  CHECK(contains("MRKclearnameQZX"));
  std::remove(dir.file("k.db").c_str());  // a keyring made fresh with the KEK
  {
    auto sealed = must(open_sqlite_storage(db, test::audit_key(), keyring(dir.file("k.db"))));
    CHECK(must(sealed->ops().ops_after("fam-1", 0, 1 << 20)).at(0).body == sync::encode(a));
  }
  CHECK_FALSE(contains("MRKclearnameQZX"));
  CHECK_FALSE(contains("MRKstaffnameQZX"));
  // once sealed, it does not open with encryption off
  auto off = open_sqlite_storage(db, test::audit_key(), must(SqlKeyring::open(dir.file("k2.db"), nullptr)));
  REQUIRE_FALSE(off.ok());
  CHECK(off.error().code == ErrorCode::locked);
}

TEST_CASE("Server keys: erase-family refuses under a legal hold, then destroys the key and the rows", "[unit][security]") {
  test::ServiceHarness h;
  test::Device hv(h, "dev-hv", "hv-1");
  auto fam = must(hv.replica.create("fam-1", "Family", "fam-1", test::family_fields()));
  REQUIRE(hv.push_one(fam).status == sync::protocol::OpStatus::accepted);
  auto erase = [&](const std::string& by, const std::string& basis) {
    return h.service.with_context(
        [&](ServiceContext& ctx) { return erase_family(ctx, ErasureRequest{"fam-1", by, basis, "IG-7"}); });
  };
  CHECK(erase("admin", "BECAUSE").error().code == ErrorCode::invalid_argument);
  CHECK(erase("hv-1", "OPENED_IN_ERROR").error().code == ErrorCode::forbidden);  // not an IG officer
  must(h.service.with_context([&](ServiceContext& ctx) { return place_legal_hold(ctx, "fam-1", "admin", "Notice N-1"); }));
  auto held = erase("admin", "OPENED_IN_ERROR");
  REQUIRE_FALSE(held.ok());
  CHECK_THAT(held.error().message, Contains("legal hold") && Contains("Notice N-1"));
  CHECK(must(h.service.with_context([&](ServiceContext& ctx) { return lift_legal_hold(ctx, "fam-1", "admin"); })));

  auto report = must(erase("admin", "OPENED_IN_ERROR"));
  CHECK(report.rows_deleted);
  CHECK(report.team == std::vector<std::string>{"hv-1"});
  CHECK_FALSE(must(h.store->ops().family_has_ops("fam-1")));
  CHECK(must(h.store->keys().erased("fam-1")).has_value());
  // the device sends an op of the family again: refused, and says why
  auto again = must(hv.replica.set("fam-1", "phone", std::string("07700 900333")));
  auto result = hv.push_one(again);
  CHECK(result.status == sync::protocol::OpStatus::rejected);
  CHECK_THAT(result.reason, Contains("erased"));
  CHECK_FALSE(must(h.store->ops().family_has_ops("fam-1")));
  CHECK(must(h.store->audit().verify()) > 0);  // the trail, the family's chain included, still verifies
}

TEST_CASE("Server keys: the retention schedule lists closed families past retention and shows holds", "[unit]") {
  test::ServiceHarness h;
  test::Device hv(h, "dev-hv", "hv-1");
  auto push = [&](Result<sync::Op> op) { must(h.store->ops().append(stored(must(std::move(op))))); };
  // fam-old: everyone born long ago, its episode closed; fam-open: an open episode
  for (const char* f : {"fam-old", "fam-open"}) {
    push(hv.replica.create(f, "Family", f, test::family_fields()));
    push(hv.replica.create(f, "Person", std::string(f) + "-p", test::person_fields("A", "1970-01-01")));
    push(hv.replica.create(f, "EarlyHelpEpisode", std::string(f) + "-ep", test::episode_fields({std::string(f) + "-p"})));
  }
  auto close = [&](const std::string& ep) {
    push(hv.replica.set(ep, "closed_at", std::string("2000-01-01")));
    push(hv.replica.set(ep, "closure_reason", std::string("OUTCOMES_ACHIEVED")));
    push(hv.replica.set(ep, "outcome_at_closure", std::string("ALL_ACHIEVED")));
    push(hv.replica.set(ep, "closure_summary", std::string("Goals met")));
    push(hv.replica.set(ep, "closure_authorised_by", std::string("tm-1")));
    push(hv.replica.transition(ep, "CLOSING"));
    push(hv.replica.transition(ep, "CLOSED"));
  };
  close("fam-old-ep");
  auto due = [&](int64_t at) {
    return must(h.service.with_context([&](ServiceContext& ctx) { return retention_due(ctx, at); }));
  };
  const int64_t y2026 = 1798761600000;  // 2027-01-01
  auto list = due(y2026);
  REQUIRE(list.size() == 1);
  CHECK(list[0].family == "fam-old");
  CHECK_THAT(list[0].rule, Contains("youngest person reaches 25"));
  CHECK_FALSE(list[0].hold);
  CHECK(due(0).empty());  // not yet due in 1970
  must(h.service.with_context([&](ServiceContext& ctx) { return place_legal_hold(ctx, "fam-old", "admin", "Notice N-2"); }));
  list = due(y2026);
  REQUIRE(list.size() == 1);
  REQUIRE(list[0].hold);
  CHECK(list[0].hold->reason == "Notice N-2");
}

TEST_CASE("Server keys: a process whose KEK was rotated by another refuses to make or open keys", "[unit][security]") {
  test::TempDir dir;
  std::string path = dir.file("keyring.db");
  auto serving = keyring(path, 'a');
  must(serving->seal("fam-1", "v", "aad"));
  auto admin = keyring(path, 'a');
  must(admin->rotate(kek_of('b')));
  auto made = serving->seal("fam-new", "v", "aad");  // would be wrapped under the old KEK, lost with it
  REQUIRE_FALSE(made.ok());
  CHECK(made.error().code == ErrorCode::locked);
  CHECK_THAT(made.error().message, Contains("rotated") && Contains("restart"));
}

TEST_CASE("Server keys: a database sealed under one keyring refuses another, made afresh", "[unit][security]") {
  test::TempDir dir;
  std::string db = dir.file("server.db");
  { auto store = must(open_sqlite_storage(db, test::audit_key(), keyring(dir.file("keyring.db")))); }
  std::remove(dir.file("keyring.db").c_str());
  auto other = open_sqlite_storage(db, test::audit_key(), keyring(dir.file("keyring.db")));  // same KEK, new keyring
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().code == ErrorCode::locked);
  CHECK_THAT(other.error().message, Contains("sealed under the keyring") && Contains("Put back the keyring"));
}

TEST_CASE("Server keys: an erasure whose rows were not deleted is finished by running it again", "[unit][security]") {
  test::ServiceHarness h;
  test::Device hv(h, "dev-hv", "hv-1");
  auto fam = must(hv.replica.create("fam-1", "Family", "fam-1", test::family_fields()));
  REQUIRE(hv.push_one(fam).status == sync::protocol::OpStatus::accepted);
  must(h.store->keys().erase(Erasure{"fam-1", 1, "admin", "OPENED_IN_ERROR", "IG-1"}));  // step 3 done, step 4 not
  auto report = must(h.service.with_context(
      [&](ServiceContext& ctx) { return erase_family(ctx, ErasureRequest{"fam-1", "admin", "OPENED_IN_ERROR", "IG-1"}); }));
  CHECK(report.resumed);
  CHECK(report.rows_deleted);
  CHECK_FALSE(must(h.store->ops().family_has_ops("fam-1")));
  auto again = h.service.with_context(
      [&](ServiceContext& ctx) { return erase_family(ctx, ErasureRequest{"fam-1", "admin", "OPENED_IN_ERROR", "IG-1"}); });
  CHECK(again.error().code == ErrorCode::conflict);
}

TEST_CASE("Server keys: legal holds do not silently replace one another and take one line of text", "[unit]") {
  test::ServiceHarness h;
  test::Device hv(h, "dev-hv", "hv-1");
  REQUIRE(hv.push_one(must(hv.replica.create("fam-1", "Family", "fam-1", test::family_fields()))).status ==
          sync::protocol::OpStatus::accepted);
  auto place = [&](const std::string& reason) {
    return h.service.with_context([&](ServiceContext& ctx) { return place_legal_hold(ctx, "fam-1", "admin", reason); });
  };
  CHECK(place("Notice\nforged line").error().code == ErrorCode::invalid_argument);
  CHECK(place(std::string(201, 'x')).error().code == ErrorCode::invalid_argument);
  must(place("Notice N-1"));
  auto second = place("Notice N-2");
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == ErrorCode::conflict);
  CHECK(must(h.store->keys().hold("fam-1"))->reason == "Notice N-1");
}
