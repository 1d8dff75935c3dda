#include <catch2/catch.hpp>

#include "hearth/sync/hlc.hpp"
#include "../support/fake_clock.hpp"

using namespace hearth;
using namespace hearth::sync;

TEST_CASE("HLC: ticks are strictly increasing even when the wall clock stalls or goes back", "[unit][hlc]") {
  test::FakeClock t(1000);
  HybridClock c(t.fn());
  Hlc a = c.tick();
  Hlc b = c.tick();  // same wall time
  CHECK(a < b);
  CHECK(b.wall_ms == 1000);
  CHECK(b.logical == 1);
  t.set(500);  // clock stepped back
  Hlc d = c.tick();
  CHECK(b < d);
  t.set(2000);
  Hlc e = c.tick();
  CHECK(e == Hlc{2000, 0});
}

TEST_CASE("HLC: observing a remote stamp orders later local events after it", "[unit][hlc]") {
  test::FakeClock t(1000);
  HybridClock c(t.fn());
  REQUIRE(c.observe(Hlc{5000, 7}).ok());
  Hlc next = c.tick();
  CHECK(Hlc{5000, 7} < next);
}

TEST_CASE("HLC: a stamp far in the future is not adopted", "[unit][hlc]") {
  test::FakeClock t(1000);
  HybridClock c(t.fn(), 60'000);
  auto r = c.observe(Hlc{1000 + 3'600'000, 0});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::clock);
  CHECK(c.tick().wall_ms == 1000);  // still on its own time
  REQUIRE(c.observe(Hlc{1000 + 30'000, 0}).ok());  // within drift: adopted
  CHECK(c.tick().wall_ms == 31'000);
}

TEST_CASE("HLC: an offset from the authority corrects later stamps, restore keeps monotonicity", "[unit][hlc]") {
  test::FakeClock t(1000);
  HybridClock c(t.fn());
  c.correct(10'000);
  CHECK(c.tick().wall_ms == 11'000);
  HybridClock reopened(t.fn());
  reopened.restore(Hlc{50'000, 3});
  CHECK(Hlc{50'000, 3} < reopened.tick());
}

TEST_CASE("HLC: corrections add up, and an adopted authority time is a floor for later stamps", "[unit][hlc]") {
  test::FakeClock raw{1'000'000'000};
  HybridClock c(raw.fn());
  c.correct(10'000);  // measured against the raw clock
  CHECK(c.physical_now() == 1'000'010'000);
  c.correct(-4'000);  // measured against the corrected clock: adds
  CHECK(c.physical_now() == 1'000'006'000);
  REQUIRE(c.adopt_authority_time(1'000'006'500));
  raw.set(900'000'000);  // the clock falls behind
  CHECK(c.tick().wall_ms >= 1'000'006'500);
  CHECK_FALSE(c.adopt_authority_time(1'000'006'000 + 2 * kDefaultMaxDriftMs));  // refused like observe
}
