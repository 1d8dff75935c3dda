#pragma once
// Finding a history that went back (docs/protocol.md "History", CONTRACTS.md fault 3): a device
// claims, under the server's current epoch, more than this history holds. Only claims made
// under the current epoch count: a device on another epoch resets when it sees this one.
#include <map>
#include <string>
#include <vector>

#include "context.hpp"

namespace hearth::server {

struct HistoryClaims {
  std::string epoch;               // the epoch the device last saw
  uint64_t delivered_counter = 0;  // its own ops the server confirmed, up to this counter
  int64_t highest_cursor = 0;      // its highest cursor over all families
  std::optional<int64_t> feed_version;
};

// Why the claims show the history went back ("" when they do not). Constant work: a few
// indexed lookups.
Result<std::string> history_went_back(ServiceContext& ctx, const DeviceRecord& device, const HistoryClaims& claims,
                                      int64_t feed_version);
// The same for the device's cursors of the families it may read (bounded by its caseload).
Result<std::string> cursors_went_back(ServiceContext& ctx, const std::string& epoch,
                                      const std::map<std::string, int64_t>& cursors,
                                      const std::vector<std::string>& readable);

}  // namespace hearth::server
