// DOMAIN.md §8.5: a device whose clock is years wrong must not win or lose every conflict.
#include <catch2/catch.hpp>

#include "hearth/sync/clock_guard.hpp"
#include "../support/replica.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using namespace hearth::sync;

namespace {
constexpr uint64_t kYear = 365ull * 24 * 3600 * 1000;

// The authority (what hearth-server does at push time): measure, restamp, tell the device.
std::vector<Op> guard(const ClockGuard& g, test::Replica& authority, const std::vector<Op>& pushed,
                      uint64_t device_now, uint64_t authority_now, test::Replica& device) {
  int64_t offset = g.offset(device_now, authority_now);
  device.clock().correct(offset);
  std::vector<Op> out;
  for (const auto& op : pushed) {
    if (auto wall = g.corrected_wall(op.hlc, offset, authority_now)) {
      auto r = authority.commit(Result<Op>(make_restamp(op, *wall)));
      REQUIRE(r.ok());
      out.push_back(*r);
    }
  }
  return out;
}

struct World {
  test::FakeClock truth{1767225600000ull};
  test::FakeClock ahead{1767225600000ull + 5 * kYear};
  test::FakeClock behind{1767225600000ull - 5 * kYear};
  test::Replica server{"server", "system", truth};
  test::Replica honest{"honest", "hv-1", truth};
  std::string fam = "fam-1";
  World() {
    REQUIRE(honest.create(fam, "Family", fam, test::family_fields()).ok());
    server.receive_all(honest.made());
  }
};
}  // namespace

TEST_CASE("Clock guard: a device years ahead does not win a later honest edit", "[unit][clock]") {
  World w;
  test::Replica skewed("skewed", "yw-1", w.ahead);
  skewed.receive_all(w.honest.made());
  REQUIRE(skewed.set(w.fam, "phone", "from the skewed device").ok());  // real time T
  w.truth.advance(60'000);
  w.ahead.advance(60'000);
  REQUIRE(w.honest.set(w.fam, "phone", "from the honest device").ok());  // real time T+1min, concurrent

  SECTION("without the guard the bad clock wins") {
    w.honest.receive_all(skewed.made());
    CHECK(w.honest.mat().entity(w.fam)->value("phone") == Value("from the skewed device"));
  }
  SECTION("with the guard the honest later edit wins everywhere") {
    ClockGuard g;
    w.server.receive_all(skewed.made());
    auto restamps = guard(g, w.server, skewed.made(), w.ahead.now(), w.truth.now(), skewed);
    REQUIRE(restamps.size() == skewed.made().size());
    for (auto* r : {&w.server, &w.honest, &skewed}) {
      r->receive_all(skewed.made());
      r->receive_all(w.honest.made());
      r->receive_all(restamps);
      CHECK(r->mat().entity(w.fam)->value("phone") == Value("from the honest device"));
    }
    CHECK(w.honest.mat().render_family(w.fam).value() == skewed.mat().render_family(w.fam).value());
    // the device was told: its next stamp is on true time
    CHECK(skewed.clock().tick().wall_ms < w.truth.now() + kYear);
  }
  SECTION("the honest replica's own clock is never dragged into the future") {
    w.honest.receive_all(skewed.made());
    CHECK(w.honest.clock().tick().wall_ms < w.truth.now() + 24ull * 3600 * 1000);
  }
}

TEST_CASE("Clock guard: a device years behind does not lose a later edit of its own", "[unit][clock]") {
  World w;
  test::Replica slow("slow", "yw-1", w.behind);
  slow.receive_all(w.honest.made());  // last sync at T0; the HLC holds slow's stamps at T0 from here
  w.truth.advance(3'600'000);
  w.behind.advance(3'600'000);
  REQUIRE(w.honest.set(w.fam, "phone", "honest, earlier").ok());  // real time T0+1h
  w.truth.advance(3'600'000);
  w.behind.advance(3'600'000);
  REQUIRE(slow.set(w.fam, "phone", "slow device, later").ok());  // real time T0+2h, stamped near T0
  SECTION("without the guard the slow clock loses") {
    w.honest.receive_all(slow.made());
    CHECK(w.honest.mat().entity(w.fam)->value("phone") == Value("honest, earlier"));
  }
  SECTION("with the guard its later edit wins") {
    ClockGuard g;
    auto restamps = guard(g, w.server, slow.made(), w.behind.now(), w.truth.now(), slow);
    REQUIRE_FALSE(restamps.empty());
    w.honest.receive_all(slow.made());
    w.honest.receive_all(restamps);
    CHECK(w.honest.mat().entity(w.fam)->value("phone") == Value("slow device, later"));
  }
}

TEST_CASE("Clock guard: offsets within tolerance change nothing, future stamps are clamped", "[unit][clock]") {
  ClockGuard g;
  CHECK(g.offset(1000, 1000 + 60'000) == 0);
  CHECK(g.offset(1000, 1000 + 3'600'000) == 3'600'000);
  CHECK_FALSE(g.corrected_wall(Hlc{5000, 0}, 0, 10'000).has_value());
  auto clamped = g.corrected_wall(Hlc{10'000 + 2 * 24ull * 3600 * 1000, 0}, 0, 10'000);
  REQUIRE(clamped.has_value());
  CHECK(*clamped == 10'000);
}
