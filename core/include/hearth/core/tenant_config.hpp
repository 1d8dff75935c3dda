#pragma once
// A council's tenant configuration (DOMAIN.md §14.1: must not be hard-coded): the working-day
// calendar, the offline enforcement periods (§6.8), break-glass duration (§7), task due times
// (N6), consent expiry defaults (§6.3, §6.7) and the reopen window (§4.2). Kept by the server,
// changed by an administrator (`hearth-server config set`, audited), delivered to tablets by sync.
// Every setting is a named key with a unit and a range; set() refuses anything else with a
// message naming the key, the value and what is allowed.
// Thread-safety: a value type.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth {

struct TenantSetting {
  std::string key;
  std::string unit;         // "hours", "days", "working days", "months", "dates", "days of the week"
  std::string description;  // with the DOMAIN.md section it comes from
  std::string default_value;
};

class TenantConfig {
 public:
  // Every setting, in a fixed order, with its default.
  static const std::vector<TenantSetting>& settings();

  // Sets one key from its text form. Unknown keys and values out of range are
  // ErrorCode::invalid_argument naming the key and the allowed range.
  Result<void> set(const std::string& key, const std::string& value);
  // Sets several keys at once (a stored configuration, read back in any order): each value is
  // checked alone, then the order of the periods once. Nothing changes on an error.
  Result<void> set_all(const std::vector<std::pair<std::string, std::string>>& values);
  // The text form of a key's current value ("" for an unknown key).
  std::string get(const std::string& key) const;
  // Every key with its current value, in settings() order.
  std::vector<std::pair<std::string, std::string>> all() const;

  // Typed views, in milliseconds where the setting is a period.
  int64_t sharing_block_after_ms() const;  // §6.8: sharing acts blocked after this long without a sync
  int64_t lock_after_ms() const;           // §5, §6.8: the family locked on the tablet
  int64_t purge_after_ms() const;          // §5, §6.8: synced records purged at the next unlock
  int64_t key_lease_ms() const;            // N5: the tablet's keys usable offline this long after a sync
  int64_t break_glass_ms() const;          // §7: how long an emergency access grant lasts
  int task_due_working_days() const;       // N6: a conflict task's due time
  int safety_task_due_working_days() const;
  int consent_expiry_months() const;       // §6.3 expires_at default
  int consent_expiring_notice_days() const;  // §6.7 CONSENT_EXPIRING task lead time
  int reopen_window_days() const;          // §4.2 CLOSED -> ACTIVE within the window
  int retention_age_years() const;         // §10.1: kept until the youngest person reaches this age
  int retention_unborn_years() const;      // §10.1: no date of birth (unborn): kept this long after closure
  // §3.17, §4.2, §14.1: what an accepted step-up does to the episode: "EH_PAUSED" (the default),
  // "EH_CLOSED" or "EH_CONTINUES_ALONGSIDE".
  const std::string& step_up_policy() const { return step_up_policy_; }
  int step_up_review_working_days() const;  // §4.2, S3b: review after a step-up returned to early help
  const std::vector<std::string>& working_days() const { return working_days_; }  // "MON".."SUN"
  const std::vector<std::string>& closed_dates() const { return closed_dates_; }  // YYYY-MM-DD

  // Whether a day (days since 1970-01-01, UTC) is a working day: one of working_days() and not
  // one of closed_dates() (N6).
  bool is_working_day(int64_t day) const;
  // The time `n` working days after `from_ms` (ms since the epoch): the same time of day on the
  // n-th working day after from_ms's day (n >= 1; n <= 0 gives from_ms). Tasks fall due by it
  // (N6: "2 working days, 1 for safety"; §6.5 countersign "within 1 working day"). Bounded: a
  // calendar with every working day closed for years ends the search after 3,660 days.
  int64_t add_working_days(int64_t from_ms, int n) const;

 private:
  Result<void> set_one(const std::string& key, const std::string& value);  // range only
  // The order of the periods (§6.8, N5); `what` names the change in the message.
  Result<void> check_periods(const std::string& what) const;
  std::map<std::string, int64_t> numbers_;
  std::vector<std::string> working_days_{"MON", "TUE", "WED", "THU", "FRI"};
  std::vector<std::string> closed_dates_;
  std::string step_up_policy_ = "EH_PAUSED";
};

}  // namespace hearth
