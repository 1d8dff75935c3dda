// The server encrypted at rest, end to end (docs/server-encryption.md): a real hearth-server
// and real tablets; the server's data directory, WAL, backups and log scanned as raw bytes;
// the KEK missing, wrong and rotated; a family erased and its devices told.
#include <catch2/catch.hpp>

#include <filesystem>

#include "../support/marker_scan.hpp"
#include "../support/process.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

namespace {

// Markers in text (a log): "<what> reveals <marker>" for each found.
std::vector<std::string> text_revealing(const std::string& text, const std::vector<std::string>& markers,
                                        const std::string& what) {
  std::vector<std::string> hits;
  for (const auto& m : markers)
    for (const auto& e : encodings(m))
      if (text.find(e) != std::string::npos) hits.push_back(what + " reveals " + m);
  return hits;
}

// A realistic sync: a staff member with a marked name, a family whose every sensitive field
// holds a marker recorded on one tablet and received whole by a colleague's.
std::vector<std::string> realistic_sync(ServerProcess& server, std::string& family) {
  server.admin({"add-practitioner", "--id", "sw-1", "--org", "org-hv", "--name", "MRKstaffnameQZX", "--role", "PRACTITIONER"});
  Tablet hv(server, "hv-1");
  std::vector<std::string> markers = record_markers(*hv.store, "srv", family);
  markers.push_back("MRKstaffnameQZX");
  hv.sync();
  server.admin({"allocate", "--family", family, "--practitioner", "yw-1"});
  Tablet yw(server, "yw-1");
  yw.sync();
  REQUIRE_THAT(yw.family_json(family), Contains("MRKsrvfamilynameQZX"));  // received through the server
  return markers;
}

ProcessResult admin_result(ServerProcess& server, std::vector<std::string> args) {
  args.insert(args.begin(), {"--data", server.data()});
  return run_process(build_binary("server/hearth-server"), args);
}

}  // namespace

TEST_CASE("Security: no personal datum is readable from the server's data directory, WAL, backup or log", "[security][e2e]") {
  ServerProcess server;
  std::string family;
  auto markers = realistic_sync(server, family);
  REQUIRE(fs::exists(server.db() + "-wal"));  // scanned before any checkpoint too
  std::string backup = server.data() + "/backup-1.db";  // taken while serving
  server.admin({"backup", backup});
  REQUIRE(fs::exists(backup));
  auto hits = files_revealing(server.data(), markers);
  auto logged = text_revealing(server.log(), markers, "the server log");
  hits.insert(hits.end(), logged.begin(), logged.end());
  CHECK(hits.empty());
  for (const auto& h : hits) UNSCOPED_INFO(h);
  server.stop();
  CHECK(files_revealing(server.data(), markers).empty());
  // every file the server wrote is the service user's alone
  for (const auto& entry : fs::recursive_directory_iterator(server.data()))
    if (entry.is_regular_file() && entry.path().extension() != ".json") {
      INFO(entry.path().string());
      CHECK((entry.status().permissions() & (fs::perms::group_all | fs::perms::others_all)) == fs::perms::none);
    }
}

TEST_CASE("Security: the server scan finds the markers when encryption at rest is off (control)", "[security][e2e]") {
  ServerProcess server;
  server.stop();
  // A data directory made afresh with encryption off (a sealed one refuses to open without its KEK).
  server.configure([](nlohmann::json& c) { c["encrypt_at_rest"] = false; });
  for (const char* f : {"hearth-server.db", "hearth-server.db-wal", "hearth-server.db-shm", "keyring"})
    fs::remove_all(fs::path(server.data()) / f);
  server.admin({"add-org", "--id", "org-hv", "--name", "Health Visiting", "--type", "HEALTH_VISITING"});
  for (const char* p : {"hv-1", "yw-1"})
    server.admin({"add-practitioner", "--id", p, "--org", "org-hv", "--name", p, "--role", "PRACTITIONER"});
  server.start();
  std::string family;
  auto markers = realistic_sync(server, family);
  auto hits = files_revealing(server.data(), markers);
  CHECK(hits.size() >= 5);
  CHECK_THAT(server.log(), Contains("encryption at rest is off"));
}

TEST_CASE("Security: without its KEK, or with another, the server refuses to run and says what to do", "[security][e2e]") {
  ServerProcess server;
  std::string family;
  realistic_sync(server, family);
  server.stop();
  fs::path kek = fs::path(server.data()) / "keys" / "kek.key";
  fs::rename(kek, kek.string() + ".away");
  auto missing = admin_result(server, {"devices"});
  CHECK(missing.code != 0);
  CHECK_THAT(missing.err, Contains("KEK") && Contains("is missing") && Contains("restore the KEK from your key backup"));
  CHECK_THROWS(server.start());  // serve refuses too

  server.admin({"kek", "create", "--out", kek.string()});  // a new KEK over a keyring made with another
  auto wrong = admin_result(server, {"devices"});
  CHECK(wrong.code != 0);
  CHECK_THAT(wrong.err, Contains(kek.string()) && Contains("is not the key-encryption key"));
  fs::remove(kek);
  fs::rename(kek.string() + ".away", kek);
  CHECK(admin_result(server, {"devices"}).code == 0);

  // The keyring gone (a volume not mounted, a restore on a new machine): never made afresh.
  fs::path ring = fs::path(server.data()) / "keyring";
  fs::rename(ring, ring.string() + ".away");
  auto no_ring = admin_result(server, {"devices"});
  CHECK(no_ring.code != 0);
  CHECK_THAT(no_ring.err, Contains("keyring") && Contains("is missing") && Contains("put the keyring back"));
  CHECK_FALSE(fs::exists(ring));
  fs::rename(ring.string() + ".away", ring);
  CHECK(admin_result(server, {"devices"}).code == 0);
}

TEST_CASE("Security: rotating the KEK keeps every family readable and retires the old KEK", "[security][e2e]") {
  ServerProcess server;
  std::string family;
  realistic_sync(server, family);
  server.stop();
  fs::path old_kek = fs::path(server.data()) / "keys" / "kek.key";
  std::string next = server.data() + "/keys/kek-2.key";
  server.admin({"kek", "create", "--out", next});
  auto same = admin_result(server, {"kek", "rotate", "--new", old_kek.string()});
  CHECK(same.code != 0);
  CHECK_THAT(same.err, Contains("is the KEK in use"));
  server.start();
  auto serving = admin_result(server, {"kek", "rotate", "--new", next});  // never under a running server
  CHECK(serving.code != 0);
  CHECK_THAT(serving.err, Contains("stop hearth-server"));
  server.stop();
  std::string out = server.admin({"kek", "rotate", "--new", next});
  CHECK_THAT(out, Contains("re-wrapped"));
  fs::remove(old_kek);  // the old KEK destroyed, as the ceremony says
  server.start();
  server.admin({"allocate", "--family", family, "--practitioner", "tm-1"});
  Tablet tm(server, "tm-1");  // a device that receives the whole family after the rotation
  tm.sync();
  CHECK_THAT(tm.family_json(family), Contains("MRKsrvfamilynameQZX"));
  CHECK_THAT(server.admin({"kek", "status"}), Contains("kek-2.key"));
}

TEST_CASE("E2E: an erased family is purged from every tablet, and its unsynced work is refused but kept", "[e2e][security]") {
  ServerProcess server;
  Tablet hv(server, "hv-1");
  std::string family = must(hv.store->create_family(family_fields("Family E")));
  must(hv.store->create(family, "Contact", contact_fields("2026-11-23T10:00:00Z", "first visit")));
  hv.sync();
  server.admin({"allocate", "--family", family, "--practitioner", "yw-1"});
  Tablet yw(server, "yw-1");
  yw.sync();
  REQUIRE(must(yw.store->families()).size() == 1);
  must(hv.store->create(family, "Contact", contact_fields("2026-11-24T10:00:00Z", "recorded offline")));

  std::string out = server.admin({"erase-family", "--family", family, "--basis", "OPENED_IN_ERROR", "--reference",
                                  "IG-2026-17", "--by", "admin"});
  CHECK_THAT(out, Contains("erased family " + family));
  CHECK_THAT(server.admin({"erasures"}), Contains(family) && Contains("OPENED_IN_ERROR") && Contains("IG-2026-17"));
  auto again = admin_result(server, {"erase-family", "--family", family, "--basis", "OPENED_IN_ERROR", "--reference",
                                     "IG-2026-17", "--by", "admin"});
  CHECK(again.code != 0);
  CHECK_THAT(again.err, Contains("erased already"));

  auto report = yw.sync();  // the colleague's tablet purges it
  CHECK(report.families_purged == 1);
  CHECK(must(yw.store->families()).empty());
  auto sent = hv.try_sync();
  INFO((sent.ok() ? std::string() : sent.error().describe()));  // the author's unsynced visit is refused, kept, and the family stays until seen
  REQUIRE(sent.ok());
  CHECK(sent->rejected == 1);
  auto kept = must(hv.store->quarantine());
  REQUIRE(kept.size() == 1);
  CHECK_THAT(kept[0].reason, Contains("erased"));
  CHECK(must(hv.store->families()).size() == 1);  // kept while the refusal is unseen by the server
  hv.sync();  // the refusal is reported and acknowledged; the purge then goes ahead
  hv.sync();
  CHECK(must(hv.store->families()).empty());
  CHECK(server.admin({"verify-audit"}).find("audit trail intact") != std::string::npos);
}

TEST_CASE("E2E: an erasure reaches a restored backup taken before it", "[e2e][security]") {
  ServerProcess server;
  Tablet hv(server, "hv-1");
  std::string family = must(hv.store->create_family(family_fields("Family R")));
  must(hv.store->create(family, "Contact", contact_fields("2026-11-23T10:00:00Z", "a visit")));
  hv.sync();
  std::string backup = server.data() + "/../before-erasure.db";
  server.admin({"backup", backup});
  server.admin({"erase-family", "--family", family, "--basis", "APPROVED_ERASURE", "--reference", "IG-9", "--by", "admin"});
  server.stop();
  std::string restored = server.admin({"restore", backup});
  CHECK_THAT(restored, Contains("restored"));
  server.start();
  CHECK_THAT(server.admin({"erasures"}), Contains(family));  // the register lives with the keyring, not the backup
  auto flags = admin_result(server, {"tasks", "--family", family});
  CHECK(flags.code == 3);  // the restored database holds nothing of the family
  Tablet fresh(server, "hv-1");  // a device enrolled now receives nothing of it
  fresh.sync();
  CHECK(must(fresh.store->families()).empty());
  auto again = hv.try_sync();  // the old tablet sends its ops again to the restored server: refused
  REQUIRE(again.ok());
  CHECK(again->history_resets >= 1);
  CHECK(again->rejected >= 1);
  CHECK(server.admin({"verify-audit"}).find("audit trail intact") != std::string::npos);
}
