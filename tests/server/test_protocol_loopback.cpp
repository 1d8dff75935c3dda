// Protocol behaviour through the in-process loopback transport: push batches in bytes, the
// too_large split, ops over the per-op limit, push failures that must not stop the pull, and
// the history epoch after a restored server database.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>

#include "../support/loopback_transport.hpp"
#include "../support/samples.hpp"
#include "hearth/sync/protocol.hpp"

using namespace hearth;
using namespace hearth::test;

namespace {

// A visit narrative of `bytes` bytes: words of plain letters, deterministic per seed.
std::string narrative(size_t bytes, uint32_t seed) {
  std::mt19937 rng(seed);
  std::string s;
  s.reserve(bytes);
  while (s.size() < bytes) {
    size_t word = 2 + rng() % 9;
    for (size_t i = 0; i < word && s.size() < bytes; ++i) s.push_back(static_cast<char>('a' + rng() % 26));
    if (s.size() < bytes) s.push_back(rng() % 12 == 0 ? '\n' : ' ');
  }
  return s;
}

std::string visit_time(int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "2026-%02d-%02dT%02d:%02d:00Z", 1 + i / 28 % 12, 1 + i % 28, 8 + i % 10, i % 60);
  return buf;
}

size_t own_ops(client::Store& s) {
  size_t n = 0;
  for (const auto& id : must(sync_port(s).op_ids())) n += id.device == s.device_id();
  return n;
}

}  // namespace

TEST_CASE("Loopback: a tablet holding 300 long visit notes syncs completely, in batches under the server's byte limit",
          "[fault][protocol]") {
  LoopbackServer server;
  LoopbackDevice hv(server, "hv-1");
  std::string fam = must(hv.store->create_family(family_fields()));
  // 300 home visits with 30-60 KB narratives: about 13 MiB, far over one 4 MiB push
  for (int i = 0; i < 300; ++i)
    must(hv.store->create(fam, "Contact", contact_fields(visit_time(i), narrative(30000 + static_cast<size_t>(i) * 100, static_cast<uint32_t>(i)))));
  size_t largest = 0;
  hv.transport->intercept = [&](const std::string& path, const std::string& body) -> std::optional<Result<client::HttpReply>> {
    if (path == "/v1/push") largest = std::max(largest, body.size());
    return std::nullopt;
  };
  auto report = hv.sync();
  CHECK(report.pushed == own_ops(*hv.store));
  CHECK(report.push_requests >= 4);
  CHECK(largest <= sync::protocol::Limits{}.push_bytes);
  CHECK(sync_port(*hv.store).unsynced() == 0);
  CHECK(report.quarantined == 0);

  server.allocate(fam, "yw-1");
  LoopbackDevice yw(server, "yw-1");
  yw.sync();
  hv.sync();  // the office's TeamMember record for yw-1 reaches the lead's tablet too
  CHECK(yw.family_json(fam) == hv.family_json(fam));
  CHECK(must(yw.store->chronology(fam)).size() >= 300);
}

TEST_CASE("Loopback: an answer too_large splits the batch until it passes", "[fault][protocol]") {
  LoopbackServer server;
  LoopbackDevice hv(server, "hv-1");
  // a body limit in front of the service well below what the server advertises (an nginx
  // configured tighter than hearth-server): every batch is refused until it is small enough
  hv.transport = std::make_unique<LoopbackTransport>(server.service(), 200000);
  std::string fam = must(hv.store->create_family(family_fields()));
  for (int i = 0; i < 40; ++i)
    must(hv.store->create(fam, "Contact", contact_fields(visit_time(i), narrative(40000, static_cast<uint32_t>(i)))));
  auto report = hv.sync();
  CHECK(sync_port(*hv.store).unsynced() == 0);
  CHECK(report.pushed == own_ops(*hv.store));
  CHECK(report.quarantined == 0);
  CHECK(report.push_requests > 10);  // refused, split, and sent in small batches
  // the tablet's ops, and the creator's TeamMember record the server wrote when the family was created
  CHECK(server.ops_of(fam) == own_ops(*hv.store) + 1);
}

TEST_CASE("Loopback: an op over the per-op limit is kept in quarantine and does not block the queue",
          "[fault][protocol]") {
  server::ServiceLimits limits;
  // A server whose per-op limit is below the schema's field caps (64 KiB of narrative): with the
  // shipped limits no op the store accepts can pass it.
  limits.wire.op_bytes = 32 * 1024;
  LoopbackServer server(limits);
  LoopbackDevice hv(server, "hv-1");  // learns max_op_bytes = 32 KiB at enrolment
  std::string fam = must(hv.store->create_family(family_fields()));
  must(hv.store->create(fam, "Contact", contact_fields(visit_time(1), narrative(50000, 1))));
  for (int i = 2; i < 8; ++i) must(hv.store->create(fam, "Contact", contact_fields(visit_time(i), narrative(2000, 7))));

  SECTION("the device knows the limit: the op is never sent") {
    auto report = hv.sync();
    CHECK(report.quarantined == 1);
    CHECK(report.pushed == own_ops(*hv.store) - 1);
  }
  SECTION("the device does not know the limit: the server refuses that op alone with too_large") {
    must(sync_port(*hv.store).put_secret("max_op_bytes", std::to_string(1u << 20)));
    auto report = hv.sync();
    CHECK(report.quarantined == 1);
    CHECK(report.pushed == own_ops(*hv.store) - 1);
  }
  CHECK(sync_port(*hv.store).unsynced() == 0);
  auto kept = must(hv.store->quarantine());
  REQUIRE(kept.size() == 1);
  CHECK_THAT(kept[0].reason, Catch::Contains("too_large"));
  // the note is still on the device, readable: kept, not dropped
  CHECK(must(hv.store->chronology(fam)).size() >= 7);
  // and a later sync is not stalled by it; that sync reports the kept op to the server, which
  // acknowledges the report (the lead professional sees it exists)
  must(hv.store->create(fam, "Contact", contact_fields(visit_time(9), "after")));
  CHECK(hv.sync().pushed == 1);
  auto reported = must(hv.store->quarantine());
  REQUIRE(reported.size() == 1);
  CHECK(reported[0].reported);
  CHECK(reported[0].acknowledged);
  CHECK(server.flags_of(fam) == 1);
}

TEST_CASE("Loopback: a failed push never prevents the pull", "[fault][protocol]") {
  LoopbackServer server;
  LoopbackDevice hv(server, "hv-1");
  std::string fam = must(hv.store->create_family(family_fields()));
  hv.sync();
  server.allocate(fam, "yw-1");
  LoopbackDevice yw(server, "yw-1");
  yw.sync();
  must(yw.store->create(fam, "Contact", contact_fields(visit_time(3), "colleague's visit", "yw-1")));
  yw.sync();

  must(hv.store->create(fam, "Contact", contact_fields(visit_time(4), "my visit")));
  int status = GENERATE(400, 413, 500);
  hv.transport->intercept = [&](const std::string& path, const std::string&) -> std::optional<Result<client::HttpReply>> {
    if (path == "/v1/push")
      return Result<client::HttpReply>(client::HttpReply{status, "{\"error\":\"refused in test\",\"code\":\"" +
                                                                     std::string(status == 413 ? "too_large" : status == 400 ? "bad_request" : "server") +
                                                                     "\"}"});
    return std::nullopt;
  };
  auto r = hv.try_sync();
  REQUIRE_FALSE(r.ok());  // the push failure is reported...
  CHECK_THAT(r.error().message, Catch::Contains("push failed") && Catch::Contains("pull completed"));
  // ...and the colleague's visit arrived all the same
  CHECK_THAT(must(hv.store->export_family(fam)), Catch::Contains("colleague's visit"));
  // the device's own visit is not lost: queued, or kept in quarantine when refused as too large
  CHECK(sync_port(*hv.store).unsynced() + must(hv.store->quarantine()).size() == 1);
  hv.transport->intercept = nullptr;
  hv.sync();
  yw.sync();
  CHECK(yw.family_json(fam) == hv.family_json(fam));
  CHECK(sync_port(*hv.store).unsynced() == 0);
}

TEST_CASE("Loopback: a server database copied back by hand is detected, and every replica converges",
          "[fault][protocol]") {
  LoopbackServer server;
  LoopbackDevice a(server, "hv-1");
  std::string fam = must(a.store->create_family(family_fields()));
  a.sync();
  server.allocate(fam, "yw-1");
  LoopbackDevice b(server, "yw-1");
  b.sync();
  std::string epoch_before = must(sync_port(*a.store).cursors()).history_epoch;
  REQUIRE_FALSE(epoch_before.empty());

  // the backup
  server.close();
  std::filesystem::copy_file(server.db(), server.db() + ".backup");
  server.open();
  a.connect(server);
  b.connect(server);

  // A pushes two visits, B pulls them
  must(a.store->create(fam, "Contact", contact_fields(visit_time(1), "A before the restore")));
  must(a.store->create(fam, "Contact", contact_fields(visit_time(2), "A again before the restore")));
  a.sync();
  b.sync();

  // the restore, by hand: the old file with its old epoch
  server.close();
  std::filesystem::copy_file(server.db() + ".backup", server.db(), std::filesystem::copy_options::overwrite_existing);
  server.open();
  a.connect(server);
  b.connect(server);

  // B pushes before A syncs
  must(b.store->create(fam, "Contact", contact_fields(visit_time(3), "B after the restore", "yw-1")));
  b.sync();
  auto ra = a.sync();  // A's delivered counter is ahead of the restored history
  CHECK(ra.history_resets >= 1);
  CHECK(must(sync_port(*a.store).cursors()).history_epoch != epoch_before);
  b.sync();
  a.sync();
  b.sync();

  std::string fa = a.family_json(fam);
  CHECK(fa == b.family_json(fam));
  for (const char* text : {"A before the restore", "A again before the restore", "B after the restore"})
    CHECK_THAT(fa, Catch::Contains(text));
  CHECK(server.ops_of(fam) >= own_ops(*a.store));
  CHECK(sync_port(*a.store).unsynced() == 0);
  CHECK(sync_port(*b.store).unsynced() == 0);
}

TEST_CASE("Loopback: a pull cursor beyond the server's history replaces the epoch", "[fault][protocol]") {
  LoopbackServer server;
  LoopbackDevice a(server, "hv-1");
  std::string fam = must(a.store->create_family(family_fields()));
  a.sync();
  server.allocate(fam, "yw-1");
  LoopbackDevice b(server, "yw-1");
  b.sync();
  server.close();
  std::filesystem::copy_file(server.db(), server.db() + ".backup");
  server.open();
  a.connect(server);
  b.connect(server);
  must(a.store->create(fam, "Contact", contact_fields(visit_time(1), "lost by the restore")));
  a.sync();
  b.sync();  // B's cursor for the family now points past the backup

  server.close();
  std::filesystem::copy_file(server.db() + ".backup", server.db(), std::filesystem::copy_options::overwrite_existing);
  server.open();
  a.connect(server);
  b.connect(server);
  // B only pulls (it never pushed): its cursor is the evidence
  auto rb = b.sync();
  CHECK(rb.history_resets == 1);
  a.sync();  // the new epoch: A sends again what the server lacks
  b.sync();
  CHECK_THAT(b.family_json(fam), Catch::Contains("lost by the restore"));
  CHECK(a.family_json(fam) == b.family_json(fam));
}

// Found trying Hearth as a new user: a code issued for a colleague, typed on this tablet, was
// spent and enrolled the device for her before the tablet saw the mismatch; the right code was
// then refused ("enrolled for another practitioner") and the tablet's unsynced work could never
// leave it. The server now refuses such a code before anything is kept.
TEST_CASE("Loopback: an enrolment code for another practitioner is refused before it is spent", "[fault][protocol]") {
  LoopbackServer server;
  TempDir hv_dir, yw_dir;
  auto hv = open_tablet(hv_dir, "hv-1");
  LoopbackTransport t(server.service());
  std::string family = must(hv->create_family(family_fields()));  // work recorded before enrolment

  std::string theirs = server.enrol_code("yw-1");
  auto wrong = client::enrol(*hv, t, "https://loopback", "", theirs);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().code == ErrorCode::conflict);
  CHECK_THAT(wrong.error().message, Catch::Contains("another practitioner"));

  // nothing was kept: the right code enrols this tablet and its work syncs, and the other code
  // still enrols its owner's tablet
  must(client::enrol(*hv, t, "https://loopback", "", server.enrol_code("hv-1")));
  CHECK(must(client::sync(*hv, t)).pushed == 1);
  auto yw = open_tablet(yw_dir, "yw-1");
  LoopbackTransport t2(server.service());
  must(client::enrol(*yw, t2, "https://loopback", "", theirs));
  CHECK(server.ops_of(family) == 2);  // the family, and its creator's TeamMember record written by the server
}
