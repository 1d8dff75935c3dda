// Issue 7, fault 5, as a property: clock offsets change between syncs while the test knows true
// time. After every replica has synced, an edit made later in true time by an honest device
// (its corrected clock within the guard's tolerance of true time) is ordered after every edit
// made before it, on every replica. The authority here does what hearth-server does at push
// time (measure, restamp with the device's clock floor, answer with its time); the device does
// what the store does with the answer (correct, adopt the server time as its floor), and
// receives a batch as the store does (observing effective stamps).
//
// A clock changes only right after a sync in which the device pushed (the authority measured
// and corrected it). Left out, and reported as limits in docs/change-log.md: a clock that runs
// ahead while its device only pulls is never measured, and the HLC keeps that time (an HLC
// never goes back), so if the clock then changes before the next push the device's later
// stamps stay ahead; and a clock ahead by more than the tolerance but less than the 24 h bound.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <random>

#include "hearth/sync/clock_guard.hpp"
#include "scenario.hpp"
#include "../support/replica.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using namespace hearth::sync;

namespace {

constexpr uint64_t kMinute = 60'000;
constexpr uint64_t kHour = 60 * kMinute;
constexpr uint64_t kDay = 24 * kHour;
constexpr uint64_t kYear = 365 * kDay;
constexpr uint32_t kBaseSeed = 20261130;

// Raw clock errors a device may jump to right after a sync. Ahead by more than the tolerance
// but less than the 24 h bound is left out: stamps that far ahead are adopted by colleagues'
// clocks before the restamp arrives (a limit of the HLC bound, not of the restamp).
const std::vector<int64_t> kOffsets = {0,
                                       0,
                                       2 * static_cast<int64_t>(kMinute),
                                       -2 * static_cast<int64_t>(kMinute),
                                       -3 * static_cast<int64_t>(kHour),
                                       -2 * static_cast<int64_t>(kDay),
                                       -5 * static_cast<int64_t>(kYear),
                                       2 * static_cast<int64_t>(kDay),
                                       5 * static_cast<int64_t>(kYear)};

struct Device {
  test::FakeClock raw;
  test::Replica replica;
  int64_t error = 0;     // raw clock minus true time
  uint64_t floor = 0;    // the last server time adopted
  size_t pushed = 0;     // ops of `made()` the server has
  size_t cursor = 0;     // ops of the server's log this device has
  Device(const std::string& id, const std::string& author, test::FakeClock clock)
      : raw(clock), replica(id, author, clock) {}
};

struct Edit {
  uint64_t true_ms;
  Op op;
  bool honest;
  std::string device;
};

class World {
 public:
  explicit World(uint32_t seed) : rng_(seed) {
    for (int i = 0; i < 3; ++i)
      devices_.push_back(std::make_unique<Device>("tab-" + std::to_string(i), "p-" + std::to_string(i),
                                                  test::FakeClock(truth_.now())));
  }

  // "" when the property holds, else what broke.
  std::string run() {
    // Everyone synced honestly first: a create, then each device edits and syncs.
    auto made = devices_[0]->replica.create(fam_, "Family", fam_, test::family_fields());
    if (!made) return "create failed: " + made.error().message;
    sync(0);
    for (size_t i = 0; i < devices_.size(); ++i) {
      step();
      sync(i);
      if (auto e = edit(i); !e.empty()) return e;
      sync(i);
    }
    for (size_t i = 0; i < devices_.size(); ++i) sync(i);

    std::uniform_int_distribution<size_t> who(0, devices_.size() - 1);
    std::uniform_int_distribution<int> what(0, 9);
    for (int round = 0; round < 24; ++round) {
      step();
      size_t d = who(rng_);
      if (what(rng_) < 5) {
        if (auto e = edit(d); !e.empty()) return e;
      } else {
        // the clock changes right after a sync in which it was measured (see the header)
        if (sync(d) && what(rng_) < 6) jump(d);
      }
    }
    for (int pass = 0; pass < 2; ++pass) {
      step();
      for (size_t i = 0; i < devices_.size(); ++i) sync(i);
    }
    return check();
  }

  size_t jumps() const { return jumps_; }
  const std::string& trace() const { return trace_; }

 private:
  void step() {
    std::uniform_int_distribution<uint64_t> gap(11 * kMinute, 6 * kHour);
    truth_.advance(gap(rng_));
    for (auto& d : devices_) d->raw.set(static_cast<uint64_t>(static_cast<int64_t>(truth_.now()) + d->error));
  }

  void jump(size_t i) {
    Device& d = *devices_[i];
    std::uniform_int_distribution<size_t> pick(0, kOffsets.size() - 1);
    int64_t before = d.error;
    d.error = kOffsets[pick(rng_)];
    if (d.error != before) ++jumps_;
    note(d.replica.device() + " clock error " + std::to_string(before) + " -> " + std::to_string(d.error));
    d.raw.set(static_cast<uint64_t>(static_cast<int64_t>(truth_.now()) + d.error));
  }

  std::string edit(size_t i) {
    Device& d = *devices_[i];
    uint64_t now = truth_.now();
    uint64_t reads = d.replica.clock().physical_now();
    bool honest = (reads > now ? reads - now : now - reads) <= ClockGuard::kDefaultToleranceMs;
    auto op = d.replica.set(fam_, "phone", "v" + std::to_string(edits_.size()));
    if (!op) return "edit failed: " + op.error().message;
    edits_.push_back(Edit{now, *op, honest, d.replica.device()});
    note("edit " + op->id.to_string() + " at " + std::to_string(now) + " stamp " + op->hlc.to_string() +
         (honest ? " honest" : ""));
    return {};
  }

  // A push (only when there is something to push, as the sync engine does), then a pull.
  // True when it pushed, i.e. the authority measured the device's clock.
  bool sync(size_t i) {
    Device& d = *devices_[i];
    const auto& made = d.replica.made();
    uint64_t now = truth_.now();
    bool pushed = d.pushed < made.size();
    if (pushed) {
      int64_t offset = guard_.offset(d.replica.clock().physical_now(), now);
      for (size_t k = d.pushed; k < made.size(); ++k) {
        const Op& op = made[k];
        (void)authority_.mat().apply(op);
        log_.push_back(op);
        note("push " + op.id.to_string() + " at " + std::to_string(now) + " offset " + std::to_string(offset) +
             " floor " + std::to_string(d.floor));
        if (auto wall = guard_.corrected_wall(op.hlc, offset, now, d.floor)) {
          note("  restamp to " + std::to_string(*wall));
          auto restamp = authority_.commit(Result<Op>(make_restamp(op, *wall)));
          if (restamp) log_.push_back(*restamp);
        }
      }
      d.pushed = made.size();
      if (offset != 0) d.replica.clock().correct(offset);
      if (d.replica.clock().adopt_authority_time(now)) d.floor = now;
    }
    d.replica.receive_batch(std::vector<Op>(log_.begin() + static_cast<std::ptrdiff_t>(d.cursor), log_.end()));
    d.cursor = log_.size();
    return pushed;
  }

  std::string check() {
    const Materialiser& m = authority_.mat();
    for (const auto& b : edits_) {
      if (!b.honest) continue;
      for (const auto& a : edits_) {
        if (a.true_ms >= b.true_ms) continue;
        Hlc sa = m.effective_stamp(a.op), sb = m.effective_stamp(b.op);
        if (!stamp_before(sa, a.op.id, sb, b.op.id))
          return "honest edit " + b.op.id.to_string() + " at " + std::to_string(b.true_ms) + " (stamp " +
                 sb.to_string() + ") is ordered before " + a.op.id.to_string() + " made at " +
                 std::to_string(a.true_ms) + " (stamp " + sa.to_string() + ")";
      }
    }
    auto expected = m.render_family(fam_);
    if (!expected) return expected.error().message;
    for (auto& d : devices_) {
      auto got = d->replica.mat().render_family(fam_);
      if (!got || *got != *expected) return "replica " + d->replica.device() + " did not converge";
    }
    // the latest edit, when honest, is what everyone sees
    const Edit& last = edits_.back();
    if (last.honest && devices_[0]->replica.mat().entity(fam_)->value("phone") != last.op.value)
      return "the latest honest edit " + last.op.id.to_string() + " is not shown";
    return {};
  }

  void note(const std::string& line) { trace_ += line + "\n"; }

  std::mt19937 rng_;
  std::string trace_;
  test::FakeClock truth_{1767225600000ull};
  test::Replica authority_{"server", "server", truth_};
  ClockGuard guard_;
  std::vector<std::unique_ptr<Device>> devices_;
  std::vector<Op> log_;
  std::vector<Edit> edits_;
  std::string fam_ = "fam-clock";
  size_t jumps_ = 0;
};

}  // namespace

TEST_CASE("Clock guard: with clocks changing between syncs, a later honest edit wins everywhere", "[property][clock]") {
  size_t n = test::scenarios_from_env("HEARTH_CLOCK_SCENARIOS", 300);
  size_t failures = 0, jumps = 0;
  for (size_t i = 0; i < n && failures < 3; ++i) {
    uint32_t seed = kBaseSeed + static_cast<uint32_t>(i);
    World w(seed);
    std::string err = w.run();
    jumps += w.jumps();
    if (!err.empty()) {
      ++failures;
      FAIL_CHECK("scenario seed " << seed << " failed: " << err << "\n" << w.trace());
    }
  }
  CHECK(failures == 0);
  CHECK(jumps > n / 2);  // the scenarios do change clocks
}
