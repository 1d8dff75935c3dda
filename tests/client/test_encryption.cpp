// Encryption at rest (docs/encryption.md): nothing personal is readable from any file of the
// store folder, keys behave, tampering is detected.
#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <filesystem>
#include <fstream>

#include "hearth/client/store.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "../support/marker_scan.hpp"
#include "../support/must.hpp"
#include "../support/samples.hpp"
#include "../support/temp_dir.hpp"

using namespace hearth;
using namespace hearth::client;
using Catch::Matchers::Contains;
using hearth::test::must;
using hearth::test::files_revealing;
using hearth::test::record_markers;
using hearth::test::slurp;
namespace fs = std::filesystem;

namespace {

KdfParams cheap_kdf() { return KdfParams{1u << 10, 8, 1}; }

Result<std::unique_ptr<Store>> try_open(const std::string& path, std::optional<std::string> pin,
                                        std::optional<std::string> key = {}, int max_attempts = 10,
                                        KdfParams kdf = cheap_kdf()) {
  StoreOptions o;
  o.practitioner_id = "hv-1";
  o.pin = std::move(pin);
  o.keystore_key = std::move(key);
  o.kdf = kdf;
  o.max_pin_attempts = max_attempts;
  return Store::open(path, std::move(o));
}

std::unique_ptr<Store> open_pin(const std::string& path, const std::string& pin = "2468") {
  auto s = try_open(path, pin);
  INFO((s.ok() ? std::string() : s.error().describe()));
  REQUIRE(s.ok());
  return std::move(s.value());
}


// Raw access to the database file, as an attacker with the file would have.
struct Raw {
  sqlite3* db = nullptr;
  explicit Raw(const std::string& path) { REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK); }
  ~Raw() { sqlite3_close(db); }
  std::string blob(const std::string& sql) {
    sqlite3_stmt* st = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
    std::string out;
    if (sqlite3_step(st) == SQLITE_ROW)
      out.assign(static_cast<const char*>(sqlite3_column_blob(st, 0)), size_t(sqlite3_column_bytes(st, 0)));
    sqlite3_finalize(st);
    return out;
  }
  void exec(const std::string& sql) { REQUIRE(sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK); }
};

}  // namespace

TEST_CASE("Security: no personal datum is readable from any file of the store folder", "[security]") {
  test::TempDir dir;
  std::string path = dir.file("tablet.db");
  std::string family;
  std::vector<std::string> markers;
  {
    auto a = open_pin(path);
    markers = record_markers(*a, "A", family);
    // a conflict: its record keeps both values (the conflicts table holds them too)
    auto b = open_pin(dir.file("other.db"));
    must(sync_port(*b).apply_remote(must(sync_port(*a).encoded_ops(family))));
    auto view = must(a->family(family));
    std::string person;
    for (const auto& e : view.entities)
      if (e.type == "Person") person = e.id;
    must(a->update(person, "given_names", "MRKAgivenAQZX"));
    must(b->update(person, "given_names", "MRKAgivenBQZX"));
    must(sync_port(*a).apply_remote(must(sync_port(*b).encoded_ops(family))));
    markers.push_back("MRKAgivenAQZX");
    markers.push_back("MRKAgivenBQZX");
    REQUIRE(must(a->open_conflicts(family)).size() == 1);
    // the data really is there, through the API
    CHECK_THAT(must(a->get(family)).json, Contains("MRKAfamilynameQZX"));

    SECTION("while the store is open and the WAL not checkpointed") {
      REQUIRE(fs::exists(path + "-wal"));
      REQUIRE(fs::file_size(path + "-wal") > 0);
      CHECK(files_revealing(dir.path(), markers).empty());
    }
  }
  SECTION("after close, and after a checkpoint") {
    CHECK(files_revealing(dir.path(), markers).empty());
    auto again = open_pin(path);
    must(again->checkpoint());
    CHECK(files_revealing(dir.path(), markers).empty());
    CHECK_THAT(must(again->get(family)).json, Contains("MRKAfamilynameQZX"));
  }
}

TEST_CASE("Security: a purged family cannot be recovered from any file, others are intact", "[security]") {
  test::TempDir dir;
  std::string path = dir.file("tablet.db");
  auto s = open_pin(path);
  std::string gone, kept;
  auto gone_markers = record_markers(*s, "G", gone);
  auto kept_markers = record_markers(*s, "K", kept);

  auto refused = s->purge_family(gone);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.error().message, Contains("wait to be sent"));
  // the server took every op (the sync engine records that)
  std::vector<int64_t> sent;
  for (const auto& e : must(sync_port(*s).outbox())) sent.push_back(e.seq);
  must(sync_port(*s).record_push(sent, {}, 1));

  std::string wrapped_key;
  {
    Raw raw(path);
    wrapped_key = raw.blob("SELECT wrapped FROM family_keys WHERE family = '" + gone + "'");
  }
  REQUIRE(wrapped_key.size() > 40);
  must(s->purge_family(gone));

  // the key is nowhere: not in the database, the WAL or any other file
  std::vector<std::string> key_hits;
  for (const auto& entry : fs::directory_iterator(dir.path()))
    if (entry.is_regular_file() && slurp(entry.path()).find(wrapped_key) != std::string::npos)
      key_hits.push_back(entry.path().filename().string());
  CHECK(key_hits.empty());
  CHECK(files_revealing(dir.path(), gone_markers).empty());
  auto read = s->get(gone);
  REQUIRE_FALSE(read.ok());
  CHECK(read.error().code == ErrorCode::not_found);
  CHECK(must(s->status()).families == 1);
  CHECK_THAT(must(s->get(kept)).json, Contains("MRKKfamilynameQZX"));
  s.reset();
  auto reopened = open_pin(path);
  CHECK_THAT(must(reopened->get(kept)).json, Contains("MRKKfamilynameQZX"));
  CHECK(must(sync_port(*reopened).encoded_ops(gone)).empty());
}

TEST_CASE("Security: a wrong PIN is refused and counted, the limit wipes the store", "[security]") {
  test::TempDir dir;
  std::string path = dir.file("tablet.db");
  std::string fam;
  {
    auto s = open_pin(path, "2468");
    fam = must(s->create_family(test::family_fields()));
  }
  auto wrong = try_open(path, std::string("1111"), {}, 3);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == ErrorCode::locked);
  CHECK_THAT(wrong.error().message, Contains("wrong PIN (2 attempts left"));
  auto none = try_open(path, std::nullopt, {}, 3);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.error().message, Contains("enter the PIN"));

  SECTION("the right PIN resets the count") {
    REQUIRE(try_open(path, std::string("2468"), {}, 3).ok());
    auto again = try_open(path, std::string("1111"), {}, 3);
    CHECK_THAT(again.error().message, Contains("2 attempts left"));
  }
  SECTION("reaching the limit shreds the keys and deletes the files") {
    CHECK_THAT(try_open(path, std::string("1112"), {}, 3).error().message, Contains("1 attempts left"));
    auto last = try_open(path, std::string("1113"), {}, 3);
    REQUIRE_FALSE(last.ok());
    CHECK_THAT(last.error().message, Contains("wiped"));
    // the family was never synced: the wipe says so instead of dropping it silently
    CHECK_THAT(last.error().message, Contains("1 operations not yet synced"));
    CHECK_FALSE(fs::exists(path));
    CHECK_FALSE(fs::exists(path + "-wal"));
    // the right PIN now finds an empty new store, not the old data
    auto fresh = open_pin(path, "2468");
    CHECK(must(fresh->status()).families == 0);
  }
}

TEST_CASE("Security: changing the PIN keeps the data and retires the old PIN", "[security]") {
  test::TempDir dir;
  std::string path = dir.file("tablet.db");
  std::string fam;
  {
    auto s = open_pin(path, "2468");
    fam = must(s->create_family(test::family_fields()));
    auto wrong = s->change_pin("0000", "13579");
    REQUIRE_FALSE(wrong.ok());
    CHECK_THAT(wrong.error().message, Contains("current PIN is wrong"));
    CHECK_THAT(s->change_pin("2468", "12").error().message, Contains("at least 4"));
    must(s->change_pin("2468", "13579"));
  }
  CHECK_FALSE(try_open(path, std::string("2468")).ok());
  auto s = open_pin(path, "13579");
  CHECK_THAT(must(s->get(fam)).json, Contains("Family F"));
}

TEST_CASE("Security: tampered or moved ciphertext is detected and named, never returned", "[security]") {
  test::TempDir dir;
  std::string path = dir.file("tablet.db");
  std::string fam;
  {
    auto s = open_pin(path);
    fam = must(s->create_family(test::family_fields()));
    must(s->checkpoint());
  }
  SECTION("a flipped byte in a field value") {
    {
      Raw raw(path);
      std::string v = raw.blob("SELECT value FROM fields WHERE entity = '" + fam + "' AND name = 'phone'");
      REQUIRE(!v.empty());
      raw.exec("UPDATE fields SET value = X'" + [&] {
        std::string hex;
        v[v.size() / 2] = char(v[v.size() / 2] ^ 1);
        for (char ch : v) {
          auto c = static_cast<unsigned char>(ch);
          static const char* h = "0123456789ABCDEF";
          hex += h[c >> 4];
          hex += h[c & 15];
        }
        return hex;
      }() + "' WHERE entity = '" + fam + "' AND name = 'phone'");
    }
    auto s = open_pin(path);
    auto r = s->get(fam);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::corrupt);
    CHECK_THAT(r.error().message, Contains("record " + fam + " field phone") && Contains("authentication failed"));
  }
  SECTION("a value moved to another field") {
    {
      Raw raw(path);
      raw.exec("UPDATE fields SET value = (SELECT value FROM fields WHERE entity = '" + fam +
               "' AND name = 'display_name') WHERE entity = '" + fam + "' AND name = 'phone'");
    }
    auto s = open_pin(path);
    auto r = s->get(fam);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.error().message, Contains("field phone"));
  }
  SECTION("a flipped byte in the op log") {
    {
      Raw raw(path);
      // byte 21 becomes 0x00, or 0x01 when it was 0x00 already (1 run in 256 left it unchanged)
      raw.exec("UPDATE ops SET body = substr(body, 1, 20) || "
               "CASE WHEN substr(body, 21, 1) = X'00' THEN X'01' ELSE X'00' END || substr(body, 22) WHERE seq = 1");
    }
    auto s = open_pin(path);
    auto r = sync_port(*s).encoded_ops(fam);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::corrupt);
    CHECK_THAT(r.error().message, Contains("op "));
    CHECK_FALSE(s->update(fam, "phone", "1").ok());  // the merge refuses to load a corrupt log
  }
}

TEST_CASE("Security: a key from the platform keystore unlocks the store without any PIN", "[security]") {
  test::TempDir dir;
  std::string path = dir.file("tablet.db");
  std::string key(32, '\x5a');
  std::string fam;
  {
    auto s = try_open(path, std::nullopt, key);
    REQUIRE(s.ok());
    fam = must((*s)->create_family(test::family_fields()));
  }
  auto s = try_open(path, std::nullopt, key);
  REQUIRE(s.ok());
  CHECK_THAT(must((*s)->get(fam)).json, Contains("Family F"));
  auto wrong = try_open(path, std::nullopt, std::string(32, '\x01'));
  REQUIRE_FALSE(wrong.ok());
  CHECK_THAT(wrong.error().message, Contains("keystore key does not unlock"));
  auto pin = try_open(path, std::string("2468"));
  REQUIRE_FALSE(pin.ok());
  CHECK_THAT(pin.error().message, Contains("platform keystore"));
  CHECK_THAT(try_open(dir.file("b.db"), std::nullopt, std::string(5, 'x')).error().message, Contains("exactly 32 bytes"));
}

TEST_CASE("Security: a new store needs a secret, KDF parameters are stored and upgraded", "[security]") {
  test::TempDir dir;
  auto none = try_open(dir.file("a.db"), std::nullopt);
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.error().message, Contains("needs a PIN or a keystore key"));

  std::string path = dir.file("b.db");
  REQUIRE(try_open(path, std::string("2468"), {}, 10, KdfParams{1u << 10, 8, 1}).ok());
  {
    Raw raw(path);
    CHECK(raw.blob("SELECT CAST(n AS BLOB) FROM vault") == "1024");
  }
  REQUIRE(try_open(path, std::string("2468"), {}, 10, KdfParams{1u << 11, 8, 1}).ok());
  {
    Raw raw(path);
    CHECK(raw.blob("SELECT CAST(n AS BLOB) FROM vault") == "2048");
  }
  REQUIRE(try_open(path, std::string("2468"), {}, 10, KdfParams{1u << 10, 8, 1}).ok());  // never downgraded
  Raw raw(path);
  CHECK(raw.blob("SELECT CAST(n AS BLOB) FROM vault") == "2048");
}

TEST_CASE("Security: the file scan finds markers when encryption is off (control)", "[security]") {
  test::TempDir dir;
  StoreOptions o;
  o.practitioner_id = "hv-1";
  o.encrypted = false;
  auto s = must(Store::open(dir.file("plain.db"), std::move(o)));
  std::string fam;
  auto markers = record_markers(*s, "P", fam);
  auto hits = files_revealing(dir.path(), markers);
  CHECK(hits.size() >= markers.size());  // every marker is there in clear, most more than once
  CHECK_FALSE(try_open(dir.file("plain.db"), std::string("2468")).ok());  // and a PIN cannot "lock" it later
}
