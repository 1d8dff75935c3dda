#pragma once
// The clock guard of DOMAIN.md §8.5 (docs/change-log.md, "Clocks"). A device whose wall
// clock is wrong would otherwise win (clock ahead) or lose (clock behind) every concurrent
// last-writer-wins conflict. Three parts:
//  1. HybridClock::observe never adopts a stamp more than 24 h ahead of local time, so a bad
//     clock cannot drag other replicas into the future.
//  2. The authority (the sync server) measures each device's offset when it syncs, tells the
//     device (HybridClock::correct), and re-stamps the ops that device pushed by that
//     offset; any stamp still more than 24 h ahead of the authority is pulled back to its time.
//  3. A re-stamp is itself an op (OpKind::Restamp), so every replica orders the corrected
//     op the same way and the merge stays a pure function of the op set.
//  4. A behind clock's stamps are moved later only when they went below the last authority
//     time the device saw (`floor_ms`, which its clock adopted: HybridClock::
//     adopt_authority_time). A device that synced honestly and whose clock then fell behind
//     keeps stamps at or above that floor (its HLC never goes back); moving those by today's
//     offset would put edits made hours ago at "now", ahead of colleagues' later edits.
#include <cstdint>
#include <optional>

#include "hearth/sync/op.hpp"

namespace hearth::sync {

class ClockGuard {
 public:
  static constexpr uint64_t kDefaultToleranceMs = 5ull * 60 * 1000;
  static constexpr uint64_t kDefaultMaxAheadMs = 24ull * 3600 * 1000;

  explicit ClockGuard(uint64_t tolerance_ms = kDefaultToleranceMs, uint64_t max_ahead_ms = kDefaultMaxAheadMs)
      : tolerance_ms_(tolerance_ms), max_ahead_ms_(max_ahead_ms) {}

  // authority time minus device time, or 0 when the device is within tolerance.
  int64_t offset(uint64_t device_now_ms, uint64_t authority_now_ms) const;

  // The wall time the authority gives a pushed op, or nullopt when its stamp stands.
  // `floor_ms`: the last authority time the device saw and adopted (0: none known). A stamp
  // at or above it is never moved later; it is still pulled back when more than the ahead
  // bound ahead of the authority.
  std::optional<uint64_t> corrected_wall(const Hlc& stamp, int64_t offset_ms, uint64_t authority_now_ms,
                                         uint64_t floor_ms = 0) const;

 private:
  uint64_t tolerance_ms_;
  uint64_t max_ahead_ms_;
};

// A Restamp op for `target` (id, stamp and author are the authority's).
Op make_restamp(const Op& target, uint64_t wall_ms);

}  // namespace hearth::sync
