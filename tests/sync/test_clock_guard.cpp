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

// Issue 7, fault 5: "A tablet that synced honestly and whose clock then falls years behind makes
// edits that, after the clock guard restamps them, beat a colleague's edits made later in real
// time."
TEST_CASE("Clock guard: a tablet that synced honestly and then fell years behind does not beat a later edit", "[fault][clock]") {
  World w;
  test::FakeClock tablet_clock{w.truth.now()};
  test::Replica tablet("tablet", "yw-1", tablet_clock);
  tablet.receive_all(w.honest.made());
  ClockGuard g;
  // an honest sync: the tablet pushes an edit, and its clock adopts the server's time
  REQUIRE(tablet.set(w.fam, "email", "a@example.org").ok());
  int64_t offset = g.offset(tablet.clock().physical_now(), w.truth.now());
  CHECK(offset == 0);
  CHECK_FALSE(g.corrected_wall(tablet.made().back().hlc, offset, w.truth.now(), 0).has_value());
  REQUIRE(tablet.clock().adopt_authority_time(w.truth.now()));
  uint64_t floor = w.truth.now();

  // then its clock falls five years behind; an hour later it records an edit
  w.truth.advance(3'600'000);
  tablet_clock.set(w.truth.now() - 5 * kYear);
  REQUIRE(tablet.set(w.fam, "phone", "tablet, earlier").ok());
  // a colleague edits the same field two hours later in real time
  w.truth.advance(2 * 3'600'000);
  REQUIRE(w.honest.set(w.fam, "phone", "colleague, later").ok());
  // the tablet syncs a day later
  w.truth.advance(24 * 3'600'000);
  tablet_clock.set(w.truth.now() - 5 * kYear);
  offset = g.offset(tablet.clock().physical_now(), w.truth.now());
  CHECK(offset > static_cast<int64_t>(4 * kYear));
  const Op& late = tablet.made().back();

  SECTION("without the floor the guard moves the edit to now, past the colleague's") {
    auto wall = g.corrected_wall(late.hlc, offset, w.truth.now(), 0);
    REQUIRE(wall.has_value());
    CHECK(*wall == w.truth.now());
  }
  SECTION("with the floor the stamp stands and the later edit wins everywhere") {
    CHECK(late.hlc.wall_ms >= floor);
    CHECK_FALSE(g.corrected_wall(late.hlc, offset, w.truth.now(), floor).has_value());
    w.honest.receive_all(tablet.made());
    tablet.receive_all(w.honest.made());
    for (auto* r : {&w.honest, &tablet}) CHECK(r->mat().entity(w.fam)->value("phone") == Value("colleague, later"));
  }
}

TEST_CASE("Clock guard: the floor never keeps an ahead stamp and never applies to an ahead clock", "[unit][clock]") {
  ClockGuard g;
  const uint64_t now = 1767225600000ull;
  // ahead clock (negative offset): moved back whatever the floor
  auto back = g.corrected_wall(Hlc{now + kYear, 0}, -static_cast<int64_t>(kYear), now, now - 1000);
  REQUIRE(back.has_value());
  CHECK(*back == now);
  // a stamp beyond the ahead bound is clamped even at or above the floor
  auto clamped = g.corrected_wall(Hlc{now + 2 * 24ull * 3600 * 1000, 0}, 3'600'000, now, now - 1000);
  REQUIRE(clamped.has_value());
  CHECK(*clamped == now);
  // below the floor a behind clock's stamp is moved as before
  auto moved = g.corrected_wall(Hlc{now - 3 * 3'600'000, 0}, 3'600'000, now, now - 1000);
  REQUIRE(moved.has_value());
  CHECK(*moved == now - 2 * 3'600'000);
}
