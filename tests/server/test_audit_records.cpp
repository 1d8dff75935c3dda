// Audit of every record (issue 9 part 4): record-level events of accepted ops and of the ops the
// server writes as the office, views of T2/T3 records uploaded by tablets, family details sealed
// under the family key (format 2, so an erased family's events still verify), tampering with
// sealed rows, and the IG officer's query (`hearth-server audit`) returning exactly the family's
// events.
#include <catch2/catch.hpp>

#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "../support/db_count.hpp"
#include "../support/loopback_transport.hpp"
#include "admin/audit_query.hpp"
#include "audit/audit_chain.hpp"
#include "audit/hex.hpp"
#include "hearth/platform/crypto.hpp"
#include "hearth/platform/encoding.hpp"
#include "keys/kek.hpp"
#include "keys/keyring.hpp"
#include "service_harness.hpp"
#include "usecases/record_audit.hpp"

using namespace hearth;
using namespace hearth::server;
using namespace hearth::test;
using Catch::Matchers::Contains;
using sync::protocol::OpStatus;

namespace {


// Per-family AES-256-GCM keys held in memory, with erasure: the shape of the server's keyring.
class TestSealer final : public FamilySealer {
 public:
  bool enabled() const override { return true; }
  Result<std::string> seal(const std::string& family, std::string_view plaintext, std::string_view aad) override {
    if (erased_.count(family)) return make_error(ErrorCode::forbidden, "family " + family + " was erased");
    auto it = keys_.find(family);
    if (it == keys_.end()) it = keys_.emplace(family, must(platform::Key::random())).first;
    return platform::seal(it->second, plaintext, aad);
  }
  Result<std::string> open(const std::string& family, std::string_view sealed, std::string_view aad) override {
    auto it = keys_.find(family);
    if (it == keys_.end()) return make_error(ErrorCode::not_found, "no key for family " + family + " (erased)");
    return platform::open(it->second, sealed, aad);
  }
  void erase(const std::string& family) {
    keys_.erase(family);
    erased_.insert(family);
  }

 private:
  std::map<std::string, platform::Key> keys_;
  std::set<std::string> erased_;
};

// The server's keyring with a test KEK: encryption at rest on.
std::shared_ptr<SqlKeyring> test_keyring(const std::string& path) {
  return must(SqlKeyring::open(path, must(keys::FileKek::from_secret(std::string(32, 'k'), "the test KEK"))));
}

// A trail with sealed details: family:F1 (4 events, two by yw-1), family:F2 (3), server (2).
struct SealedTrail {
  TempDir dir;
  TestSealer sealer;
  audit::AuditKey key = must(audit::AuditKey::generate());
  std::unique_ptr<sql::Connection> db = must(sql::open_sqlite(dir.file("server.db")));
  std::unique_ptr<audit::AuditTrail> trail = must(audit::AuditTrail::open(*db, key, &sealer));

  void fill() {
    for (int i = 1; i <= 4; ++i)
      must(trail->append(audit::Event{1'790'000'000'000 + i * 1000, i <= 2 ? "hv-1" : "yw-1", "dev", "push", "F1",
                                    "F1 visit at 12 Acacia Road, note " + std::to_string(i)}));
    for (int i = 1; i <= 3; ++i)
      must(trail->append(audit::Event{1'790'000'000'000 + i * 1000 + 500, "yw-1", "dev-y", "push", "F2",
                                    "F2 Bramble Close, note " + std::to_string(i)}));
    for (int i = 1; i <= 2; ++i)
      must(trail->append(audit::Event{1'790'000'000'000 + i, "anonymous", "", "denied", "", "no credential " + std::to_string(i)}));
  }
  void sql(const std::string& statement) { must(db->exec(statement)); }
  int64_t number(const std::string& query) {
    auto st = must(db->prepare(query));
    REQUIRE(must(st.step()));
    return st.integer(0);
  }
  audit::VerifyReport verify() { return must(trail->verify()); }
  std::vector<audit::ListedEvent> query(audit::AuditQuery q) {
    std::vector<audit::ListedEvent> out;
    must(trail->query(q, [&](const audit::ListedEvent& l) -> Result<void> {
      out.push_back(l);
      return {};
    }));
    return out;
  }
  // `hearth-server audit` on this trail: its exit status and what it printed.
  std::pair<int, std::string> command(AuditQueryArgs args) {
    std::ostringstream out, err;
    int status = audit_query_command(*trail, args, 1'800'000'000'000, out, err);
    return {status, out.str() + err.str()};
  }
};

bool has(const audit::VerifyReport& r, audit::Finding::Kind kind, const std::string& chain, const std::string& words) {
  for (const auto& f : r.findings)
    if (f.kind == kind && f.chain == chain && f.message.find(words) != std::string::npos) return true;
  return false;
}
std::string describe(const audit::VerifyReport& r) {
  std::string s;
  for (const auto& f : r.findings) s += std::string(audit::to_string(f.kind)) + " | " + f.message + "\n";
  return s;
}

// The "hearth-audit-event v1" MAC input, as docs/audit.md gives it.
std::string v1_input(const std::string& chain, int64_t idx, const std::string& prev, const audit::Event& e) {
  std::string out;
  auto u64 = [&](uint64_t v) {
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((v >> shift) & 0xff));
  };
  auto bytes = [&](const std::string& b) {
    u64(b.size());
    out += b;
  };
  bytes("hearth-audit-event v1");
  bytes(chain);
  u64(static_cast<uint64_t>(idx));
  bytes(prev);
  u64(static_cast<uint64_t>(e.at));
  for (const auto* part : {&e.actor, &e.device, &e.action, &e.family, &e.detail}) bytes(*part);
  return out;
}

}  // namespace

TEST_CASE("Audit v2: family details are sealed under the family key, and an erased family's events still verify",
          "[security][unit]") {
  SealedTrail t;
  t.fill();
  // nothing of a family detail is in the database in clear; the server chain's is (no family data)
  CHECK(t.number("SELECT count(*) FROM audit_events WHERE instr(CAST(detail AS BLOB), CAST('Acacia' AS BLOB)) > 0 "
                 "OR instr(CAST(detail AS BLOB), CAST('Bramble' AS BLOB)) > 0") == 0);
  CHECK(t.number("SELECT count(*) FROM audit_events WHERE chain = 'server' AND detail LIKE 'no credential %'") == 2);
  CHECK(t.number("SELECT count(*) FROM audit_events WHERE format = 2") == 7);  // the families' (4 + 3)
  CHECK(t.number("SELECT count(*) FROM audit_events WHERE format = 1 AND chain = 'server'") == 2);
  auto clean = t.verify();
  INFO(describe(clean));
  CHECK(clean.clean());
  // the query opens them
  auto f1 = t.query(audit::AuditQuery{"F1", "", 0, INT64_MAX});
  REQUIRE(f1.size() == 4);
  CHECK(f1[0].detail == audit::ListedEvent::Detail::open);
  CHECK(f1[0].event.detail == "F1 visit at 12 Acacia Road, note 1");

  // Erasure destroys F1's key: its details can no longer be read, and the trail still verifies.
  t.sealer.erase("F1");
  auto after = t.verify();
  INFO(describe(after));
  CHECK(after.clean());
  CHECK(after.events == 9);
  auto erased = t.query(audit::AuditQuery{"F1", "", 0, INT64_MAX});
  REQUIRE(erased.size() == 4);
  for (const auto& l : erased) {
    CHECK(l.detail == audit::ListedEvent::Detail::erased);
    CHECK(l.event.detail.empty());
  }
  auto [status, printed] = t.command(AuditQueryArgs{"F1", "", "", ""});
  CHECK(status == 0);
  CHECK_THAT(printed, Contains("[sealed: family erased]") && Contains("4 sealed (family erased)"));
  CHECK(printed.find("Acacia") == std::string::npos);
  // an event the server writes for the erased family later keeps no detail rather than a clear one
  must(t.trail->append(audit::Event{1'790'000'100'000, "hv-1", "dev", "denied", "F1", "push of erased F1 at Acacia Road"}));
  CHECK(t.number("SELECT length(detail) FROM audit_events WHERE chain = 'family:F1' AND idx = 6") == 0);
  CHECK(t.verify().clean());
  // F2 is untouched
  auto f2 = t.query(audit::AuditQuery{"F2", "", 0, INT64_MAX});
  REQUIRE(f2.size() == 3);
  CHECK(f2[2].event.detail == "F2 Bramble Close, note 3");
}

TEST_CASE("Audit v2: every kind of tampering with sealed rows is found and named", "[security][unit]") {
  SECTION("an edited sealed detail") {
    SealedTrail t;
    t.fill();
    // byte 21 of the sealed detail changed (to 0x01 where it was 0x00 already: sealed bytes are random)
    t.sql("UPDATE audit_events SET detail = substr(detail, 1, 20) || "
          "CASE WHEN substr(detail, 21, 1) = x'00' THEN x'01' ELSE x'00' END || substr(detail, 22) "
          "WHERE chain = 'family:F1' AND idx = 3");
    auto r = t.verify();
    INFO(describe(r));
    REQUIRE(r.findings.size() == 1);
    CHECK(has(r, audit::Finding::Kind::altered, "family:F1", "event 3 does not match its MAC"));
    // the IG query names it and goes on listing
    auto [status, printed] = t.command(AuditQueryArgs{"F1", "", "", ""});
    CHECK(status == 2);
    CHECK_THAT(printed, Contains("ERROR family:F1 event 3: it does not match its MAC") &&
                            Contains("note 4") && Contains("1 TAMPERED"));
  }
  SECTION("a sealed detail moved from another event (MAC recomputed by someone holding the audit key)") {
    // the MAC checks out, but the detail was sealed for another place in the chain: it does not open
    SealedTrail t;
    t.fill();
    auto st = must(t.db->prepare("SELECT detail FROM audit_events WHERE chain = 'family:F1' AND idx = 1"));
    REQUIRE(must(st.step()));
    const std::string moved = st.blob(0);
    st.reset();
    auto prev = must(t.db->prepare("SELECT mac FROM audit_events WHERE chain = 'family:F1' AND idx = 1"));
    REQUIRE(must(prev.step()));
    const std::string prev_mac = *audit::from_hex(prev.text(0));
    prev.reset();
    std::string input;
    auto u64 = [&](uint64_t v) {
      for (int shift = 56; shift >= 0; shift -= 8) input.push_back(static_cast<char>((v >> shift) & 0xff));
    };
    auto bytes = [&](const std::string& b) {
      u64(b.size());
      input += b;
    };
    bytes("hearth-audit-event v2");
    bytes("family:F1");
    u64(2);
    bytes(prev_mac);
    u64(1'790'000'000'000 + 2000);
    for (std::string part : {"hv-1", "dev", "push", "F1"}) bytes(part);
    bytes(moved);
    const std::string mac = audit::to_hex(must(t.key.mac(input)));
    auto upd = must(t.db->prepare("UPDATE audit_events SET detail = ?, mac = ? WHERE chain = 'family:F1' AND idx = 2"));
    upd.bind_blob(1, moved).bind(2, mac);
    must(upd.run());
    auto listed = t.query(audit::AuditQuery{"F1", "", 0, INT64_MAX});
    REQUIRE(listed.size() == 4);
    CHECK(listed[1].detail == audit::ListedEvent::Detail::tampered);
    CHECK_THAT(listed[1].problem, Contains("family:F1 event 2") && Contains("sealed detail does not open"));
  }
  SECTION("a deleted event") {
    SealedTrail t;
    t.fill();
    t.sql("DELETE FROM audit_events WHERE chain = 'family:F2' AND idx = 2");
    auto r = t.verify();
    INFO(describe(r));
    REQUIRE(r.findings.size() == 1);
    CHECK(has(r, audit::Finding::Kind::deleted, "family:F2", "event 2 are missing (deleted)"));
  }
  SECTION("a truncated chain") {
    SealedTrail t;
    t.fill();
    t.sql("DELETE FROM audit_events WHERE chain = 'family:F1' AND idx > 2");
    auto r = t.verify();
    INFO(describe(r));
    CHECK(has(r, audit::Finding::Kind::truncated, "family:F1", "events 3 to 4 were deleted"));
  }
  SECTION("a chain recomputed without the key after an edit") {
    SealedTrail t;
    t.fill();
    auto st = must(t.db->prepare("SELECT idx, detail, mac FROM audit_events WHERE chain = 'family:F1' ORDER BY idx"));
    std::string prev;
    std::vector<std::pair<int64_t, std::string>> rewritten;
    while (must(st.step())) {
      if (st.integer(0) < 2) {
        prev = st.text(2);
        continue;
      }
      prev = platform::sha256_hex(prev + st.blob(1) + (st.integer(0) == 2 ? "edited" : ""));
      rewritten.emplace_back(st.integer(0), prev);
    }
    st.reset();
    t.sql("UPDATE audit_events SET detail = x'00' WHERE chain = 'family:F1' AND idx = 2");
    for (const auto& [idx, mac] : rewritten)
      t.sql("UPDATE audit_events SET mac = '" + mac + "' WHERE chain = 'family:F1' AND idx = " + std::to_string(idx));
    t.sql("UPDATE audit_chains SET head = '" + prev + "' WHERE chain = 'family:F1'");
    auto r = t.verify();
    INFO(describe(r));
    REQUIRE(r.findings.size() == 1);
    CHECK(has(r, audit::Finding::Kind::rechained, "family:F1", "events 2 to 4 do not verify under the audit key"));
  }
  SECTION("a format downgraded so the sealed bytes would be taken as a v1 detail") {
    SealedTrail t;
    t.fill();
    t.sql("UPDATE audit_events SET format = 1 WHERE chain = 'family:F2' AND idx = 3");
    auto r = t.verify();
    INFO(describe(r));
    REQUIRE(r.findings.size() == 1);
    CHECK(has(r, audit::Finding::Kind::altered, "family:F2", "event 3 does not match its MAC"));
    t.sql("UPDATE audit_events SET format = 7 WHERE chain = 'family:F2' AND idx = 3");
    CHECK(has(t.verify(), audit::Finding::Kind::altered, "family:F2", "event 3 has format 7"));
  }
}

TEST_CASE("Audit v2: v1 events from before the format column still verify beside v2 events", "[security][unit]") {
  TempDir dir;
  auto key = must(audit::AuditKey::generate());
  auto db = must(sql::open_sqlite(dir.file("server.db")));
  // the layout and events of the previous release: no format column, plain details
  must(db->exec("CREATE TABLE audit_events(chain TEXT NOT NULL, idx INTEGER NOT NULL, at INTEGER NOT NULL, actor TEXT NOT NULL, "
              "device TEXT NOT NULL, action TEXT NOT NULL, family TEXT NOT NULL, detail TEXT NOT NULL, mac TEXT NOT NULL, "
              "PRIMARY KEY(chain, idx)) WITHOUT ROWID;"
              "CREATE TABLE audit_chains(chain TEXT PRIMARY KEY, count INTEGER NOT NULL, head TEXT NOT NULL) WITHOUT ROWID;"));
  std::string prev;
  for (int i = 1; i <= 3; ++i) {
    audit::Event e{1'700'000'000'000 + i, "hv-1", "dev", "push", "F1", "old detail " + std::to_string(i)};
    std::string mac = must(key.mac(v1_input("family:F1", i, prev, e)));
    auto st = must(db->prepare("INSERT INTO audit_events VALUES('family:F1', ?, ?, 'hv-1', 'dev', 'push', 'F1', ?, ?)"));
    st.bind(1, int64_t{i}).bind(2, e.at).bind(3, e.detail).bind(4, audit::to_hex(mac));
    must(st.run());
    prev = mac;
  }
  must(db->exec("INSERT INTO audit_chains VALUES('family:F1', 3, '" + audit::to_hex(prev) + "')"));
  TestSealer sealer;
  auto trail = must(audit::AuditTrail::open(*db, key, &sealer));
  must(trail->append(audit::Event{1'790'000'000'000, "hv-1", "dev", "push", "F1", "new detail"}));
  auto r = must(trail->verify());
  INFO(describe(r));
  CHECK(r.clean());
  CHECK(r.events == 4);
  std::vector<std::string> details;
  must(trail->query(audit::AuditQuery{"F1", "", 0, INT64_MAX}, [&](const audit::ListedEvent& l) -> Result<void> {
    details.push_back(std::to_string(l.format) + ":" + l.event.detail);
    return {};
  }));
  CHECK(details == std::vector<std::string>{"1:old detail 1", "1:old detail 2", "1:old detail 3", "2:new detail"});
  // an edited v1 event is still found
  must(db->exec("UPDATE audit_events SET detail = 'rewritten' WHERE chain = 'family:F1' AND idx = 2"));
  CHECK(has(must(trail->verify()), audit::Finding::Kind::altered, "family:F1", "event 2 does not match its MAC"));
}

TEST_CASE("Audit v2: with encryption at rest off, details are stored as given (format 1) and the query says when a "
          "sealed one cannot be opened", "[security][unit]") {
  SealedTrail t;
  t.fill();
  // the same database opened without a sealer (PlainSealer): new events are format 1
  auto plain = must(audit::AuditTrail::open(*t.db, t.key));
  must(plain->append(audit::Event{1'790'000'009'000, "hv-1", "dev", "push", "F1", "plain detail"}));
  CHECK(t.number("SELECT format FROM audit_events WHERE chain = 'family:F1' AND idx = 5") == 1);
  CHECK(must(plain->verify()).clean());
  std::ostringstream out, err;
  CHECK(audit_query_command(*plain, AuditQueryArgs{"F1", "", "", ""}, 1'800'000'000'000, out, err) == 0);
  INFO(out.str());
  CHECK_THAT(out.str(), Contains("push  -  [sealed: not opened]") && Contains("push  -  plain detail"));
  CHECK(out.str().find("Acacia") == std::string::npos);
}

TEST_CASE("IG query: --family lists exactly that family's events and --practitioner one person's across families",
          "[security][unit]") {
  SealedTrail t;
  t.fill();
  auto [status, printed] = t.command(AuditQueryArgs{"F1", "", "", ""});
  INFO(printed);
  CHECK(status == 0);
  for (int i = 1; i <= 4; ++i) CHECK_THAT(printed, Contains("F1 visit at 12 Acacia Road, note " + std::to_string(i)));
  CHECK(printed.find("Bramble") == std::string::npos);  // a second family's events never appear
  CHECK(printed.find("no credential") == std::string::npos);
  CHECK_THAT(printed, Contains("audit of family F1: 4 events from 1 chain"));
  // every listed event is of F1's chain, exactly
  auto listed = t.query(audit::AuditQuery{"F1", "", 0, INT64_MAX});
  CHECK(listed.size() == 5);  // the four, and the query's answer, audited in F1's chain
  for (const auto& l : listed) CHECK(l.chain == "family:F1");
  CHECK(listed.back().event.action == "audit-query-answered");
  CHECK(listed.back().event.actor == "admin");
  CHECK_THAT(listed.back().event.detail, Contains("family F1: 4 events"));

  // one practitioner across families: yw-1's events of F1 and F2, nobody else's
  auto yw = t.query(audit::AuditQuery{"", "yw-1", 0, INT64_MAX});
  REQUIRE(yw.size() == 5);
  for (const auto& l : yw) CHECK(l.event.actor == "yw-1");
  auto [s2, by_yw] = t.command(AuditQueryArgs{"", "yw-1", "", ""});
  CHECK(s2 == 0);
  CHECK(by_yw.find("Acacia Road, note 1\n") == std::string::npos);  // hv-1's F1 notes 1 and 2
  CHECK(by_yw.find("Acacia Road, note 2\n") == std::string::npos);
  CHECK_THAT(by_yw, Contains("F1 visit at 12 Acacia Road, note 3") && Contains("F2 Bramble Close, note 1"));
  CHECK_THAT(by_yw, Contains("practitioner yw-1: 5 events"));
  // family and practitioner together narrow to both
  CHECK(t.query(audit::AuditQuery{"F2", "yw-1", 0, INT64_MAX}).size() == 3);
  CHECK(t.query(audit::AuditQuery{"F2", "hv-1", 0, INT64_MAX}).empty());

  // a window of server time (UTC): F1's events 2 and 3 and F2's event 2 fall in it
  auto window = t.query(audit::AuditQuery{"", "", 1'790'000'002'000, 1'790'000'003'000});
  CHECK(window.size() == 3);
  auto [s3, in_window] = t.command(AuditQueryArgs{"", "", "2026-09-21T14:13:22Z", "2026-09-21T14:13:23Z"});
  INFO(in_window);
  CHECK(s3 == 0);
  CHECK_THAT(in_window, Contains("Acacia Road, note 2") && Contains("Acacia Road, note 3") &&
                            Contains("Bramble Close, note 2") && Contains(": 3 events"));
  // arguments it cannot use are refused with the reason
  CHECK(t.command(AuditQueryArgs{"", "", "yesterday", ""}).first == 1);
  CHECK(t.command(AuditQueryArgs{"", "", "", ""}).first == 1);
  CHECK_THAT(t.command(AuditQueryArgs{"", "", "2026-10-02", "2026-10-01"}).second, Contains("--from is after --to"));
  // the queries themselves are audited, and the trail verifies
  // each question before its answer, so nothing is shown unrecorded; refused ones ran no query
  CHECK(t.number("SELECT count(*) FROM audit_events WHERE action = 'audit-query'") == 3);
  CHECK(t.number("SELECT count(*) FROM audit_events WHERE action = 'audit-query-answered'") == 3);
  CHECK(t.verify().clean());
}

TEST_CASE("Record audit: each accepted op is a record event naming fields, never values, one audit event per push "
          "and family", "[security][unit]") {
  TempDir keydir;
  auto ring = test_keyring(keydir.file("keyring.db"));
  ServiceHarness h(ring);
  FamilySealer* sealer = ring.get();
  Device hv(h, "dev-hv", "hv-1");
  auto fam = must(hv.replica.create("fam-r", "Family", "fam-r", family_fields("Marker Household")));
  auto note = must(hv.replica.create("fam-r", "Contact", "c-1",
                                     contact_fields("2026-11-20T10:00:00Z", "narrative about Zephyrine", "hv-1")));
  auto person = must(hv.replica.create("fam-r", "Person", "p-1", person_fields("Quillon")));
  auto phone = must(hv.replica.set("fam-r", "phone", Value(std::string("07700 111222"))));
  auto other = must(hv.replica.create("fam-s", "Family", "fam-s", family_fields("Second Household")));
  auto results = hv.push({fam, note, person, phone, other});
  for (const auto& r : results) CHECK(r.status == OpStatus::accepted);
  h.clock.advance(1000);
  auto gone = must(hv.replica.erase("p-1"));
  CHECK(hv.push_one(gone).status == OpStatus::accepted);

  const std::string db = h.db.location();
  // one record-changes event per push and family: fam-r twice (two pushes), fam-s once
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'record-changes' AND family = 'fam-r' "
                     "AND actor = 'hv-1' AND device = 'dev-hv'") == 2);
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'record-changes' AND family = 'fam-s' "
                     "AND device = 'dev-hv'") == 1);
  // the office's own writes (the creator's TeamMember record) are record events too, as the authority
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'record-changes' AND family = 'fam-r' "
                     "AND device = 'hearth-server'") >= 1);

  audit::TrailFile file = must(audit::open_trail_file(db, hearth::test::audit_key(), sealer));
  std::vector<std::string> changes;
  std::string all_details;
  must(file.trail->query(audit::AuditQuery{"fam-r", "hv-1", 0, INT64_MAX}, [&](const audit::ListedEvent& l) -> Result<void> {
    REQUIRE(l.detail == audit::ListedEvent::Detail::open);
    all_details += l.event.detail;
    if (l.event.action != kRecordChangesAction || l.event.device != "dev-hv") return {};
    auto j = nlohmann::json::parse(l.event.detail);
    for (const auto& r : j["records"])
      changes.push_back(r["change"].get<std::string>() + " " + r["type"].get<std::string>() + " " +
                        r["id"].get<std::string>() + (r.contains("fields") ? " " + r["fields"].dump() : ""));
    return {};
  }));
  REQUIRE(changes.size() == 5);
  CHECK_THAT(changes[0], Contains("create Family fam-r [") && Contains("\"display_name\""));
  CHECK_THAT(changes[1], Contains("create Contact c-1 [") && Contains("\"narrative\""));
  CHECK_THAT(changes[2], Contains("create Person p-1 [") && Contains("\"given_names\""));
  CHECK(changes[3] == "update Family fam-r [\"phone\"]");
  CHECK(changes[4] == "delete Person p-1");
  // never a value
  for (const char* value : {"Marker Household", "Zephyrine", "07700 111222", "Quillon"})
    CHECK(all_details.find(value) == std::string::npos);
  CHECK(must(file.trail->verify()).clean());

  // `hearth-server audit --family` prints one line per record change
  std::ostringstream out, err;
  CHECK(audit_query_command(*file.trail, AuditQueryArgs{"fam-r", "", "", ""}, 1'800'000'000'000, out, err) == 0);
  INFO(out.str());
  CHECK_THAT(out.str(), Contains("  hv-1  dev-hv  fam-r  update  Family fam-r  fields phone; op dev-hv:"));
  CHECK_THAT(out.str(), Contains("  hv-1  dev-hv  fam-r  delete  Person p-1  op dev-hv:"));
  CHECK_THAT(out.str(), Contains("hv-1  hearth-server  fam-r  create  TeamMember "));
  CHECK(out.str().find("fam-s") == std::string::npos);
}

TEST_CASE("Record audit: views a tablet uploads are written into the chains of families it held, and no other",
          "[security][unit]") {
  TempDir keydir;
  auto ring = test_keyring(keydir.file("keyring.db"));
  ServiceHarness h(ring);
  FamilySealer* sealer = ring.get();
  Device hv(h, "dev-hv", "hv-1");
  REQUIRE(hv.push_one(must(hv.replica.create("fam-v", "Family", "fam-v", family_fields()))).status == OpStatus::accepted);
  sync::protocol::PushRequest request;
  request.record_views = {{1, "fam-v", "Contact", "c-1", 1'790'000'000'000},
                          {2, "fam-v", "Contact", "c-2", 1'790'000'001'000},
                          {3, "fam-not-held", "Contact", "c-9", 1'790'000'002'000}};
  request.record_views_dropped = 7;
  auto r = h.post("/v1/push", sync::protocol::encode(request), hv.token);
  REQUIRE(r.status == 200);
  auto reply = must(sync::protocol::decode_push_reply(r.body));
  CHECK(reply.record_views_through == 3);
  CHECK(reply.record_views_dropped == 7);
  const std::string db = h.db.location();
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'record-viewed' AND family = 'fam-v'") == 1);
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE family = 'fam-not-held'") == 0);
  CHECK(db_count(db, "SELECT count(*) FROM audit_chains WHERE chain = 'family:fam-not-held'") == 0);
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'record-views-refused' AND chain = 'server' "
                     "AND detail LIKE '1 views of 1 families%'") == 1);
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'record-views-dropped' AND chain = 'server' "
                     "AND detail LIKE '%7 older views were dropped%'") == 1);
  audit::TrailFile file = must(audit::open_trail_file(db, hearth::test::audit_key(), sealer));
  std::ostringstream out, err;
  CHECK(audit_query_command(*file.trail, AuditQueryArgs{"fam-v", "", "", ""}, 1'800'000'000'000, out, err) == 0);
  INFO(out.str());
  CHECK_THAT(out.str(), Contains("  hv-1  dev-hv  fam-v  viewed  Contact c-1  on the device at 2026-09-21T"));
  CHECK_THAT(out.str(), Contains("viewed  Contact c-2"));
  // the same push sent again (its answer lost): acknowledged, recorded once
  auto again = h.post("/v1/push", sync::protocol::encode(request), hv.token);
  REQUIRE(again.status == 200);
  CHECK(must(sync::protocol::decode_push_reply(again.body)).record_views_through == 3);
  CHECK(db_count(db, "SELECT count(*) FROM audit_events WHERE action = 'record-viewed' AND family = 'fam-v'") == 1);
  // a malformed view is refused with the field named, like any bad push
  auto bad = h.post("/v1/push",
                    R"({"ops":[],"record_views":[{"seq":0,"family":"fam-v","type":"Contact","id":"c-1","at":1}]})",
                    hv.token);
  CHECK(bad.status == 400);
  CHECK_THAT(bad.body, Contains("seq"));
}

TEST_CASE("Record audit: a tablet logs reads of T2/T3 records, uploads them at sync and forgets what the server "
          "acknowledged", "[security][unit]") {
  LoopbackServer server;
  LoopbackDevice hv(server, "hv-1");
  auto fam = must(hv.store->create_family(family_fields()));
  auto c1 = must(hv.store->create(fam, "Contact", contact_fields("2026-11-20T10:00:00Z", "first visit", "hv-1")));
  auto c2 = must(hv.store->create(fam, "Contact", contact_fields("2026-11-21T10:00:00Z", "second visit", "hv-1")));
  hv.sync();
  auto port = client::SyncPort::of(*hv.store);
  CHECK(must(port.record_views(100)).views.empty());
  // a T1 record read is no view; a T3 record (a visit narrative) is, once a minute per record
  (void)must(hv.store->get(fam));
  CHECK(must(port.record_views(100)).views.empty());
  (void)must(hv.store->get(c1));
  (void)must(hv.store->get(c1));
  (void)must(hv.store->chronology(fam));  // c1 again (within the minute) and c2
  auto pending = must(port.record_views(100));
  REQUIRE(pending.views.size() == 2);
  CHECK(pending.views[0].record == c1);
  CHECK(pending.views[0].type == "Contact");
  CHECK(pending.views[0].family == fam);
  CHECK(pending.views[1].record == c2);
  // sealed under the device key: the record ids are not in the store file in clear
  CHECK(db_count(hv.dir.file("tablet.db"), "SELECT count(*) FROM record_views WHERE instr(body, ?) > 0", {c1}) == 0);

  hv.sync();
  CHECK(must(port.record_views(100)).views.empty());  // acknowledged, forgotten
  CHECK(db_count(server.db(), "SELECT count(*) FROM audit_events WHERE action = 'record-viewed' AND family = ?", {fam}) == 1);
  CHECK(db_count(server.db(), "SELECT count(*) FROM audit_events WHERE action = 'record-viewed' AND actor = 'hv-1'") == 1);
  hv.sync();  // nothing more to send
  CHECK(db_count(server.db(), "SELECT count(*) FROM audit_events WHERE action = 'record-viewed'") == 1);
}

TEST_CASE("Record audit: a full view log keeps the newest views and counts the dropped ones, which the server audits",
          "[security][unit]") {
  LoopbackServer server;
  LoopbackDevice hv(server, "hv-1");
  hv.store.reset();
  client::StoreOptions o;
  o.practitioner_id = "hv-1";
  o.pin = "2468";
  o.kdf = client::KdfParams{1u << 10, 8, 1};
  o.view_log_limit = 3;
  hv.store = must(client::Store::open(hv.dir.file("tablet.db"), std::move(o)));
  auto fam = must(hv.store->create_family(family_fields()));
  std::vector<std::string> notes;
  for (int i = 0; i < 5; ++i)
    notes.push_back(must(hv.store->create(fam, "Contact", contact_fields("2026-11-2" + std::to_string(i) + "T10:00:00Z",
                                                                         "visit " + std::to_string(i), "hv-1"))));
  for (const auto& n : notes) (void)must(hv.store->get(n));
  auto port = client::SyncPort::of(*hv.store);
  auto pending = must(port.record_views(100));
  REQUIRE(pending.views.size() == 3);
  CHECK(pending.views[0].record == notes[2]);  // the newest three
  CHECK(pending.views[2].record == notes[4]);
  CHECK(pending.dropped == 2);
  hv.sync();
  pending = must(port.record_views(100));
  CHECK(pending.views.empty());
  CHECK(pending.dropped == 0);
  CHECK(db_count(server.db(), "SELECT count(*) FROM audit_events WHERE action = 'record-views-dropped' "
                              "AND detail LIKE '%: 2 older views were dropped unsent'") == 1);
}

TEST_CASE("IG query: an event whose predecessor was deleted is an ERROR, never listed as sound", "[security][unit]") {
  SealedTrail t;
  t.fill();
  // Event 2 of F1 deleted, then event 3's actor changed: its MAC can no longer be checked.
  t.sql("DELETE FROM audit_events WHERE chain = 'family:F1' AND idx = 2");
  t.sql("UPDATE audit_events SET actor = 'someone-else' WHERE chain = 'family:F1' AND idx = 3");
  auto [status, printed] = t.command(AuditQueryArgs{"F1", "", "", ""});
  INFO(printed);
  CHECK(status == 2);
  CHECK_THAT(printed, Contains("ERROR") && Contains("event before it (number 2) is missing"));
  CHECK(printed.find("someone-else") == std::string::npos);
}
