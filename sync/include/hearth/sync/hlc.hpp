#pragma once
// Hybrid logical clock (physical milliseconds + logical counter). The physical clock is
// injected, so sync/ never reads time itself and tests control it.
// Thread-safety: confined; one HybridClock per replica, used from one thread.
#include <compare>
#include <cstdint>
#include <functional>
#include <string>

#include "hearth/core/error.hpp"

namespace hearth::sync {

struct Hlc {
  uint64_t wall_ms = 0;
  uint32_t logical = 0;

  auto operator<=>(const Hlc&) const = default;
  std::string to_string() const;  // "1700000000000.3"
};

using PhysicalClock = std::function<uint64_t()>;  // milliseconds since the Unix epoch

constexpr uint64_t kDefaultMaxDriftMs = 24ull * 3600 * 1000;  // DOMAIN.md §8.5

class HybridClock {
 public:
  explicit HybridClock(PhysicalClock physical, uint64_t max_drift_ms = kDefaultMaxDriftMs);

  // A stamp for a local event: strictly greater than every stamp issued or observed.
  Hlc tick();

  // Takes a remote stamp into account. A stamp more than max_drift ahead of this
  // device's corrected physical time is not adopted (so one bad clock cannot drag every
  // replica into the future) and is reported as ErrorCode::clock; the op itself is kept.
  Result<void> observe(const Hlc& remote);

  // A correction learned from the authority (server time minus this device's corrected time,
  // i.e. what ClockGuard::offset measured against physical_now()), added to the correction in
  // force and applied to every later reading of the physical clock. It is how a device whose
  // clock is wrong is told and fixed; a clock that changes again is measured and corrected
  // again at the next sync.
  // If the clock had already run more than max_drift ahead of the corrected time, it is
  // pulled back: the authority re-stamps every op this device pushed with those stamps, and
  // the 24 h clamp catches any it pushes later, so no causal order is lost.
  void correct(int64_t offset);

  // Takes the authority's time as seen in its answer, after correct(): every later stamp of
  // this device is at or above it, whatever the device's clock does next. The authority
  // relies on this (ClockGuard::corrected_wall, `floor_ms`). Refused (false) like observe()
  // when it is more than max_drift ahead of the corrected time.
  bool adopt_authority_time(uint64_t authority_ms);

  Hlc last() const { return last_; }
  void restore(const Hlc& persisted);  // after reopening a store
  uint64_t physical_now() const;

 private:
  PhysicalClock physical_;
  uint64_t max_drift_ms_;
  int64_t offset_ms_ = 0;
  Hlc last_;
};

}  // namespace hearth::sync
