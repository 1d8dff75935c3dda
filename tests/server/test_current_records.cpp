// The server's current records (issue 10 part 1): every accepted op leaves its record in the
// records store exactly as the merge renders it, sealed at rest, queryable by type, family,
// person and date; a database from before the store is built from its op log; erasure removes
// a family's records; a corrupt row is an error naming the record.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "../support/db_count.hpp"
#include "../support/marker_scan.hpp"
#include "admin/records_command.hpp"
#include "keys/kek.hpp"
#include "keys/keyring.hpp"
#include "service_harness.hpp"
#include "usecases/current_records.hpp"

using namespace hearth;
using namespace hearth::server;
using namespace hearth::test;
using sync::protocol::OpStatus;

namespace {

std::shared_ptr<SqlKeyring> test_keyring(const std::string& path) {
  return must(SqlKeyring::open(path, must(keys::FileKek::from_secret(std::string(32, 'k'), "the test KEK"))));
}

// Every record of `q`, by id.
std::map<std::string, StoredRecord> records_of(Storage& store, const RecordQuery& q) {
  std::map<std::string, StoredRecord> out;
  must(store.records().scan(q, [&](const StoredRecord& r) -> Result<bool> {
    out[r.id] = r;
    return true;
  }));
  return out;
}

std::set<std::string> ids_of(Storage& store, const RecordQuery& q) {
  std::set<std::string> out;
  for (const auto& [id, r] : records_of(store, q)) out.insert(id);
  return out;
}

// The server's merge of `family`, each record rendered, by id.
std::map<std::string, std::string> merged(ServiceHarness& h, const std::string& family) {
  std::map<std::string, std::string> out;
  must(h.service.with_context([&](ServiceContext& ctx) -> Result<void> {
    auto m = ctx.cache.get(family);
    if (!m) return m.error();
    for (const auto* e : (*m)->entities(family))
      if (e->created() && !e->def().derived) out[e->id()] = must(e->render());
    return {};
  }));
  return out;
}

// A family with two people, an episode about one child, a contact, an alert, then a change and
// a deletion.
void record_family(ServiceHarness& h, Device& hv, const std::string& family) {
  std::vector<sync::Op> ops;
  ops.push_back(must(hv.replica.create(family, "Family", family, family_fields("Household " + family))));
  // each family's people born in another year: not probable duplicates of one another (docs/duplicates.md)
  const std::string year = std::to_string(1990 + family.back() % 10);
  ops.push_back(must(hv.replica.create(family, "Person", family + "-mum", person_fields("Mum", year + "-01-01"))));
  ops.push_back(must(hv.replica.create(family, "Person", family + "-child", person_fields("Kid", year + "-03-04"))));
  ops.push_back(must(hv.replica.create(family, "EarlyHelpEpisode", family + "-ep", episode_fields({family + "-child"}))));
  ops.push_back(must(hv.replica.create(family, "Contact", family + "-c1",
                                        contact_fields("2026-08-14T10:00:00Z", "visit note about Zephyrine", "hv-1"))));
  for (const auto& r : hv.push(ops)) REQUIRE(r.status == OpStatus::accepted);
  h.clock.advance(1000);
  REQUIRE(hv.push_one(must(hv.replica.set(family, "phone", Value(std::string("07700 900123"))))).status ==
          OpStatus::accepted);
}

}  // namespace

TEST_CASE("Every accepted op leaves its record in the records store as the merge renders it", "[unit][records]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  record_family(h, hv, "fam-a");
  auto want = merged(h, "fam-a");
  auto have = records_of(*h.store, RecordQuery::of_family("fam-a"));
  REQUIRE(have.size() == want.size());
  for (const auto& [id, json] : want) {
    INFO(id);
    REQUIRE(have.count(id) == 1);
    CHECK(have[id].json == json);
    CHECK(have[id].family == "fam-a");
  }
  // the Family record changed twice: its revision is the later op's sequence number
  auto family = must(h.store->records().get("fam-a"));
  REQUIRE(family);
  CHECK(family->revision > have["fam-a-c1"].revision);
  CHECK(family->json.find("07700 900123") != std::string::npos);
  CHECK(must(h.store->records().highest_revision()) == family->revision);
  // a Contact's business date is its occurred_at; a Person is about itself; the episode about its child
  CHECK(have["fam-a-c1"].occurred == "2026-08-14T10:00:00Z");
  CHECK(have["fam-a-mum"].persons == std::vector<std::string>{"fam-a-mum"});
  CHECK(have["fam-a-ep"].persons == std::vector<std::string>{"fam-a-child"});
  CHECK(have["fam-a"].persons.empty());

  // a deletion keeps the record, marked deleted, and hides it from ordinary queries
  REQUIRE(hv.push_one(must(hv.replica.erase("fam-a-mum"))).status == OpStatus::accepted);
  CHECK(ids_of(*h.store, RecordQuery::of_type("Person")) == std::set<std::string>{"fam-a-child"});
  RecordQuery with_deleted = RecordQuery::of_type("Person");
  with_deleted.include_deleted = true;
  auto gone = records_of(*h.store, with_deleted);
  REQUIRE(gone.count("fam-a-mum") == 1);
  CHECK(gone["fam-a-mum"].deleted);
}

TEST_CASE("Records are queried by type, family, person and half-open date range", "[unit][records]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  record_family(h, hv, "fam-a");
  record_family(h, hv, "fam-b");
  CHECK(ids_of(*h.store, RecordQuery::of_type("Person")) ==
        std::set<std::string>{"fam-a-mum", "fam-a-child", "fam-b-mum", "fam-b-child"});
  CHECK(ids_of(*h.store, RecordQuery::of_family("fam-b", "Person")) == std::set<std::string>{"fam-b-mum", "fam-b-child"});
  CHECK(must(h.store->records().count(RecordQuery::of_family("fam-b"))) == 6);  // and the creator's TeamMember

  RecordQuery about_child;
  about_child.person = "fam-a-child";
  CHECK(ids_of(*h.store, about_child) == std::set<std::string>{"fam-a-child", "fam-a-ep"});
  about_child.family_wide = true;  // plus what is about the whole family (the Family, the Contact naming nobody, the team)
  CHECK(ids_of(*h.store, about_child) ==
        std::set<std::string>{"fam-a-child", "fam-a-ep", "fam-a", "fam-a-c1", "fam-a/team/hv-1"});

  RecordQuery in_august = RecordQuery::of_type("Contact");
  in_august.from = "2026-08-14T10:00:00Z";  // inclusive
  in_august.to = "2026-09-01";
  CHECK(ids_of(*h.store, in_august).size() == 2);
  in_august.from = "2026-08-14T10:00:01Z";
  CHECK(ids_of(*h.store, in_august).empty());
  in_august.from = "2026-08-01";
  in_august.to = "2026-08-14T10:00:00Z";  // exclusive
  CHECK(ids_of(*h.store, in_august).empty());

  // after a revision, in revision order, and stopping early
  auto all = records_of(*h.store, RecordQuery{});
  int64_t middle = all["fam-b-mum"].revision - 1;
  RecordQuery later;
  later.after_revision = middle;
  int64_t last = 0;
  size_t seen = 0;
  must(h.store->records().scan(later, [&](const StoredRecord& r) -> Result<bool> {
    CHECK(r.revision > middle);
    CHECK(r.revision > last);
    last = r.revision;
    return ++seen < 2;
  }));
  CHECK(seen == 2);
}

TEST_CASE("The records are sealed at rest and a tampered row is an error naming the record", "[security][records]") {
  TempDir keydir;
  ServiceHarness h(test_keyring(keydir.file("keyring.db")));
  Device hv(h, "dev-hv", "hv-1");
  record_family(h, hv, "fam-a");
  const std::string db = h.db.location();
  CHECK(db_count(db, std::string("SELECT count(*) FROM records WHERE ") + holds_text(db, "body", "Zephyrine") + " OR " +
                         holds_text(db, "body", "Household")) == 0);
  CHECK(db_count(db, "SELECT count(*) FROM records") >= 6);
  // a row's sealed body moved onto another record does not open
  db_exec(db, "UPDATE records SET body = (SELECT body FROM records WHERE id = 'fam-a-mum') WHERE id = 'fam-a-child'");
  auto read = h.store->records().get("fam-a-child");
  REQUIRE_FALSE(read);
  CHECK(read.error().code == ErrorCode::corrupt);
  CHECK_THAT(read.error().message, Catch::Matchers::Contains("fam-a-child"));
  auto scan = h.store->records().scan(RecordQuery::of_type("Person"), [](const StoredRecord&) -> Result<bool> { return true; });
  REQUIRE_FALSE(scan);
  CHECK_THAT(scan.error().message, Catch::Matchers::Contains("fam-a-child"));
}

TEST_CASE("A database from before the records store gets every family's records built from its op log", "[unit][records]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  record_family(h, hv, "fam-a");
  record_family(h, hv, "fam-b");
  auto before = records_of(*h.store, RecordQuery{});
  const std::string db = h.db.location();
  db_exec(db, "DELETE FROM records; DELETE FROM record_persons; DELETE FROM meta WHERE key = 'records_built'");
  CHECK_FALSE(must(h.store->records().built()));
  CHECK(must(build_current_records(*h.store, Schema::v1(), static_cast<int64_t>(h.clock.now()))) == 2);
  CHECK(must(h.store->records().built()));
  auto after = records_of(*h.store, RecordQuery{});
  REQUIRE(after.size() == before.size());
  for (const auto& [id, r] : before) {
    INFO(id);
    CHECK(after[id].json == r.json);
    CHECK(after[id].revision == r.revision);
    CHECK(after[id].persons == r.persons);
  }
  CHECK(must(build_current_records(*h.store, Schema::v1(), static_cast<int64_t>(h.clock.now()))) == 0);  // once only
}

TEST_CASE("Deleting a family's rows (erasure) deletes its current records", "[unit][records]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  record_family(h, hv, "fam-a");
  record_family(h, hv, "fam-b");
  must(h.store->transaction([&]() -> Result<void> {
    auto any = h.store->delete_family("fam-a");
    if (!any) return any.error();
    CHECK(*any);
    return {};
  }));
  CHECK(ids_of(*h.store, RecordQuery::of_family("fam-a")).empty());
  RecordQuery mum;
  mum.person = "fam-a-mum";
  CHECK(must(h.store->records().count(mum)) == 0);
  CHECK(ids_of(*h.store, RecordQuery::of_family("fam-b")).size() == 6);
}

TEST_CASE("hearth-server records prints the records asked for and audits who read them", "[unit][records]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  record_family(h, hv, "fam-a");
  record_family(h, hv, "fam-b");
  RecordsArgs args;
  args.by = "ig-1";
  args.query.type = "Person";
  args.query.family = "fam-b";
  std::ostringstream out, err;
  REQUIRE(records_command(*h.store, args, 1'790'000'000'000, out, err) == 0);
  std::istringstream lines(out.str());
  std::set<std::string> ids;
  for (std::string line; std::getline(lines, line);) {
    auto j = nlohmann::json::parse(line);
    CHECK(j["type"] == "Person");
    ids.insert(j["id"].get<std::string>());
  }
  CHECK(ids == std::set<std::string>{"fam-b-mum", "fam-b-child"});
  const std::string db = h.db.location();
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'records-read' AND actor = 'ig-1' AND family = ''") == 1);
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'records-read' AND actor = 'ig-1' AND family = 'fam-b'") == 1);

  // bad arguments: a clear message, nothing printed, nothing audited
  for (auto bad : {std::pair<std::string, std::string>{"by", "not an id"}, {"type", "Bad Type"}, {"from", "last week"},
                   {"family_wide", ""}}) {
    INFO(bad.first);
    RecordsArgs b;
    b.by = bad.first == "by" ? bad.second : "ig-1";
    if (bad.first == "type") b.query.type = bad.second;
    if (bad.first == "from") b.query.from = bad.second;
    if (bad.first == "family_wide") b.query.family_wide = true;
    std::ostringstream o, e;
    CHECK(records_command(*h.store, b, 1'790'000'000'000, o, e) == 1);
    CHECK(o.str().empty());
    CHECK_FALSE(e.str().empty());
  }
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'records-read'") == 2);
}

TEST_CASE("Storage transactions run before-commit steps (which may add steps) and after-rollback steps", "[unit][records]") {
  ServiceHarness h;
  Storage& s = *h.store;
  std::vector<std::string> ran;
  CHECK(s.transaction_id() == 0);
  must(s.transaction([&]() -> Result<void> {
    CHECK(s.transaction_id() != 0);
    s.before_commit([&]() -> Result<void> {
      ran.push_back("first");
      for (int i = 0; i < 40; ++i)  // the steps' vector grows while this step runs
        s.before_commit([&, i]() -> Result<void> {
          if (i == 39) ran.push_back("added");
          return {};
        });
      return {};
    });
    s.after_rollback([&]() { ran.push_back("rollback on success"); });
    return {};
  }));
  CHECK(ran == std::vector<std::string>{"first", "added"});
  CHECK(s.transaction_id() == 0);
  ran.clear();
  auto failed = s.transaction([&]() -> Result<void> {
    s.before_commit([&]() -> Result<void> { return make_error(ErrorCode::storage, "the step failed"); });
    s.after_rollback([&]() { ran.push_back("rolled back"); });
    return {};
  });
  CHECK_FALSE(failed);
  CHECK(ran == std::vector<std::string>{"rolled back"});
}

TEST_CASE("A push that rolls back leaves no op it wrote in the family cache", "[unit][records]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  record_family(h, hv, "fam-a");
  // an authority write to fam-a that fails after its op was applied: the cache must not keep it
  auto failed = h.service.with_context([&](ServiceContext& ctx) {
    return ctx.store.transaction([&]() -> Result<void> {
      AuthorityWrite w{"fam-a", kOfficeAuthor, "test", "", [](ServiceContext&, const sync::Materialiser&) {
                         return Result<std::vector<AuthorityEdit>>(std::vector<AuthorityEdit>{
                             AuthorityEdit::set("fam-a", "phone", Value(std::string("07700 999999")))});
                       }};
      auto ops = write_as_authority(ctx, w);
      if (!ops) return ops.error();
      return make_error(ErrorCode::storage, "the disk filled up after the write");
    });
  });
  CHECK_FALSE(failed);
  auto rendered = merged(h, "fam-a");
  CHECK(rendered["fam-a"].find("07700 999999") == std::string::npos);
  CHECK(rendered["fam-a"].find("07700 900123") != std::string::npos);
  CHECK(must(h.store->records().get("fam-a"))->json.find("07700 999999") == std::string::npos);
}
