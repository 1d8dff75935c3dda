#include <catch2/catch.hpp>

#include <filesystem>
#include <set>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>
#include <sqlite3.h>

#include "hearth/client/store.hpp"
#include "hearth/sync/encoding.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "../support/fake_clock.hpp"
#include "../support/must.hpp"
#include "../support/samples.hpp"
#include "../support/temp_dir.hpp"

using namespace hearth;
using namespace hearth::client;
using Catch::Matchers::Contains;
using hearth::test::must;

namespace {

// A cheap KDF keeps the suite fast; the default cost is exercised by test_encryption.cpp.
KdfParams test_kdf() { return KdfParams{1u << 10, 8, 1}; }

std::unique_ptr<Store> open_store(const std::string& path, const std::string& who = "hv-1",
                                  std::function<Result<void>(std::string_view)> fault = {}, int64_t max_pages = 0) {
  StoreOptions o;
  o.practitioner_id = who;
  o.pin = "2468";
  o.kdf = test_kdf();
  o.max_pages = max_pages;
  auto s = Store::open(path, std::move(o));
  INFO((s.ok() ? std::string() : s.error().describe()));
  REQUIRE(s.ok());
  if (fault) sync_port(**s).set_fault_hook(std::move(fault));
  return std::move(s.value());
}


}  // namespace

TEST_CASE("Store: create, update, read a family and its chronology", "[unit][store]") {
  test::TempDir dir;
  auto s = open_store(dir.file("a.db"));
  std::string fam = must(s->create_family(test::family_fields()));
  std::string later = must(s->create(fam, "Contact", test::contact_fields("2026-01-07T15:00:00Z", "second visit")));
  std::string earlier = must(s->create(fam, "Contact", test::contact_fields("2026-01-07T10:00:00Z", "first visit")));
  must(s->update(fam, "phone", "07700 900001"));

  auto f = must(s->family(fam));
  CHECK(f.entities.size() == 3);
  REQUIRE(f.chronology.size() == 2);
  CHECK(f.chronology[0].id == earlier);
  CHECK(f.chronology[1].id == later);
  CHECK_THAT(s->get(fam)->json, Contains("\"phone\":\"07700 900001\""));
  auto h = must(s->history(fam, "phone"));
  CHECK(h.size() == 2);
  auto st = must(s->status());
  CHECK(st.families == 1);
  CHECK(st.unsynced == 4);
  CHECK(st.open_conflicts == 0);
}

TEST_CASE("Store: bad input is refused with a precise error and changes nothing", "[unit][store]") {
  test::TempDir dir;
  auto s = open_store(dir.file("a.db"));
  std::string fam = must(s->create_family(test::family_fields()));
  auto before = must(s->export_family(fam));
  auto ops_before = must(s->status()).ops;

  auto unknown_family = s->create("no-such-family", "Contact", test::contact_fields("2026-01-07T10:00:00Z", "x"));
  REQUIRE_FALSE(unknown_family.ok());
  CHECK(unknown_family.error().code == ErrorCode::not_found);
  CHECK_THAT(unknown_family.error().message, Contains("no family with id 'no-such-family'"));

  auto bad_type = s->create(fam, "Spaceship", {});
  REQUIRE_FALSE(bad_type.ok());
  CHECK_THAT(bad_type.error().message, Contains("unknown entity type 'Spaceship'"));

  auto bad_value = s->update(fam, "preferred_contact", "CARRIER_PIGEON");
  REQUIRE_FALSE(bad_value.ok());
  CHECK(bad_value.error().code == ErrorCode::validation);
  CHECK_THAT(bad_value.error().message, Contains("Family.preferred_contact") && Contains("CARRIER_PIGEON"));

  auto missing = s->update("nobody", "phone", "1");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::not_found);

  auto no_conflict = s->resolve_conflict("c-0000", std::nullopt);
  REQUIRE_FALSE(no_conflict.ok());
  CHECK(no_conflict.error().code == ErrorCode::not_found);

  CHECK(must(s->export_family(fam)) == before);
  CHECK(must(s->status()).ops == ops_before);
  CHECK_FALSE(Store::open(dir.file("b.db"), StoreOptions{}).ok());  // no practitioner
  StoreOptions other;
  other.practitioner_id = "yw-1";
  other.pin = "2468";
  other.kdf = test_kdf();
  auto not_theirs = Store::open(dir.file("a.db"), other);
  REQUIRE_FALSE(not_theirs.ok());
  CHECK_THAT(not_theirs.error().message, Contains("belongs to practitioner hv-1"));
}

TEST_CASE("Store: closing and reopening gives the same state, and edits continue", "[unit][store]") {
  test::TempDir dir;
  std::string fam, state, ep;
  std::vector<sync::OpId> ids;
  {
    auto s = open_store(dir.file("a.db"));
    fam = must(s->create_family(test::family_fields()));
    ep = must(s->create(fam, "EarlyHelpEpisode", test::episode_fields()));
    must(s->add_element(ep, "taf_members", "yw-1"));
    must(s->transition(ep, "ASSESSMENT"));
    state = must(s->export_family(fam));
    ids = must(sync_port(*s).op_ids());
  }
  auto s = open_store(dir.file("a.db"));
  CHECK(must(s->export_family(fam)) == state);
  CHECK(must(sync_port(*s).op_ids()) == ids);
  must(s->transition(ep, "PLANNING"));  // the in-memory merge is rebuilt from the log
  CHECK_THAT(s->get(ep)->json, Contains("\"status\":\"PLANNING\""));
  auto all = must(sync_port(*s).op_ids());
  CHECK(all.size() == ids.size() + 1);
  CHECK(std::adjacent_find(all.begin(), all.end()) == all.end());  // the counter did not restart
}

TEST_CASE("Store: an edit interrupted before commit leaves no partial state", "[fault][store]") {
  test::TempDir dir;
  bool fail_next = false;
  auto s = open_store(dir.file("a.db"), "hv-1", [&](std::string_view point) -> Result<void> {
    if (fail_next && point == "before_commit") return make_error(ErrorCode::storage, "injected failure");
    return {};
  });
  std::string fam = must(s->create_family(test::family_fields()));
  auto before = must(s->export_family(fam));
  auto status_before = must(s->status());

  fail_next = true;
  auto r = s->update(fam, "phone", "07700 900009");
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("injected failure"));
  auto c = s->create(fam, "Contact", test::contact_fields("2026-01-07T10:00:00Z", "lost?"));
  REQUIRE_FALSE(c.ok());
  fail_next = false;

  CHECK(must(s->export_family(fam)) == before);
  CHECK(must(s->status()).ops == status_before.ops);
  CHECK(must(s->status()).unsynced == status_before.unsynced);
  CHECK(must(sync_port(*s).outbox()).size() == status_before.unsynced);
  must(s->update(fam, "phone", "07700 900010"));  // and the store carries on
  CHECK_THAT(s->get(fam)->json, Contains("07700 900010"));
  auto h = must(s->history(fam, "phone"));
  CHECK(h.size() == 2);  // the interrupted write is not in the history
}

TEST_CASE("Store: a process killed in the middle of an edit loses only that edit", "[fault][store]") {
  test::TempDir dir;
  std::string path = dir.file("a.db");
  std::string fam, before;
  {
    auto s = open_store(path);
    fam = must(s->create_family(test::family_fields()));
    must(s->update(fam, "phone", "07700 900001"));
    before = must(s->export_family(fam));
  }
  pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    StoreOptions o;
    o.practitioner_id = "hv-1";
    o.pin = "2468";
    o.kdf = test_kdf();
    auto s = Store::open(path, std::move(o));
    if (!s) _exit(2);
    sync_port(**s).set_fault_hook([](std::string_view point) -> Result<void> {
      if (point == "before_commit") _exit(7);  // dies with the transaction open
      return {};
    });
    (void)(*s)->update(fam, "phone", "07700 999999");
    _exit(3);
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  REQUIRE(WIFEXITED(status));
  REQUIRE(WEXITSTATUS(status) == 7);
  auto s = open_store(path);
  CHECK(must(s->export_family(fam)) == before);
  CHECK(must(s->status()).ops == 2);
  CHECK(must(sync_port(*s).outbox()).size() == 2);
}

TEST_CASE("Store: a corrupted op in a remote batch is rejected and the rest applied intact", "[fault][store]") {
  test::TempDir dir;
  auto a = open_store(dir.file("a.db"), "hv-1");
  auto b = open_store(dir.file("b.db"), "yw-1");
  std::string fam = must(a->create_family(test::family_fields()));
  must(a->create(fam, "Contact", test::contact_fields("2026-01-07T10:00:00Z", "visit")));
  must(a->update(fam, "phone", "07700 900001"));
  auto ops = must(sync_port(*a).encoded_ops(fam));
  REQUIRE(ops.size() == 3);

  std::string corrupted = ops[1];
  corrupted[corrupted.size() / 2] = static_cast<char>(corrupted[corrupted.size() / 2] ^ 0x5A);
  corrupted.resize(corrupted.size() - 3);
  sync::Op bad_schema = *sync::decode(ops[2]);
  bad_schema.id.counter = 99;
  bad_schema.value = Value("");  // still a string...
  bad_schema.field = "shoe_size";  // ...but on an unknown field
  std::vector<std::string> batch = {ops[0], corrupted, sync::encode(bad_schema), ops[2]};

  auto report = must(sync_port(*b).apply_remote(batch));
  CHECK(report.applied == 2);
  REQUIRE(report.rejected.size() == 2);
  CHECK(report.rejected[0].index == 1);
  CHECK(report.rejected[0].error.code == ErrorCode::corrupt);
  CHECK(report.rejected[1].index == 2);
  CHECK_THAT(report.rejected[1].error.message, Contains("Family.shoe_size") && Contains("unknown field"));
  CHECK(must(b->status()).ops == 2);
  CHECK(must(b->status()).unsynced == 0);  // remote ops are not ours to push
  CHECK_THAT(b->get(fam)->json, Contains("07700 900001"));

  // the missing op arrives intact later; duplicates are counted, not re-applied
  auto again = must(sync_port(*b).apply_remote(ops));
  CHECK(again.applied == 1);
  CHECK(again.duplicates == 2);
  CHECK(must(b->export_family(fam)) == must(a->export_family(fam)));
}

TEST_CASE("Store: a failed remote batch is rolled back whole", "[fault][store]") {
  test::TempDir dir;
  auto a = open_store(dir.file("a.db"), "hv-1");
  bool fail = true;
  auto b = open_store(dir.file("b.db"), "yw-1", [&](std::string_view) -> Result<void> {
    if (fail) return make_error(ErrorCode::storage, "disk went away");
    return {};
  });
  std::string fam = must(a->create_family(test::family_fields()));
  must(a->update(fam, "phone", "07700 900001"));
  auto r = sync_port(*b).apply_remote(must(sync_port(*a).encoded_ops(fam)));
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("disk went away"));
  CHECK(must(b->status()).ops == 0);
  CHECK_FALSE(b->get(fam).ok());
  fail = false;
  auto ok = must(sync_port(*b).apply_remote(must(sync_port(*a).encoded_ops(fam))));
  CHECK(ok.applied == 2);  // nothing was half-remembered in memory either
  CHECK(must(b->export_family(fam)) == must(a->export_family(fam)));
}

TEST_CASE("Store: a full disk fails the write with a clear error and keeps what was accepted", "[fault][store]") {
  test::TempDir dir;
  auto s = open_store(dir.file("a.db"), "hv-1", {}, /*max_pages*/ 40);
  std::string fam = must(s->create_family(test::family_fields()));
  std::string big(3000, 'x');
  size_t accepted = 0;
  Error last{ErrorCode::storage, ""};
  for (int i = 0; i < 200; ++i) {
    auto r = s->create(fam, "Contact", test::contact_fields("2026-01-07T10:00:00Z", big + std::to_string(i)));
    if (!r) {
      last = r.error();
      break;
    }
    ++accepted;
  }
  REQUIRE(accepted < 200);
  CHECK(last.code == ErrorCode::storage);
  CHECK_THAT(last.message, Contains("full"));
  CHECK(must(s->chronology(fam)).size() == accepted);
  CHECK(must(s->status()).unsynced == accepted + 1);
}

TEST_CASE("Store: the outbox holds local edits until they are pushed", "[unit][store]") {
  test::TempDir dir;
  auto s = open_store(dir.file("a.db"));
  std::string fam = must(s->create_family(test::family_fields()));
  must(s->update(fam, "phone", "1"));
  auto out = must(sync_port(*s).outbox());
  REQUIRE(out.size() == 2);
  CHECK(out[0].id.device == s->device_id());
  CHECK(out[0].id.counter == 1);
  CHECK(sync::decode(out[1].bytes)->field == "phone");
  must(sync_port(*s).mark_pushed({out[0].seq}));
  CHECK(must(sync_port(*s).outbox()).size() == 1);
  CHECK(must(s->status()).ops == 2);
}

TEST_CASE("Store: conflicts are listed and resolved through the store", "[unit][store]") {
  test::TempDir dir;
  auto a = open_store(dir.file("a.db"), "hv-1");
  auto b = open_store(dir.file("b.db"), "tm-1");
  std::string fam = must(a->create_family(test::family_fields()));
  std::string ep = must(a->create(fam, "EarlyHelpEpisode", test::episode_fields()));
  must(sync_port(*b).apply_remote(must(sync_port(*a).encoded_ops(fam))));
  must(a->update(ep, "level_of_need", "L4"));
  must(b->update(ep, "level_of_need", "L2"));
  must(sync_port(*a).apply_remote(must(sync_port(*b).encoded_ops(fam))));
  must(sync_port(*b).apply_remote(must(sync_port(*a).encoded_ops(fam))));
  auto conflicts = must(b->open_conflicts(fam));
  REQUIRE(conflicts.size() == 1);
  CHECK(conflicts[0].kind == sync::ConflictKind::Confirm);
  CHECK(must(b->family(fam)).conflicts.size() == 1);
  CHECK_THAT(b->get(ep)->json, Contains("\"level_of_need\":\"L4\""));
  must(b->resolve_conflict(conflicts[0].id, Value("L3")));
  must(sync_port(*a).apply_remote(must(sync_port(*b).encoded_ops(fam))));
  CHECK(must(a->open_conflicts(fam)).empty());
  CHECK(must(a->export_family(fam)) == must(b->export_family(fam)));
  CHECK(must(a->status()).open_conflicts == 0);
}

TEST_CASE("Store: an atomic group of edits is kept whole or not at all", "[unit][store]") {
  test::TempDir dir;
  bool fail_commit = false;
  auto s = open_store(dir.file("a.db"), "hv-1", [&](std::string_view point) -> Result<void> {
    if (fail_commit && point == "before_commit") return make_error(ErrorCode::storage, "injected");
    return {};
  });
  std::string fam = must(s->create_family(test::family_fields()));
  std::string ep = must(s->create(fam, "EarlyHelpEpisode", test::episode_fields()));
  auto before = must(s->export_family(fam));
  auto ops_before = must(s->status()).ops;

  SECTION("all edits of a saved form are kept, in one transaction") {
    must(s->atomically([&]() -> Result<void> {
      if (auto r = s->update(ep, "level_of_need", "L2"); !r) return r;
      if (auto r = s->update(ep, "level_local_label", "Universal Plus"); !r) return r;
      return s->add_element(ep, "taf_members", "yw-1");
    }));
    CHECK(must(s->status()).ops == ops_before + 3);
    CHECK_THAT(s->get(ep)->json, Contains("Universal Plus") && Contains("yw-1"));
  }
  SECTION("an invalid edit in the group keeps none of it") {
    auto r = s->atomically([&]() -> Result<void> {
      if (auto e = s->update(ep, "level_of_need", "L2"); !e) return e;
      return s->update(ep, "level_of_need", "L9");
    });
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("EarlyHelpEpisode.level_of_need"));
    CHECK(must(s->export_family(fam)) == before);
    CHECK(must(s->status()).ops == ops_before);
  }
  SECTION("a failed commit keeps none of it, and numbering carries on without a gap") {
    fail_commit = true;
    auto r = s->atomically([&]() -> Result<void> { return s->update(ep, "level_of_need", "L2"); });
    REQUIRE_FALSE(r.ok());
    fail_commit = false;
    CHECK(must(s->export_family(fam)) == before);
    must(s->update(ep, "level_of_need", "L1"));
    auto ids = must(sync_port(*s).op_ids());
    CHECK(ids.back().counter == ops_before + 1);
  }
  SECTION("groups do not nest") {
    auto r = s->atomically([&]() -> Result<void> { return s->atomically([] { return Result<void>(); }); });
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("do not nest"));
  }
}

// Issue 7, fault 4 (read side): "an op whose text is not valid UTF-8 is accepted by the server;
// afterwards `hearth family` aborts (signal 6) on every team tablet". The decoder now refuses
// such an op, so the bad value is planted in the rows the way a store written before that check
// holds it. The store is unencrypted so the planted bytes are read as they are (an encrypted row
// that was altered fails authentication first, which the CLI test covers). No reader may abort
// on it: each reports ErrorCode::corrupt naming the record and the field.
namespace {
std::unique_ptr<Store> open_plain_store(const std::string& path, const std::string& who) {
  StoreOptions o;
  o.practitioner_id = who;
  o.encrypted = false;
  return must(Store::open(path, std::move(o)));
}
void plant(const std::string& path, const std::string& sql) {
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  char* err = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &err);
  INFO((err ? err : ""));
  sqlite3_free(err);
  CHECK(sqlite3_changes(db) == 1);
  sqlite3_close(db);
  REQUIRE(rc == SQLITE_OK);
}
}  // namespace

TEST_CASE("Store: a stored text that is not valid UTF-8 is an error naming the record, never an abort", "[fault][store]") {
  test::TempDir dir;
  auto a = open_store(dir.file("a.db"), "hv-1");
  std::string path = dir.file("b.db");
  std::string fam = must(a->create_family(test::family_fields()));
  must(a->update(fam, "phone", "07700 900001"));
  {
    auto b = open_plain_store(path, "yw-1");
    REQUIRE(must(sync_port(*b).apply_remote(must(sync_port(*a).encoded_ops(fam)))).applied == 2);
  }
  plant(path, "UPDATE fields SET value = CAST(X'22303737303020FFFE22' AS BLOB) WHERE entity = '" + fam +
                  "' AND name = 'phone'");
  auto b = open_plain_store(path, "yw-1");

  auto view = b->family(fam);
  REQUIRE_FALSE(view.ok());
  CHECK(view.error().code == ErrorCode::corrupt);
  CHECK_THAT(view.error().message, Contains("record " + fam) && Contains("field phone") && Contains("UTF-8"));
  auto one = b->get(fam);
  REQUIRE_FALSE(one.ok());
  CHECK(one.error().code == ErrorCode::corrupt);
  auto exported = b->export_family(fam);
  REQUIRE_FALSE(exported.ok());
  CHECK_THAT(exported.error().message, Contains(fam));
  // the rest of the store stays usable, and a later edit that supersedes the value mends it
  CHECK(must(b->status()).families == 1);
  CHECK(must(b->families()) == std::vector<std::string>{fam});
  must(b->update(fam, "phone", "07700 900003"));
  CHECK_THAT(must(b->family(fam)).entities.front().json, Contains("07700 900003"));
}

TEST_CASE("Store: conflict values that are not valid UTF-8 are an error naming the conflict", "[fault][store]") {
  test::TempDir dir;
  std::string path = dir.file("a.db");
  auto b = open_store(dir.file("b.db"), "yw-1");
  std::string fam;
  {
    auto a = open_plain_store(path, "hv-1");
    fam = must(a->create_family(test::family_fields()));
    must(sync_port(*b).apply_remote(must(sync_port(*a).encoded_ops(fam))));
    must(a->update(fam, "display_name", "Family G"));  // MULTI_VALUE_REVIEW: concurrent values are a conflict
    must(b->update(fam, "display_name", "Family H"));
    must(sync_port(*a).apply_remote({must(sync_port(*b).encoded_ops(fam)).back()}));
    REQUIRE(must(a->open_conflicts(fam)).size() == 1);
  }
  // "Family H" becomes "Family " and a truncated two-byte sequence
  plant(path, "UPDATE conflicts SET body = CAST(replace(CAST(body AS TEXT), 'Family H', 'Family ' || CAST(X'C3' AS TEXT)) AS BLOB) "
              "WHERE family = '" + fam + "'");
  auto a = open_plain_store(path, "hv-1");
  auto exported = a->export_family(fam);
  REQUIRE_FALSE(exported.ok());
  CHECK(exported.error().code == ErrorCode::corrupt);
  CHECK_THAT(exported.error().message, Contains("conflict ") && Contains("UTF-8"));
  CHECK(must(a->status()).open_conflicts == 1);  // the store stays usable
}

namespace {
// The outbox seq of each queued op, in order.
std::vector<int64_t> queued_seqs(Store& s) {
  std::vector<int64_t> out;
  for (const auto& e : must(sync_port(s).outbox())) out.push_back(e.seq);
  return out;
}
}  // namespace

// Fault 2, device side (issue 7): a practitioner taken off a family's team records a visit
// offline; the server refuses it and then tells the device to purge the family. Before, the
// purge erased the note: it was on no server, no tablet, in no list.
TEST_CASE("Store: a refused visit note is quarantined and survives the purge instruction until acknowledged",
          "[fault][store]") {
  test::TempDir dir;
  auto lead = open_store(dir.file("lead.db"), "hv-1");
  auto off = open_store(dir.file("off.db"), "yw-1");
  std::string fam = must(lead->create_family(test::family_fields()));
  must(sync_port(*off).apply_page(fam, must(sync_port(*lead).encoded_ops(fam)), 1));
  // offline, after being taken off the team
  std::string visit = must(off->create(fam, "Contact", test::contact_fields("2026-11-23T10:00:00Z", "MRK visit note")));
  auto seqs = queued_seqs(*off);
  REQUIRE(seqs.size() == 1);

  SECTION("unsent work is never purged") {
    auto refused = off->purge_family(fam);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::conflict);
    CHECK_THAT(refused.error().message, Contains("1 operations wait to be sent"));
    CHECK(must(off->status()).unsynced == 1);
  }
  SECTION("a refused op is quarantined, reported, and purged only after the acknowledgement") {
    must(sync_port(*off).record_push({}, {{seqs[0], "no access to family " + fam}}, 1000));
    CHECK(must(off->status()).unsynced == 0);  // it does not block the queue
    CHECK(must(off->status()).quarantined == 1);
    auto q = must(off->quarantine());
    REQUIRE(q.size() == 1);
    CHECK(q[0].op_id == off->device_id() + ":1");
    CHECK(q[0].family == fam);
    CHECK_THAT(q[0].reason, Contains("no access"));
    CHECK(q[0].at_ms == 1000);
    CHECK_FALSE(q[0].reported);
    CHECK_FALSE(q[0].acknowledged);

    // the purge instruction arrives: refused, nothing erased
    auto refused = off->purge_family(fam);
    REQUIRE_FALSE(refused.ok());
    CHECK(refused.error().code == ErrorCode::conflict);
    CHECK_THAT(refused.error().message, Contains("refused wait for it to acknowledge"));
    CHECK_THAT(must(off->get(visit)).json, Contains("MRK visit note"));

    must(sync_port(*off).mark_quarantine_reported({q[0].op_id}));
    CHECK(must(off->quarantine())[0].reported);
    CHECK_FALSE(off->purge_family(fam).ok());  // reported is not yet acknowledged
    CHECK_THAT(must(off->get(visit)).json, Contains("MRK visit note"));

    must(sync_port(*off).mark_quarantine_acknowledged({q[0].op_id, "unknown:9"}));
    CHECK(must(off->quarantine())[0].acknowledged);
    must(off->purge_family(fam));
    CHECK(must(off->quarantine()).empty());
    CHECK(must(off->status()).families == 0);
    CHECK(must(sync_port(*off).encoded_ops(fam)).empty());
  }
}

TEST_CASE("Store: a new server history forgets the cursors and sends every own op again", "[fault][store]") {
  test::TempDir dir;
  auto other = open_store(dir.file("other.db"), "yw-1");
  auto s = open_store(dir.file("a.db"));
  std::string theirs = must(other->create_family(test::family_fields("Theirs")));
  must(sync_port(*s).apply_page(theirs, must(sync_port(*other).encoded_ops(theirs)), 7));
  must(sync_port(*s).finish_pull(42, 1000));
  must(sync_port(*s).set_history_epoch("epoch-1"));
  std::string fam = must(s->create_family(test::family_fields()));
  must(s->update(fam, "phone", "07700 900001"));
  must(s->update(fam, "phone", "07700 900002"));
  auto seqs = queued_seqs(*s);
  REQUIRE(seqs.size() == 3);
  CHECK(must(sync_port(*s).delivered_counter()) == 0);
  must(sync_port(*s).record_push({seqs[0], seqs[1]}, {{seqs[2], "refused"}}, 1000));
  CHECK(must(sync_port(*s).delivered_counter()) == 2);  // the refused third is not delivered
  auto before = must(sync_port(*s).cursors());
  CHECK(before.history_epoch == "epoch-1");
  CHECK(before.families.at(theirs) == 7);
  CHECK(before.feed_version == 42);

  must(sync_port(*s).reset_for_new_history("epoch-2"));
  auto after = must(sync_port(*s).cursors());
  CHECK(after.history_epoch == "epoch-2");
  CHECK(after.families.empty());
  CHECK_FALSE(after.feed_version.has_value());
  CHECK(must(sync_port(*s).delivered_counter()) == 0);
  // every own op is queued again (the refused one too), none of the other device's
  auto again = must(sync_port(*s).outbox());
  REQUIRE(again.size() == 3);
  for (const auto& e : again) CHECK(e.id.device == s->device_id());
  // the new history accepts what the old one refused: it leaves the quarantine
  must(sync_port(*s).record_push(queued_seqs(*s), {}, 2000));
  CHECK(must(s->quarantine()).empty());
  CHECK(must(sync_port(*s).delivered_counter()) == 3);
  CHECK(must(s->status()).unsynced == 0);
}

TEST_CASE("Store: a wipe says what was on no server", "[fault][store]") {
  test::TempDir dir;
  std::string path = dir.file("a.db");
  auto s = open_store(path);
  std::string fam = must(s->create_family(test::family_fields()));
  must(s->update(fam, "phone", "07700 900001"));
  auto seqs = queued_seqs(*s);
  must(sync_port(*s).record_push({}, {{seqs[0], "refused"}}, 1));
  auto lost = must(s->wipe());
  CHECK(lost.unsynced == 1);
  CHECK(lost.quarantined == 1);
  CHECK_FALSE(std::filesystem::exists(path));
  // a wiped Store answers every call with an error, never a crash
  auto after = s->get(fam);
  REQUIRE_FALSE(after.ok());
  CHECK_THAT(after.error().message, Contains("wiped"));
  CHECK_FALSE(s->create_family(test::family_fields()).ok());
  CHECK_FALSE(s->status().ok());
  CHECK_FALSE(sync_port(*s).outbox().ok());
}

// Fault 6 (issue 7): two Stores on one file, the documented way to sync on a worker thread
// while the UI thread edits, intermittently failed a sync with a unique-constraint error on the
// op id: each connection allocated op counters from its own in-memory copy, and the worker's
// cached merge did not know the ops the other connection had written. Counters now come from
// the database inside the writing transaction, and each Store's caches check data_version.
TEST_CASE("Store: two Stores on one file, one editing and one syncing, never collide on an op id", "[fault][store]") {
  test::TempDir dir;
  std::string path = dir.file("tablet.db");
  auto other = open_store(dir.file("other.db"), "yw-1");
  std::string theirs = must(other->create_family(test::family_fields("Theirs")));
  constexpr int kRounds = 200;
  for (int i = 0; i < kRounds; ++i) must(other->update(theirs, "phone", "07700 " + std::to_string(100000 + i)));
  auto remote = must(sync_port(*other).encoded_ops(theirs));

  auto ui = open_store(path);
  auto worker = open_store(path);
  std::string mine = must(ui->create_family(test::family_fields("Mine")));
  std::string worker_fam = must(worker->create_family(test::family_fields("Worker's")));
  // both have the families in their caches before the race starts
  REQUIRE(must(worker->open_conflicts(mine)).empty());
  REQUIRE(must(ui->open_conflicts(worker_fam)).empty());

  std::vector<std::string> ui_errors, worker_errors;
  std::thread ui_thread([&] {
    for (int i = 0; i < kRounds; ++i)
      if (auto r = ui->update(mine, "phone", "07700 " + std::to_string(200000 + i)); !r)
        ui_errors.push_back(r.error().describe());
  });
  std::thread worker_thread([&] {
    size_t next = 0;
    for (int i = 0; i < kRounds; ++i) {
      // an edit of its own, then a sync round: push what is queued, pull a page from the server
      // (which echoes this device's own ops back, as a pull does)
      if (auto r = worker->update(worker_fam, "phone", "07700 " + std::to_string(300000 + i)); !r)
        worker_errors.push_back(r.error().describe());
      auto queued = sync_port(*worker).outbox(50);
      if (!queued) {
        worker_errors.push_back(queued.error().describe());
        continue;
      }
      std::vector<int64_t> seqs;
      for (const auto& e : *queued) seqs.push_back(e.seq);
      if (auto r = sync_port(*worker).record_push(seqs, {}, i); !r) worker_errors.push_back(r.error().describe());
      auto echo = sync_port(*worker).encoded_ops(mine);
      if (!echo) {
        worker_errors.push_back(echo.error().describe());
        continue;
      }
      if (auto r = sync_port(*worker).apply_page(mine, *echo, i); !r) worker_errors.push_back(r.error().describe());
      std::vector<std::string> page(remote.begin() + static_cast<std::ptrdiff_t>(next),
                                    remote.begin() + static_cast<std::ptrdiff_t>(std::min(remote.size(), next + 2)));
      next = std::min(remote.size(), next + 2);
      if (auto r = sync_port(*worker).apply_page(theirs, page, static_cast<int64_t>(next)); !r)
        worker_errors.push_back(r.error().describe());
    }
  });
  ui_thread.join();
  worker_thread.join();
  INFO("ui: " << (ui_errors.empty() ? "" : ui_errors.front()) << " worker: "
              << (worker_errors.empty() ? "" : worker_errors.front()));
  CHECK(ui_errors.empty());
  CHECK(worker_errors.empty());

  // every op id is unique, and each Store sees every edit of the other
  auto ids = must(sync_port(*ui).op_ids());
  std::set<std::string> unique;
  for (const auto& id : ids) unique.insert(id.to_string());
  CHECK(unique.size() == ids.size());
  CHECK(ids.size() == 2 + 2 * kRounds + remote.size());
  CHECK_THAT(must(worker->get(mine)).json, Contains("07700 " + std::to_string(200000 + kRounds - 1)));
  CHECK_THAT(must(ui->get(worker_fam)).json, Contains("07700 " + std::to_string(300000 + kRounds - 1)));
  // a third Store opened afterwards rebuilds the same state from the log
  auto reopened = open_store(path);
  CHECK(must(reopened->export_family(mine)) == must(ui->export_family(mine)));
  CHECK(must(reopened->open_conflicts(mine)).size() == must(worker->open_conflicts(mine)).size());
}

// No exception leaves a public call (issue 7): an exception from below (here the app's clock)
// becomes an error value naming the call, and the Store stays usable.
TEST_CASE("Store: an exception inside a call becomes an error value, and the store stays usable", "[fault][store]") {
  test::TempDir dir;
  std::string path = dir.file("a.db");
  std::string fam;
  {
    auto s = open_store(path);
    fam = must(s->create_family(test::family_fields()));
  }
  auto throwing = std::make_shared<bool>(false);
  StoreOptions o;
  o.practitioner_id = "hv-1";
  o.pin = "2468";
  o.kdf = test_kdf();
  const uint64_t now = test::wall_now_ms();  // within the store's key lease (N5)
  o.clock = [throwing, now]() -> uint64_t {
    if (*throwing) throw std::runtime_error("clock hardware fault");
    return now;
  };
  auto s = must(Store::open(path, o));

  *throwing = true;
  auto edit = s->update(fam, "phone", "07700 900009");
  REQUIRE_FALSE(edit.ok());
  CHECK(edit.error().code == ErrorCode::storage);
  CHECK_THAT(edit.error().message, Contains("update") && Contains("clock hardware fault"));
  auto created = s->create_family(test::family_fields("Other"));
  REQUIRE_FALSE(created.ok());
  CHECK(created.error().code == ErrorCode::storage);
  auto group = s->atomically([&]() -> Result<void> { throw std::runtime_error("a form handler failed"); });
  REQUIRE_FALSE(group.ok());
  CHECK_THAT(group.error().message, Contains("a form handler failed"));

  *throwing = false;
  CHECK_THAT(must(s->get(fam)).json, Contains("07700 900000"));  // nothing half-written
  must(s->update(fam, "phone", "07700 900010"));
  CHECK_THAT(must(s->get(fam)).json, Contains("07700 900010"));
  must(s->atomically([&]() -> Result<void> { return s->update(fam, "phone", "07700 900011"); }));
  CHECK(must(s->status()).unsynced == 3);
}

// Op ids are never used twice: the server ignores a second op with a known id as a duplicate,
// so a reused counter would silently lose the new edit. A purge erases the family's own ops,
// and the counters must not fall back with them (neither in this Store nor after reopening).
TEST_CASE("Store: a purge never lets an op counter be used again", "[fault][store]") {
  test::TempDir dir;
  std::string path = dir.file("a.db");
  std::string kept;
  {
    auto s = open_store(path);
    kept = must(s->create_family(test::family_fields("Kept")));             // counter 1
    std::string gone = must(s->create_family(test::family_fields("Gone")));  // counter 2
    must(s->update(gone, "phone", "07700 900001"));                          // counter 3
    must(sync_port(*s).mark_pushed(queued_seqs(*s)));
    must(s->purge_family(gone));
    must(s->update(kept, "phone", "07700 900002"));
    auto queued = must(sync_port(*s).outbox());
    REQUIRE(queued.size() == 1);
    CHECK(queued[0].id.counter == 4);
  }
  auto reopened = open_store(path);
  must(reopened->update(kept, "phone", "07700 900003"));
  auto queued = must(sync_port(*reopened).outbox());
  REQUIRE(queued.size() == 2);
  CHECK(queued[1].id.counter == 5);
}
