#include <catch2/catch.hpp>

#include "scenario.hpp"
#include "../support/store_peer.hpp"
#include "../support/temp_dir.hpp"

using namespace hearth;
using namespace hearth::test;

namespace {
constexpr uint32_t kBaseSeed = 20261123;

void run_many(size_t count, const PeerFactory& make, ScenarioStats& stats) {
  size_t failures = 0;
  for (size_t i = 0; i < count && failures < 3; ++i) {
    uint32_t seed = kBaseSeed + static_cast<uint32_t>(i);
    Scenario s(seed, make);
    std::string err = s.run(stats);
    if (!err.empty()) {
      ++failures;
      FAIL_CHECK("scenario seed " << seed << " failed: " << err);
    }
  }
  CHECK(failures == 0);
}
}  // namespace

TEST_CASE("Convergence: replicas of the pure merge converge byte for byte", "[property]") {
  size_t n = scenarios_from_env("HEARTH_PROPERTY_SCENARIOS", 2000);
  ScenarioStats stats;
  run_many(n, [](int i, FakeClock c) { return std::make_unique<MemoryPeer>("dev-" + std::to_string(i), "p-" + std::to_string(i), c); },
           stats);
  // the scenarios must exercise what they claim to
  CHECK(stats.edits > n * 10);
  CHECK(stats.conflicts_seen > n / 4);
  CHECK(stats.resolutions > n / 10);
  WARN(n << " scenarios, " << stats.edits << " edits, " << stats.rejected_edits << " refused, "
         << stats.conflicts_seen << " replicas with conflicts, " << stats.resolutions << " resolutions");
}

TEST_CASE("Convergence: replicas on the SQLite store converge byte for byte", "[property]") {
  size_t n = scenarios_from_env("HEARTH_PROPERTY_STORE_SCENARIOS", 40);
  TempDir dir;
  ScenarioStats stats;
  size_t counter = 0;
  run_many(n, [&](int i, FakeClock c) {
    return std::make_unique<StorePeer>(dir.file("s" + std::to_string(counter++) + ".db"), "p-" + std::to_string(i), c);
  }, stats);
  CHECK(stats.edits > n * 10);
}
