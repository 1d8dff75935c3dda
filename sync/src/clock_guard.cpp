#include "hearth/sync/clock_guard.hpp"

#include <algorithm>

namespace hearth::sync {

int64_t ClockGuard::offset(uint64_t device_now_ms, uint64_t authority_now_ms) const {
  int64_t diff = static_cast<int64_t>(authority_now_ms) - static_cast<int64_t>(device_now_ms);
  uint64_t magnitude = diff < 0 ? static_cast<uint64_t>(-diff) : static_cast<uint64_t>(diff);
  return magnitude <= tolerance_ms_ ? 0 : diff;
}

std::optional<uint64_t> ClockGuard::corrected_wall(const Hlc& stamp, int64_t offset_ms, uint64_t authority_now_ms,
                                                   uint64_t floor_ms) const {
  const bool ahead_bound_passed = stamp.wall_ms > authority_now_ms + max_ahead_ms_;
  // A behind clock: a stamp that never went below the authority time the device last saw was
  // made after that sync by a clock that fell behind later (its HLC held it at the floor), so
  // the offset measured now says nothing about when it was made. It stands.
  if (offset_ms > 0 && floor_ms != 0 && stamp.wall_ms >= std::min(floor_ms, authority_now_ms))
    return ahead_bound_passed ? std::optional<uint64_t>(authority_now_ms) : std::nullopt;
  int64_t shifted = static_cast<int64_t>(stamp.wall_ms) + offset_ms;
  uint64_t wall = shifted < 0 ? 0 : static_cast<uint64_t>(shifted);
  // Whatever the measured offset, nothing pushed now may claim to be later than now.
  if (wall > authority_now_ms) wall = authority_now_ms;
  if (offset_ms == 0 && !ahead_bound_passed) return std::nullopt;
  if (wall == stamp.wall_ms) return std::nullopt;
  return wall;
}

Op make_restamp(const Op& target, uint64_t wall_ms) {
  Op op;
  op.kind = OpKind::Restamp;
  op.family = target.family;
  op.entity_type = target.entity_type;
  op.entity_id = target.entity_id;
  op.refs = {target.id};
  op.value = static_cast<int64_t>(wall_ms);
  return op;
}

}  // namespace hearth::sync
