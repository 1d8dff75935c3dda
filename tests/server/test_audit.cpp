// The audit trail (issue 7, the audit-chain fault): one keyed chain per family plus one for
// events outside any family, chain heads, signed checkpoints kept in the database and exported
// outside it, and `hearth-server verify-audit`. Each test plays the tampering the fault names.
#include <catch2/catch.hpp>
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "../support/must.hpp"
#include "../support/process.hpp"
#include "../support/server_process.hpp"
#include "../support/temp_dir.hpp"
#include "audit/audit_chain.hpp"
#include "audit/hex.hpp"
#include "hearth/core/json_writer.hpp"
#include "hearth/platform/encoding.hpp"
#include "hearth/platform/sqlite_db.hpp"
#include "storage/storage.hpp"

using namespace hearth;
using namespace hearth::server;
using hearth::test::must;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {


audit::Event event(const std::string& family, int i, const std::string& action = "push") {
  return audit::Event{1'790'000'000'000 + i, "hv-1", "dev-1", action, family, "event " + std::to_string(i)};
}

// A trail on its own database in a temporary folder, with events in three chains:
// family:F1 (5 events), family:F2 (3), server (2).
struct Trail {
  test::TempDir dir;
  audit::AuditKey key = must(audit::AuditKey::generate());
  std::unique_ptr<server::sql::Connection> db = must(server::sql::open_sqlite(dir.file("server.db")));
  std::unique_ptr<audit::AuditTrail> trail = must(audit::AuditTrail::open(*db, key));

  void fill() {
    for (int i = 1; i <= 5; ++i) must(trail->append(event("F1", i)));
    for (int i = 1; i <= 3; ++i) must(trail->append(event("F2", i)));
    for (int i = 1; i <= 2; ++i) must(trail->append(event("", i, "denied")));
  }
  void sql(const std::string& statement) { must(db->exec(statement)); }
  std::string text(const std::string& query) {
    auto st = must(db->prepare(query));
    REQUIRE(must(st.step()));
    return st.text(0);
  }
  audit::VerifyReport verify(const std::vector<audit::Checkpoint>& exported = {}) { return must(trail->verify(exported)); }
};

bool has(const audit::VerifyReport& r, audit::Finding::Kind kind, const std::string& chain, const std::string& words) {
  return std::any_of(r.findings.begin(), r.findings.end(), [&](const audit::Finding& f) {
    return f.kind == kind && f.chain == chain && f.message.find(words) != std::string::npos;
  });
}
std::string describe(const audit::VerifyReport& r) {
  std::string s;
  for (const auto& f : r.findings) s += std::string(audit::to_string(f.kind)) + " | " + f.message + "\n";
  return s;
}

// Rewrites chain `chain` of `t` from `from` on as an attacker without the key would: each MAC
// recomputed as plain SHA-256 over the previous MAC and the event's fields; the head follows.
void rechain_with_sha256(Trail& t, const std::string& chain, int from) {
  auto st = must(t.db->prepare("SELECT idx, at, actor, device, action, family, detail, mac FROM audit_events "
                             "WHERE chain = ? ORDER BY idx"));
  st.bind(1, chain);
  std::string prev;
  std::vector<std::pair<int64_t, std::string>> rewritten;
  while (must(st.step())) {
    int64_t idx = st.integer(0);
    if (idx < from) {
      prev = st.text(7);
      continue;
    }
    std::string mac = platform::sha256_hex(chain + std::to_string(idx) + prev + std::to_string(st.integer(1)) +
                                           st.text(2) + st.text(3) + st.text(4) + st.text(5) + st.text(6));
    rewritten.emplace_back(idx, mac);
    prev = mac;
  }
  st.reset();
  for (const auto& [idx, mac] : rewritten)
    t.sql("UPDATE audit_events SET mac = '" + mac + "' WHERE chain = '" + chain + "' AND idx = " + std::to_string(idx));
  t.sql("UPDATE audit_chains SET head = '" + prev + "' WHERE chain = '" + chain + "'");
}

// Replaces chain `chain` of `victim` (events and head) by the same chain of `forged`.
void transplant_chain(Trail& victim, Trail& forged, const std::string& chain) {
  victim.sql("ATTACH DATABASE '" + forged.dir.file("server.db") + "' AS forged");
  victim.sql("DELETE FROM audit_events WHERE chain = '" + chain + "'");
  victim.sql("INSERT INTO audit_events SELECT * FROM forged.audit_events WHERE chain = '" + chain + "'");
  victim.sql("UPDATE audit_chains SET count = (SELECT count FROM forged.audit_chains WHERE chain = '" + chain +
             "'), head = (SELECT head FROM forged.audit_chains WHERE chain = '" + chain + "') WHERE chain = '" + chain + "'");
  victim.sql("DETACH DATABASE forged");
}

}  // namespace

TEST_CASE("Audit: a clean trail verifies, and events of different families land in different chains", "[security][unit]") {
  Trail t;
  t.fill();
  auto r = t.verify();
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.events == 10);
  CHECK(r.chains == 3);
  auto heads = must(t.trail->heads());
  REQUIRE(heads.size() == 3);
  CHECK(heads[0].chain == "family:F1");
  CHECK(heads[0].count == 5);
  CHECK(heads[1].chain == "family:F2");
  CHECK(heads[1].count == 3);
  CHECK(heads[2].chain == "server");
  CHECK(heads[2].count == 2);
  CHECK(t.text("SELECT group_concat(DISTINCT family) FROM audit_events WHERE chain = 'family:F2'") == "F2");
  // and each chain starts its own numbering: no global ordering point
  CHECK(t.text("SELECT group_concat(idx) FROM audit_events WHERE chain = 'family:F2'") == "1,2,3");
}

TEST_CASE("Audit: the server storage appends to per-family chains and its AuditLog verifies them", "[security][unit]") {
  test::TempDir dir;
  auto key = must(audit::AuditKey::generate());
  auto store = must(open_sqlite_storage(dir.file("server.db"), key));
  must(store->transaction([&]() -> Result<void> {
    if (auto r = store->audit().append(AuditEvent{1, "admin", "", "allocate", "F1", "hv-1 (lead)"}); !r) return r;
    return store->audit().append(AuditEvent{2, "admin", "", "allocate", "F2", "yw-1"});
  }));
  must(store->audit().append(AuditEvent{3, "anonymous", "", "denied", "", "no credential"}));
  CHECK(must(store->audit().verify()) == 3);
  {
    auto db = must(server::sql::open_sqlite(dir.file("server.db")));
    auto st = must(db->prepare("SELECT group_concat(chain, ' ') FROM (SELECT chain FROM audit_chains ORDER BY chain)"));
    REQUIRE(must(st.step()));
    CHECK(st.text(0) == "family:F1 family:F2 server");
    st.reset();
    must(db->exec("UPDATE audit_events SET detail = 'yw-1 (lead)' WHERE chain = 'family:F2' AND idx = 1"));
  }
  auto broken = store->audit().verify();
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error().code == ErrorCode::corrupt);
  CHECK_THAT(broken.error().message, Contains("family:F2") && Contains("event 1"));
}

TEST_CASE("Audit: an edited event is found and named", "[security][unit]") {
  Trail t;
  t.fill();
  t.sql("UPDATE audit_events SET detail = 'nothing happened' WHERE chain = 'family:F1' AND idx = 3");
  auto r = t.verify();
  INFO(describe(r));
  REQUIRE(r.findings.size() == 1);
  CHECK(has(r, audit::Finding::Kind::altered, "family:F1", "event 3 does not match its MAC"));
}

TEST_CASE("Audit: deleting the last events is found from the chain head", "[security][unit]") {
  Trail t;
  t.fill();
  t.sql("DELETE FROM audit_events WHERE chain = 'family:F1' AND idx > 3");
  auto r = t.verify();
  INFO(describe(r));
  CHECK(has(r, audit::Finding::Kind::truncated, "family:F1", "events 4 to 5 were deleted"));
  // a whole chain deleted, head and all, is found too when a checkpoint knew of it
  Trail u;
  u.fill();
  must(u.trail->checkpoint(1));
  u.sql("DELETE FROM audit_events WHERE chain = 'family:F2'");
  u.sql("DELETE FROM audit_chains WHERE chain = 'family:F2'");
  auto r2 = u.verify();
  INFO(describe(r2));
  CHECK(has(r2, audit::Finding::Kind::truncated, "family:F2", "events 1 to 3 were deleted"));
}

TEST_CASE("Audit: a deleted event inside a chain is found as a gap", "[security][unit]") {
  Trail t;
  t.fill();
  t.sql("DELETE FROM audit_events WHERE chain = 'family:F1' AND idx = 2");
  auto r = t.verify();
  INFO(describe(r));
  REQUIRE(r.findings.size() == 1);
  CHECK(has(r, audit::Finding::Kind::deleted, "family:F1", "event 2 are missing (deleted)"));
}

TEST_CASE("Audit: an edit followed by recomputing the chain with plain SHA-256 is found", "[security][unit]") {
  Trail t;
  t.fill();
  t.sql("UPDATE audit_events SET detail = 'nothing happened' WHERE chain = 'family:F1' AND idx = 2");
  rechain_with_sha256(t, "family:F1", 2);
  auto r = t.verify();
  INFO(describe(r));
  REQUIRE(r.findings.size() == 1);
  CHECK(has(r, audit::Finding::Kind::rechained, "family:F1", "events 2 to 5 do not verify under the audit key"));
}

TEST_CASE("Audit: a chain recomputed under a wrong key is found", "[security][unit]") {
  Trail t, forged;  // forged: the same events, one edited, chained under another key
  t.fill();
  for (int i = 1; i <= 5; ++i) {
    auto e = event("F1", i);
    if (i == 4) e.detail = "nothing happened";
    must(forged.trail->append(e));
  }
  transplant_chain(t, forged, "family:F1");
  auto r = t.verify();
  INFO(describe(r));
  REQUIRE(r.findings.size() == 1);
  CHECK(has(r, audit::Finding::Kind::rechained, "family:F1", "events 1 to 5 do not verify under the audit key"));
  CHECK(r.findings[0].message.find("re-chained") != std::string::npos);
}

TEST_CASE("Audit: re-chaining with the real key after removing an event is found by the checkpoints", "[security][unit]") {
  Trail t;
  t.fill();
  auto cp = must(t.trail->checkpoint(1'790'000'100'000));
  fs::path exported = t.dir.path() / "exported" / "checkpoint.json";
  must(audit::write_checkpoint_file(exported, cp));
  // Someone holding the key itself drops event 2 of F1 and rebuilds the chain, heads and all
  // (the same key: "forged" is given it).
  Trail forged;
  forged.trail = must(audit::AuditTrail::open(*forged.db, t.key));
  for (int i : {1, 3, 4, 5, 6}) must(forged.trail->append(event("F1", i)));
  transplant_chain(t, forged, "family:F1");
  auto r = t.verify();
  INFO(describe(r));
  CHECK(has(r, audit::Finding::Kind::rechained, "family:F1", "event 5 is not the one checkpoint 1 recorded"));
  // and with the in-database checkpoint deleted too, the exported one still finds it
  t.sql("DELETE FROM audit_checkpoints");
  auto again = t.verify({must(audit::read_checkpoint_file(exported))});
  INFO(describe(again));
  CHECK(has(again, audit::Finding::Kind::rechained, "family:F1",
            "event 5 is not the one the exported checkpoint 1 recorded"));
  CHECK(has(again, audit::Finding::Kind::checkpoint, "", "newer than any in the database"));
}

TEST_CASE("Audit: a tail deleted with its head and the in-database checkpoint is found by the exported checkpoint",
          "[security][unit]") {
  Trail t;
  t.fill();
  auto cp = must(t.trail->checkpoint(1'790'000'100'000));
  fs::path exported = t.dir.path() / "exported" / "checkpoint.json";
  must(audit::write_checkpoint_file(exported, cp));
  CHECK(t.verify({must(audit::read_checkpoint_file(exported))}).clean());

  // the tail of F1, its head rolled back to match, and every checkpoint in the database
  std::string mac3 = t.text("SELECT mac FROM audit_events WHERE chain = 'family:F1' AND idx = 3");
  t.sql("DELETE FROM audit_events WHERE chain = 'family:F1' AND idx > 3");
  t.sql("UPDATE audit_chains SET count = 3, head = '" + mac3 + "' WHERE chain = 'family:F1'");
  t.sql("DELETE FROM audit_checkpoints");
  CHECK(t.verify().clean());  // the database alone cannot tell: this is what exports are for

  auto r = t.verify({must(audit::read_checkpoint_file(exported))});
  INFO(describe(r));
  CHECK(has(r, audit::Finding::Kind::truncated, "family:F1",
            "the exported checkpoint 1 recorded 5 events but the chain ends at event 3: events 4 to 5 were deleted"));
  CHECK(has(r, audit::Finding::Kind::checkpoint, "", "in-database checkpoints were deleted"));
}

TEST_CASE("Audit: checkpoints are signed: an edited or foreign checkpoint is found", "[security][unit]") {
  Trail t;
  t.fill();
  auto cp = must(t.trail->checkpoint(1'790'000'100'000));
  auto edited = cp;
  edited.chains[0].count = 4;  // an attacker lowering the count to hide a deleted tail
  auto r = t.verify({edited});
  INFO(describe(r));
  CHECK(has(r, audit::Finding::Kind::checkpoint, "", "exported checkpoint 1 is not signed by this server"));
  // another server's checkpoint key
  Trail other;
  other.fill();
  auto foreign = must(other.trail->checkpoint(1));
  CHECK(has(t.verify({foreign}), audit::Finding::Kind::checkpoint, "", "not signed by this server"));
  // a checkpoint row edited in the database
  t.sql("UPDATE audit_checkpoints SET document = replace(document, '\"count\": 5', '\"count\": 4')");
  CHECK(has(t.verify(), audit::Finding::Kind::checkpoint, "", "in-database checkpoint 1 is not signed"));
  // a checkpoint verifies with its public key alone: no MAC key needed
  auto pub = audit::from_hex(cp.public_key);
  auto sig = audit::from_hex(cp.signature);
  REQUIRE(pub);
  REQUIRE(sig);
  CHECK(audit::verify_signature(*pub, cp.signed_bytes(), *sig));
  CHECK_FALSE(audit::verify_signature(*pub, edited.signed_bytes(), *sig));
}

TEST_CASE("Audit: an event moved to another family's chain is found", "[security][unit]") {
  Trail t;
  t.fill();
  t.sql("UPDATE audit_events SET family = 'F2' WHERE chain = 'family:F1' AND idx = 5");
  auto r = t.verify();
  INFO(describe(r));
  CHECK(has(r, audit::Finding::Kind::misfiled, "family:F1", "event 5 belongs to chain family:F2"));
  CHECK(has(r, audit::Finding::Kind::altered, "family:F1", "event 5"));
}

TEST_CASE("Audit: an append joins the caller's transaction and is rolled back with it", "[security][unit]") {
  Trail t;
  t.fill();
  {
    server::sql::Transaction tx(*t.db);
    must(tx.begin());
    must(t.trail->append(event("F1", 6)));
    // rolled back by the caller: the event and the head move go together
  }
  CHECK(t.text("SELECT count FROM audit_chains WHERE chain = 'family:F1'") == "5");
  CHECK(t.verify().clean());
}

TEST_CASE("Audit: the unkeyed trail of an older data directory is brought into the keyed chains", "[security][unit]") {
  test::TempDir dir;
  {
    auto db = must(server::sql::open_sqlite(dir.file("server.db")));
    must(db->exec("CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, "
                "device TEXT NOT NULL, action TEXT NOT NULL, family TEXT NOT NULL, detail TEXT NOT NULL, hash TEXT NOT NULL)"));
    std::string prev(64, '0');
    for (auto [family, at] : {std::pair<std::string, int64_t>{"F1", 1}, {"", 2}, {"F1", 3}}) {
      JsonWriter w;
      w.begin_object();
      w.key("at").integer(at).key("actor").string("admin").key("device").string("");
      w.key("action").string("allocate").key("family").string(family).key("detail").string("hv-1");
      w.end_object();
      prev = platform::sha256_hex(prev + w.take());
      auto st = must(db->prepare("INSERT INTO audit(at, actor, device, action, family, detail, hash) "
                               "VALUES(?, 'admin', '', 'allocate', ?, 'hv-1', ?)"));
      st.bind(1, at).bind(2, family).bind(3, prev);
      must(st.run());
    }
  }
  auto db = must(server::sql::open_sqlite(dir.file("server.db")));
  CHECK_FALSE(must(audit::AuditTrail::holds_keyed_trail(*db)));
  auto trail = must(audit::AuditTrail::open(*db, must(audit::AuditKey::generate())));
  auto r = must(trail->verify());
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.events == 4);  // three imported and the upgrade event
  auto heads = must(trail->heads());
  REQUIRE(heads.size() == 2);
  CHECK(heads[0].chain == "family:F1");
  CHECK(heads[0].count == 2);
  auto st = must(db->prepare("SELECT detail FROM audit_events WHERE action = 'audit-upgrade'"));
  REQUIRE(must(st.step()));
  CHECK_THAT(st.text(0), Contains("imported 3 events") && Contains("checked out"));
  st.reset();
  CHECK(must(audit::AuditTrail::holds_keyed_trail(*db)));
  // an empty old table (a schema that still creates it) is dropped, with no event
  must(db->exec("CREATE TABLE audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, actor TEXT NOT NULL, "
              "device TEXT NOT NULL, action TEXT NOT NULL, family TEXT NOT NULL, detail TEXT NOT NULL, hash TEXT NOT NULL)"));
  auto reopened = must(audit::AuditTrail::open(*db, must(audit::AuditKey::generate())));
  auto tables = must(db->prepare("SELECT count(*) FROM sqlite_master WHERE name LIKE 'audit_legacy%' OR name = 'audit'"));
  REQUIRE(must(tables.step()));
  CHECK(tables.integer(0) == 1);
  tables.reset();
  CHECK(must(reopened->heads()).size() == 2);
}

TEST_CASE("Audit: the key file is created with mode 0600 and refused when others can read it", "[security][unit]") {
  test::TempDir dir;
  fs::path file = dir.path() / "keys" / "audit.key";
  auto made = must(audit::AuditKey::create_file(file));
  struct stat st {};
  REQUIRE(::stat(file.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0600);
  auto loaded = must(audit::AuditKey::load(file));
  CHECK(loaded.public_key() == made.public_key());
  CHECK(must(loaded.mac("x")) == must(made.mac("x")));
  auto again = audit::AuditKey::create_file(file);  // never replaced
  REQUIRE_FALSE(again.ok());
  CHECK(again.error().code == ErrorCode::conflict);
  fs::permissions(file, fs::perms::group_read | fs::perms::others_read, fs::perm_options::add);
  auto exposed = audit::AuditKey::load(file);
  REQUIRE_FALSE(exposed.ok());
  CHECK_THAT(exposed.error().message, Contains("chmod 600"));
  auto missing = audit::AuditKey::load(dir.path() / "keys" / "nothing.key");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Contains("restore the audit key"));
  CHECK(audit::locate_audit_key(dir.path(), "/etc/hearth/audit.key") == fs::path("/etc/hearth/audit.key"));
}

// --- hearth-server, run as an administrator would ---------------------------------------------

namespace {

struct Admin {
  test::TempDir dir;
  std::string data() const { return dir.file("data"); }
  test::ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data()});
    return test::run_process(test::build_binary("server/hearth-server"), args);
  }
  void must_run(std::vector<std::string> args) {
    auto r = run(args);
    INFO(r.err);
    REQUIRE(r.code == 0);
  }
  void setup() {
    must_run({"init"});
    must_run({"add-org", "--id", "org-hv", "--name", "Health Visiting", "--type", "HEALTH_VISITING"});
    must_run({"add-practitioner", "--id", "hv-1", "--org", "org-hv", "--name", "hv-1", "--role", "PRACTITIONER"});
    must_run({"allocate", "--family", "F1", "--practitioner", "hv-1", "--lead"});
    must_run({"allocate", "--family", "F2", "--practitioner", "hv-1"});
    must_run({"deallocate", "--family", "F1", "--practitioner", "hv-1"});
  }
  void sql(const std::string& statement) {
    auto db = must(server::sql::open_sqlite(dir.file("data/hearth-server.db")));
    must(db->exec(statement));
  }
};

}  // namespace

TEST_CASE("CLI: verify-audit on a clean trail says intact, and on a tampered one exits non-zero without saying it",
          "[security][cli]") {
  Admin a;
  a.setup();
  auto clean = a.run({"verify-audit"});
  INFO(clean.out << clean.err);
  CHECK(clean.code == 0);
  CHECK_THAT(clean.out, Contains("audit trail intact") && Contains("in 3 chains"));
  CHECK_THAT(clean.out, Contains("chain server: 2 events\n"));  // every chain outside any family is listed
  CHECK(fs::exists(a.dir.path() / "data" / "keys" / "audit.key"));

  a.sql("UPDATE audit_events SET detail = 'yw-1' WHERE chain = 'family:F1' AND idx = 1");
  auto tampered = a.run({"verify-audit"});
  INFO(tampered.out << tampered.err);
  CHECK(tampered.code == 2);
  CHECK(tampered.out.find("intact") == std::string::npos);
  CHECK(tampered.err.find("intact") == std::string::npos);
  CHECK_THAT(tampered.out, Contains("FOUND (altered): family:F1: event 1") && Contains("audit verification FAILED"));
}

TEST_CASE("CLI: a tail deleted with the in-database checkpoints is found with the exported checkpoint",
          "[security][cli]") {
  Admin a;
  a.setup();
  std::string out = a.dir.file("offsite/checkpoint.json");
  auto cp = a.run({"audit-checkpoint", "--out", out});
  INFO(cp.out << cp.err);
  REQUIRE(cp.code == 0);
  CHECK(fs::exists(out));
  CHECK(fs::exists(a.dir.path() / "data" / "audit-checkpoints" / "checkpoint-000001.json"));
  // the last event of the server chain, the head rolled back, the checkpoints in the database
  // and in the data directory all deleted: only the copy kept elsewhere remains
  a.sql("DELETE FROM audit_events WHERE chain = 'server' AND idx = (SELECT max(idx) FROM audit_events WHERE chain = 'server')");
  a.sql("UPDATE audit_chains SET count = count - 1, head = (SELECT mac FROM audit_events WHERE chain = 'server' "
        "ORDER BY idx DESC LIMIT 1) WHERE chain = 'server'");
  a.sql("DELETE FROM audit_checkpoints");
  fs::remove_all(a.dir.path() / "data" / "audit-checkpoints");
  auto blind = a.run({"verify-audit"});
  CHECK(blind.code == 0);
  CHECK_THAT(blind.out, Contains("no exported checkpoint was checked"));
  auto r = a.run({"verify-audit", "--checkpoint", out});
  INFO(r.out << r.err);
  CHECK(r.code == 2);
  CHECK(r.out.find("intact") == std::string::npos);
  CHECK_THAT(r.out, Contains("FOUND (truncated): server: the exported checkpoint 1 recorded"));
}

TEST_CASE("CLI: hearth-server refuses to run without its audit key once the trail is keyed", "[security][cli]") {
  Admin a;
  a.setup();
  fs::path key = a.dir.path() / "data" / "keys" / "audit.key";
  fs::path aside = a.dir.path() / "audit.key.aside";
  fs::rename(key, aside);
  for (auto args : {std::vector<std::string>{"devices"}, {"verify-audit"}, {"serve", "--port", "0", "--insecure-http"}}) {
    auto r = a.run(args);
    INFO(args[0] << ": " << r.out << r.err);
    CHECK(r.code != 0);
    CHECK_THAT(r.err, Contains("audit key") && Contains("missing") && Contains("restore the key"));
    CHECK(r.out.find("intact") == std::string::npos);
  }
  CHECK_FALSE(fs::exists(key));  // never replaced by a new key
  // unreadable by the server: refused with what to do
  fs::rename(aside, key);
  fs::permissions(key, fs::perms::others_read, fs::perm_options::add);
  auto exposed = a.run({"devices"});
  CHECK(exposed.code != 0);
  CHECK_THAT(exposed.err, Contains("chmod 600"));
  fs::permissions(key, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  CHECK(a.run({"verify-audit"}).code == 0);
  // a data directory whose trail holds no keyed event yet (from before keyed chains) gets a key
  fs::remove(key);
  a.sql("DELETE FROM audit_events; DELETE FROM audit_chains; DELETE FROM audit_checkpoints;");
  auto fresh = a.run({"devices"});
  INFO(fresh.err);
  CHECK(fresh.code == 0);
  CHECK_THAT(fresh.err, Contains("created the audit key"));
  CHECK(fs::exists(key));
}

TEST_CASE("Serve: a checkpoint is exported at shutdown when a chain moved, and verify-audit checks it",
          "[security][e2e]") {
  test::ServerProcess server;  // its set-up appended events; serving makes no checkpoint yet
  fs::path folder = fs::path(server.data()) / "audit-checkpoints";
  CHECK_FALSE(fs::exists(folder / "checkpoint-000001.json"));
  server.stop();
  REQUIRE(fs::exists(folder / "checkpoint-000001.json"));
  auto cp = must(audit::read_checkpoint_file(folder / "checkpoint-000001.json"));
  CHECK(cp.chains.size() == 1);  // the administrative set-up: all in the server chain
  CHECK_THAT(server.log(), Contains("\"event\":\"audit-checkpoint\"") && Contains("\"reason\":\"shutdown\""));
  std::string verified = server.admin({"verify-audit"});
  CHECK_THAT(verified, Contains("audit trail intact") && Contains("checked against exported checkpoint 1"));
  // nothing moved since: the next shutdown makes no new checkpoint
  server.start();
  server.stop();
  CHECK_FALSE(fs::exists(folder / "checkpoint-000002.json"));
}
