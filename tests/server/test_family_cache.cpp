// FamilyCache (server/src/family_cache.*): each entry checks itself against the op log, so an
// op another process appended is seen at the next use; the cache holds at most its bounds.
#include <catch2/catch.hpp>

#include <map>

#include "../support/audit_key.hpp"
#include "../support/fake_clock.hpp"
#include "../support/must.hpp"
#include "../support/replica.hpp"
#include "../support/samples.hpp"
#include "../support/temp_dir.hpp"
#include "family_cache.hpp"
#include "hearth/sync/access_intent.hpp"
#include "hearth/sync/encoding.hpp"
#include "storage/storage.hpp"

using namespace hearth;
using namespace hearth::server;
using hearth::test::must;

namespace {

// Appends an op through `store` as another server process would.
int64_t append(Storage& store, const sync::Op& op) {
  return must(store.ops().append(StoredOp{0, op.family, op.id.device, op.id.counter, sync::encode(op)}));
}

}  // namespace

TEST_CASE("Family cache: an entry catches up with ops another connection appended", "[unit]") {
  test::TempDir dir;
  auto mine = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));
  auto other = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));  // a second server on the same database
  test::FakeClock clock;
  test::Replica hv("dev-hv", "hv-1", clock);
  auto fam = must(hv.create("fam-1", "Family", "fam-1", test::family_fields()));
  append(*mine, fam);
  FamilyCache cache(Schema::v1(), mine->ops());
  auto* m = must(cache.get("fam-1"));
  CHECK(m->contains(fam.id));

  clock.advance(1000);
  auto edit = must(hv.set("fam-1", "phone", std::string("07700 900111")));
  append(*other, edit);
  m = must(cache.get("fam-1"));
  CHECK(m->contains(edit.id));
  CHECK(m->op_count() == 2);

  // an op recorded through applied() is not applied twice by the next catch-up
  clock.advance(1000);
  auto edit2 = must(hv.set("fam-1", "phone", std::string("07700 900222")));
  int64_t seq = append(*mine, edit2);
  must(cache.applied("fam-1", edit2, seq, sync::encode(edit2).size()));
  m = must(cache.get("fam-1"));
  CHECK(m->op_count() == 3);
}

TEST_CASE("Family cache: least recently used families are dropped beyond the bounds", "[unit]") {
  test::TempDir dir;
  auto store = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));
  test::FakeClock clock;
  test::Replica hv("dev-hv", "hv-1", clock);
  size_t one_family = 0;
  for (int i = 0; i < 5; ++i) {
    std::string f = "fam-" + std::to_string(i);
    auto op = must(hv.create(f, "Family", f, test::family_fields()));
    one_family = sync::encode(op).size();
    append(*store, op);
  }
  SECTION("by count") {
    FamilyCache cache(Schema::v1(), store->ops(), FamilyCacheLimits{3, 1u << 30});
    for (int i = 0; i < 5; ++i) must(cache.get("fam-" + std::to_string(i)));
    CHECK(cache.families() == 3);
    CHECK_FALSE(cache.holds("fam-0"));
    must(cache.get("fam-2"));  // used again: fam-3 is now the least recently used
    must(cache.get("fam-0"));
    CHECK(cache.holds("fam-2"));
    CHECK_FALSE(cache.holds("fam-3"));
    CHECK(must(cache.get("fam-3"))->op_count() == 1);  // read again from the log
  }
  SECTION("by bytes") {
    FamilyCache cache(Schema::v1(), store->ops(), FamilyCacheLimits{100, 2 * one_family});
    for (int i = 0; i < 5; ++i) must(cache.get("fam-" + std::to_string(i)));
    CHECK(cache.families() == 2);
    CHECK(cache.bytes() <= 2 * one_family);
  }
}

TEST_CASE("Family cache: an entry ahead of the log (a restored database) starts again", "[unit][fault]") {
  test::TempDir dir;
  auto store = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));
  test::FakeClock clock;
  test::Replica hv("dev-hv", "hv-1", clock);
  auto fam = must(hv.create("fam-1", "Family", "fam-1", test::family_fields()));
  FamilyCache cache(Schema::v1(), store->ops());
  auto rolled = store->transaction([&]() -> Result<void> {
    append(*store, fam);
    CHECK(must(cache.get("fam-1"))->op_count() == 1);
    return make_error(ErrorCode::conflict, "rolled back on purpose");
  });
  CHECK_FALSE(rolled.ok());
  CHECK(must(cache.get("fam-1"))->op_count() == 0);  // the log holds nothing: neither does the cache
  test::Replica yw("dev-yw", "yw-1", clock);
  auto other = must(yw.create("fam-1", "Family", "fam-1", test::family_fields("Other")));
  append(*store, other);
  auto* m = must(cache.get("fam-1"));
  CHECK(m->contains(other.id));
  CHECK_FALSE(m->contains(fam.id));
}

namespace {

// The cached records, by id, as a comparable text (the cache keeps them in no particular order).
std::map<std::string, std::string> by_id(const access::FamilyFacts& f) {
  std::map<std::string, std::string> out;
  for (const auto& r : f.records) {
    std::string text = r.type + " by " + r.created_by + ":";
    for (const auto& [name, value] : r.fields) text += " " + name + "=" + value.to_json();
    out[r.id] = text;
  }
  return out;
}

}  // namespace

TEST_CASE("Family cache: the policy's records stay equal to the merge state through edits, deletes and catch-up",
          "[unit]") {
  test::TempDir dir;
  auto mine = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));
  auto other = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));
  test::FakeClock clock;
  test::Replica hv("dev-hv", "hv-1", clock);
  FamilyCache cache(Schema::v1(), mine->ops());
  auto through_cache = [&](const sync::Op& op) {
    int64_t seq = append(*mine, op);
    must(cache.get(op.family));
    must(cache.applied(op.family, op, seq, sync::encode(op).size()));
  };
  through_cache(must(hv.create("fam-1", "Family", "fam-1", test::family_fields())));
  through_cache(must(hv.create("fam-1", "Person", "p-1", test::person_fields("A"))));
  REQUIRE(cache.facts("fam-1") != nullptr);
  CHECK(cache.facts("fam-1")->records.size() == 2);

  auto expect_current = [&] {
    auto* m = must(cache.get("fam-1"));
    CHECK(by_id(*cache.facts("fam-1")) == by_id(sync::family_facts(*m, "fam-1")));
  };
  clock.advance(1000);
  through_cache(must(hv.set("p-1", "given_names", std::string("B"))));  // an edit
  through_cache(must(hv.create("fam-1", "Person", "p-2", test::person_fields("C"))));  // a new record
  expect_current();
  through_cache(must(hv.erase("p-1")));  // a delete takes the record out
  expect_current();
  CHECK(cache.facts("fam-1")->records.size() == 2);
  clock.advance(1000);
  append(*other, must(hv.set("p-2", "given_names", std::string("D"))));  // another server's write
  expect_current();
  CHECK(by_id(*cache.facts("fam-1")).at("p-2").find("\"D\"") != std::string::npos);
  CHECK(cache.facts("fam-none") == nullptr);
}
