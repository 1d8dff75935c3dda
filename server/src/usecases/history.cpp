#include "history.hpp"

#include <algorithm>

namespace hearth::server {

Result<std::string> history_went_back(ServiceContext& ctx, const DeviceRecord& device, const HistoryClaims& claims,
                                      int64_t feed_version) {
  auto epoch = ctx.store.ops().history_epoch();
  if (!epoch) return epoch.error();
  if (claims.epoch.empty() || claims.epoch != *epoch) return std::string();
  if (claims.delivered_counter > 0) {
    // Confirmed ops are in the log, or kept aside as held for a decision (DOMAIN.md §7).
    auto stored = ctx.store.ops().highest_counter(device.id);
    if (!stored) return stored.error();
    auto kept = ctx.store.flags().highest_held_counter(device.id);
    if (!kept) return kept.error();
    uint64_t held = std::max(*stored, *kept);
    if (claims.delivered_counter > held)
      return "device " + device.id + " had its ops up to " + std::to_string(claims.delivered_counter) +
             " confirmed, this history holds up to " + std::to_string(held);
  }
  if (claims.highest_cursor > 0) {
    auto last = ctx.store.ops().last_seq();
    if (!last) return last.error();
    if (claims.highest_cursor > *last)
      return "device " + device.id + " holds a cursor at " + std::to_string(claims.highest_cursor) +
             ", this history ends at " + std::to_string(*last);
  }
  if (claims.feed_version && *claims.feed_version > feed_version)
    return "device " + device.id + " saw feed version " + std::to_string(*claims.feed_version) +
           ", this history is at " + std::to_string(feed_version);
  return std::string();
}

Result<std::string> cursors_went_back(ServiceContext& ctx, const std::string& epoch,
                                      const std::map<std::string, int64_t>& cursors,
                                      const std::vector<std::string>& readable) {
  auto current = ctx.store.ops().history_epoch();
  if (!current) return current.error();
  if (epoch.empty() || epoch != *current) return std::string();
  for (const auto& family : readable) {
    auto it = cursors.find(family);
    if (it == cursors.end() || it->second == 0) continue;
    auto highest = ctx.store.ops().highest_seq(family);
    if (!highest) return highest.error();
    if (it->second > *highest)
      return "the device had family " + family + " up to " + std::to_string(it->second) + ", this history holds up to " +
             std::to_string(*highest);
  }
  return std::string();
}

}  // namespace hearth::server
