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
constexpr const char* kFlagHeldForDecision = "held_for_decision";
constexpr const char* kFlagRecordedAfterWithdrawal = "recorded_after_consent_withdrawal";

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

// What was decided about a held op (usecases/held.hpp). The held op itself is never removed.
struct HeldDecision {
  std::string outcome;  // kHeldApplied or kHeldDismissed
  int64_t at = 0;       // server time
  std::string by;       // the practitioner who decided
  std::string note;     // apply: the optional note; dismiss: the reason (required)
  std::string ops;      // apply: the authority op ids written ("hearth-server:N", space separated)
};
constexpr const char* kHeldApplied = "applied";
constexpr const char* kHeldDismissed = "dismissed";

// An op beyond its author's rights (DOMAIN.md §7): kept here, not applied, until someone
// entitled to (`route_to`) re-applies or dismisses it (issue 8 part 3, as C-19 does for a
// locked plan). The body is the op as pushed.
struct HeldOp {
  std::string op_id;  // "<device>:<counter>"
  int64_t at = 0;     // server time
  std::string family;
  std::string practitioner;
  std::string device;
  std::string route_to;
  std::string reason;
  std::string body;
  std::optional<HeldDecision> decision = {};  // none while it waits
};

class FlagLog {
 public:
  virtual ~FlagLog() = default;
  // Records a flag (its id is ignored); a second flag of the same kind for the same op is
  // ignored, so a device reporting again does not multiply them. Returns true if recorded.
  virtual Result<bool> add(const Flag& flag) = 0;
  // Flags, oldest first; of one family when given.
  virtual Result<std::vector<Flag>> list(const std::optional<std::string>& family) = 0;
  // Keeps an op held for a decision; the same op held again is ignored. True if recorded.
  virtual Result<bool> hold(const HeldOp& op) = 0;
  // Held ops, oldest first; of one family when given.
  virtual Result<std::vector<HeldOp>> held(const std::optional<std::string>& family) = 0;
  // One held op by id ("<device>:<counter>"), nullopt when there is none.
  virtual Result<std::optional<HeldOp>> held_op(const std::string& op_id) = 0;
  // Records the decision on a held op that waits for one, keeping the op. False (nothing
  // written) when the op is not held or was decided already.
  virtual Result<bool> decide(const std::string& op_id, const HeldDecision& decision) = 0;
  // The highest op counter of the device's held ops; 0 when none.
  virtual Result<uint64_t> highest_held_counter(const std::string& device) = 0;
};

}  // namespace hearth::server
