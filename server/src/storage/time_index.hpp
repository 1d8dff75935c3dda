#pragma once
// What makes time-driven events cheap to find (issue 8 part 2: "time-driven changes become
// server events at their due time"): for each family, the earliest server time at which
// something in it may fall due (a consent's notice or expiry, a break-glass grant's expiry, an
// open task's due time, a plan's review, a referrer's feedback), and the break-glass grants the
// server has seen, with whether their expiry has been made an event yet.
// The family's records stay the source of truth: an index entry only says when to look again
// (usecases/due_events.hpp recomputes it from the records each time it looks), so a lost or
// stale entry costs a look, never a wrong decision.
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

// A BreakGlassGrant record as the index keeps it (DOMAIN.md §7).
struct GrantEntry {
  std::string id;            // the BreakGlassGrant's record id
  std::string family;
  std::string practitioner;  // the grantee
  int64_t expires_at = 0;    // server time, ms since the epoch
  std::optional<int64_t> ended_at;  // when the server made its expiry an event
};

class TimeIndex {
 public:
  virtual ~TimeIndex() = default;
  // The family is to be looked at no later than `at` (server time; 0: at the next look). An
  // earlier time already recorded is kept.
  virtual Result<void> mark(const std::string& family, int64_t at) = 0;
  // The family's next due time after a look; nullopt: nothing in it falls due.
  virtual Result<void> set_next(const std::string& family, std::optional<int64_t> at) = 0;
  // Every family is to be looked at no later than `at` (a setting that moves due times changed).
  virtual Result<void> mark_all(int64_t at) = 0;
  // At most `limit` families due at or before `now`, earliest first.
  virtual Result<std::vector<std::string>> due(int64_t now, size_t limit) = 0;
  // The earliest next due time of any family; nullopt when none.
  virtual Result<std::optional<int64_t>> next_due() = 0;

  // Records a grant (a second record of the same id is ignored). True if it was new.
  virtual Result<bool> add_grant(const GrantEntry& grant) = 0;
  // The families the practitioner holds a grant for whose expiry is not yet an event, by id.
  virtual Result<std::vector<std::string>> granted_families(const std::string& practitioner) = 0;
  // The families whose grants to the practitioner have all ended, by id (why a purge was sent).
  virtual Result<std::vector<std::string>> ended_grant_families(const std::string& practitioner) = 0;
  // The family's grants, by id.
  virtual Result<std::vector<GrantEntry>> grants_of(const std::string& family) = 0;
  // Marks the grant's expiry as made an event at `at`; true only the first time.
  virtual Result<bool> end_grant(const std::string& id, int64_t at) = 0;
};

}  // namespace hearth::server
