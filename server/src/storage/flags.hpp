#pragma once
// Flags for the lead professional and the office: work the server accepted but someone must
// review (e.g. recorded offline by a practitioner taken off the team since, DOMAIN.md §6.6),
// and work a device holds in quarantine because the server refused it.
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

// Kinds of flag.
constexpr const char* kFlagRecordedAfterRemoval = "recorded_after_team_removal";
constexpr const char* kFlagQuarantinedOnDevice = "quarantined_on_device";

struct Flag {
  int64_t id = 0;
  int64_t at = 0;  // server time
  std::string family;
  std::string kind;
  std::string op_id;  // "<device>:<counter>"
  std::string practitioner;
  std::string device;
  std::string detail;
};

class FlagLog {
 public:
  virtual ~FlagLog() = default;
  // Records a flag (its id is ignored); a second flag of the same kind for the same op is
  // ignored, so a device reporting again does not multiply them. Returns true if recorded.
  virtual Result<bool> add(const Flag& flag) = 0;
  // Flags, oldest first; of one family when given.
  virtual Result<std::vector<Flag>> list(const std::optional<std::string>& family) = 0;
};

}  // namespace hearth::server
