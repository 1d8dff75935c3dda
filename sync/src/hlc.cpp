#include "hearth/sync/hlc.hpp"

#include <algorithm>

namespace hearth::sync {

std::string Hlc::to_string() const { return std::to_string(wall_ms) + "." + std::to_string(logical); }

HybridClock::HybridClock(PhysicalClock physical, uint64_t max_drift_ms)
    : physical_(std::move(physical)), max_drift_ms_(max_drift_ms) {}

uint64_t HybridClock::physical_now() const {
  int64_t now = static_cast<int64_t>(physical_()) + offset_ms_;
  return now < 0 ? 0 : static_cast<uint64_t>(now);
}

Hlc HybridClock::tick() {
  uint64_t pt = physical_now();
  if (pt > last_.wall_ms) {
    last_ = Hlc{pt, 0};
  } else {
    last_.logical += 1;
  }
  return last_;
}

Result<void> HybridClock::observe(const Hlc& remote) {
  uint64_t pt = physical_now();
  if (remote.wall_ms > pt + max_drift_ms_) {
    return make_error(ErrorCode::clock, "remote stamp " + remote.to_string() + " is " +
                                            std::to_string((remote.wall_ms - pt) / 1000) +
                                            " s ahead of this device's clock; not adopted");
  }
  uint64_t wall = std::max({last_.wall_ms, remote.wall_ms, pt});
  uint32_t logical = 0;
  if (wall == last_.wall_ms && wall == remote.wall_ms) {
    logical = std::max(last_.logical, remote.logical) + 1;
  } else if (wall == last_.wall_ms) {
    logical = last_.logical + 1;
  } else if (wall == remote.wall_ms) {
    logical = remote.logical + 1;
  }
  last_ = Hlc{wall, logical};
  return {};
}

void HybridClock::correct(int64_t offset) {
  offset_ms_ += offset;
  uint64_t now = physical_now();
  if (last_.wall_ms > now + max_drift_ms_) last_ = Hlc{now, 0};
}

bool HybridClock::adopt_authority_time(uint64_t authority_ms) {
  if (authority_ms > physical_now() + max_drift_ms_) return false;
  if (Hlc{authority_ms, 0} > last_) last_ = Hlc{authority_ms, 0};
  return true;
}

void HybridClock::restore(const Hlc& persisted) { last_ = std::max(last_, persisted); }

}  // namespace hearth::sync
