// Devices that are lost (N5) end to end: a real hearth-server over TLS and real tablets. The
// office asks for a wipe (`hearth-server wipe`); the tablet's sync library pushes first, wipes
// its store (keys first) and acknowledges; `hearth-server devices` shows it. A wipe never
// destroys work the tablet could still push unless the office says to discard it. The key
// lease reaches the tablet from the tenant configuration and is shown by `devices`.
#include <catch2/catch.hpp>

#include <filesystem>

#include "hearth/core/civil_time.hpp"
#include "../support/fake_clock.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

constexpr uint64_t kMinute = 60ull * 1000;
constexpr uint64_t kDay = 24 * 60 * kMinute;

// A transport to the real server whose pushes fail as a broken connection would: the tablet
// hears of the wipe at its pull, but cannot deliver its unsynced work.
class PushFails final : public client::Transport {
 public:
  explicit PushFails(std::unique_ptr<client::Transport> inner) : inner_(std::move(inner)) {}
  Result<client::HttpReply> post(const std::string& path, const std::string& json, const std::string& bearer) override {
    if (path == "/v1/push") return make_error(ErrorCode::network, "connection reset by peer (the test breaks every push)");
    return inner_->post(path, json, bearer);
  }
  uint64_t bytes_sent() const override { return inner_->bytes_sent(); }
  uint64_t bytes_received() const override { return inner_->bytes_received(); }

 private:
  std::unique_ptr<client::Transport> inner_;
};

client::SyncOptions once() {
  client::SyncOptions o;
  o.max_attempts = 1;
  return o;
}

Result<client::SyncReport> sync_with_push_failing(Tablet& t) {
  auto curl = client::make_curl_transport(client::CurlOptions{t.server_url, t.ca});
  if (!curl) return curl.error();
  PushFails transport(std::move(*curl));
  return client::sync(*t.store, transport, once());
}

// The line `hearth-server devices` prints for a device.
std::string device_line(ServerProcess& server, const std::string& device) {
  std::string out = server.admin({"devices"});
  size_t at = out.find(device);
  REQUIRE(at != std::string::npos);
  return out.substr(at, out.find('\n', at) - at);
}

struct Team {
  ServerProcess server;
  Tablet hv{server, "hv-1"};
  Tablet yw{server, "yw-1"};
  std::string family;
  Team() {
    family = must(hv.store->create_family(family_fields()));
    hv.sync();
    server.admin({"allocate", "--family", family, "--practitioner", "yw-1"});
    yw.sync();
  }
};

}  // namespace

TEST_CASE("E2E: a wipe the office asks for is done at the next sync after the push and acknowledged",
          "[e2e][security]") {
  Team t;
  const std::string device = t.hv.store->device_id();
  must(t.hv.store->create(t.family, "Contact", contact_fields("2026-11-20T10:00:00Z", "marker-wipe-one")));
  must(t.hv.store->create(t.family, "Contact", contact_fields("2026-11-21T10:00:00Z", "marker-wipe-two")));

  CHECK_THAT(t.server.admin({"wipe", "--device", device}), Contains("wipe requested for device " + device));
  std::string line = device_line(t.server, device);
  CHECK_THAT(line, Contains("hv-1") && Contains("last pull") && Contains("wipe requested") &&
                       Contains("(push unsynced first)") && Contains("wipe pending, lease until"));

  auto wiped = t.hv.try_sync();
  REQUIRE_FALSE(wiped);
  CHECK(wiped.error().code == ErrorCode::revoked);
  CHECK_THAT(wiped.error().message, Contains("wiped at the office's request") &&
                                        Contains("everything on it had reached the server") &&
                                        Contains("the office has the acknowledgement"));
  // pushed first: the colleague receives both visits recorded before the wipe
  t.yw.sync();
  CHECK_THAT(t.yw.family_json(t.family), Contains("marker-wipe-one") && Contains("marker-wipe-two"));
  // the office sees it acknowledged, and the credential is revoked
  line = device_line(t.server, device);
  CHECK_THAT(line, Contains("REVOKED") && Contains("wipe acknowledged") && Contains("0 unsynced ops lost"));
  CHECK_THAT(line, !Contains("wipe pending"));
  // the store is gone: the handle refuses every call, and its files are removed
  auto later = t.hv.store->get(t.family);
  REQUIRE_FALSE(later);
  CHECK_THAT(later.error().message, Contains("wiped"));
  for (const char* suffix : {"", "-wal", "-shm"}) CHECK_FALSE(std::filesystem::exists(t.hv.path() + suffix));
  // a second wipe request is refused: nothing is left on the device
  CHECK_THROWS_WITH(t.server.admin({"wipe", "--device", device}), Contains("acknowledged a wipe already"));
}

TEST_CASE("E2E: a wipe never destroys work the tablet could still push unless the office says to discard it",
          "[e2e][security]") {
  Team t;
  const std::string device = t.hv.store->device_id();
  const std::string visit = must(t.hv.store->create(t.family, "Contact", contact_fields("2026-11-22T10:00:00Z", "marker-kept")));
  t.server.admin({"wipe", "--device", device});

  // The wipe order arrives with the pull, but the push failed: the store is kept whole.
  auto held_back = sync_with_push_failing(t.hv);
  REQUIRE_FALSE(held_back);
  CHECK(held_back.error().code == ErrorCode::network);
  CHECK_THAT(held_back.error().message, Contains("asked for this device to be wiped") &&
                                            Contains("1 unsynced operations") && Contains("the push failed") &&
                                            Contains("sync again"));
  CHECK(must(t.hv.store->status()).unsynced == 1);
  CHECK_THAT(must(t.hv.store->get(visit)).json, Contains("marker-kept"));
  CHECK_THAT(device_line(t.server, device), Contains("wipe pending") && !Contains("wipe acknowledged"));

  SECTION("the next sync that can push delivers the work, then wipes") {
    auto wiped = t.hv.try_sync();
    REQUIRE_FALSE(wiped);
    CHECK(wiped.error().code == ErrorCode::revoked);
    CHECK_THAT(wiped.error().message, Contains("everything on it had reached the server"));
    t.yw.sync();
    CHECK_THAT(t.yw.family_json(t.family), Contains("marker-kept"));
    CHECK_THAT(device_line(t.server, device), Contains("wipe acknowledged") && Contains("0 unsynced ops lost"));
  }

  SECTION("with --discard-unsynced it wipes anyway and says how many operations went") {
    CHECK_THAT(t.server.admin({"wipe", "--device", device, "--discard-unsynced"}), Contains("discarding"));
    auto wiped = sync_with_push_failing(t.hv);
    REQUIRE_FALSE(wiped);
    CHECK(wiped.error().code == ErrorCode::revoked);
    CHECK_THAT(wiped.error().message, Contains("wiped at the office's request") &&
                                          Contains("1 operations not yet synced") &&
                                          Contains("the office said to discard"));
    CHECK_FALSE(std::filesystem::exists(t.hv.path()));
    std::string line = device_line(t.server, device);
    CHECK_THAT(line, Contains("(discard unsynced)") && Contains("wipe acknowledged") && Contains("1 unsynced ops lost"));
    t.yw.sync();
    CHECK_THAT(t.yw.family_json(t.family), !Contains("marker-kept"));
  }
}

TEST_CASE("E2E: the tenant's key lease reaches the tablet and ends offline and a sync renews it", "[e2e][security]") {
  ServerProcess server;
  server.admin({"config", "set", "key_lease_days", "21"});
  Tablet hv(server, "hv-1");
  const std::string family = must(hv.store->create_family(family_fields()));
  hv.sync();
  auto lease = must(hv.store->key_lease());
  CHECK(lease.ends_at_ms >= wall_now_ms() + 21 * kDay - 5 * kMinute);
  CHECK(lease.ends_at_ms <= wall_now_ms() + 21 * kDay);
  const std::string day = civil::format_datetime_seconds(static_cast<int64_t>(lease.ends_at_ms)).substr(0, 10);
  CHECK_THAT(device_line(server, hv.store->device_id()), Contains("lease until " + day) && !Contains("wipe"));

  // 22 days on, offline: the store opens only to sync; the sync pushes what was recorded and renews it.
  must(hv.store->update(family, "phone", "07700 900321"));
  FakeClock later(wall_now_ms() + 22 * kDay);
  hv.open(later.fn());
  auto refused = hv.store->get(family);
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::locked);
  CHECK_THAT(refused.error().message, Contains("the key lease of this device ended at " + day));
  auto report = hv.sync();
  CHECK(report.pushed == 1);
  CHECK_FALSE(must(hv.store->key_lease()).ended);
  CHECK_THAT(must(hv.store->get(family)).json, Contains("07700 900321"));
}
