#include "hearth/core/tenant_config.hpp"

#include <algorithm>
#include <charconv>
#include <sstream>

#include "hearth/core/civil_time.hpp"

namespace hearth {

namespace {

struct NumberRule {
  const char* key;
  int64_t def, lo, hi;
};

constexpr int64_t kHour = 3600LL * 1000;
constexpr int64_t kDay = 24 * kHour;

const NumberRule kNumbers[] = {
    {"sharing_block_after_hours", 24, 1, 168},
    {"lock_after_days", 7, 1, 60},
    {"purge_after_days", 14, 2, 120},
    {"key_lease_days", 14, 1, 60},
    {"break_glass_hours", 4, 1, 24},
    {"task_due_working_days", 2, 1, 10},
    {"safety_task_due_working_days", 1, 1, 5},
    {"consent_expiry_months", 12, 1, 36},
    {"consent_expiring_notice_days", 14, 1, 60},
    {"reopen_window_days", 28, 0, 365},
    {"retention_age_years", 25, 18, 100},
    {"retention_unborn_years", 6, 1, 100},
    {"step_up_review_working_days", 10, 1, 20},
};

// What the episode does when children's social care accepts a step-up (§3.17 eh_position,
// §4.2, §14.1 "step-up policy (EH paused vs closed)").
const std::vector<std::string> kStepUpPolicies = {"EH_PAUSED", "EH_CLOSED", "EH_CONTINUES_ALONGSIDE"};

const NumberRule* number_rule(const std::string& key) {
  for (const auto& r : kNumbers)
    if (key == r.key) return &r;
  return nullptr;
}

const std::vector<std::string> kWeekDays = {"MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN"};

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string item;
  std::istringstream in(text);
  while (std::getline(in, item, ',')) {
    item.erase(0, item.find_first_not_of(' '));
    item.erase(item.find_last_not_of(' ') + 1);
    if (!item.empty()) out.push_back(item);
  }
  return out;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

bool is_calendar_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0u, 1u, 2u, 3u, 5u, 6u, 8u, 9u})
    if (s[i] < '0' || s[i] > '9') return false;
  int month = (s[5] - '0') * 10 + (s[6] - '0'), day = (s[8] - '0') * 10 + (s[9] - '0');
  return month >= 1 && month <= 12 && day >= 1 && day <= 31;
}

}  // namespace

const std::vector<TenantSetting>& TenantConfig::settings() {
  static const std::vector<TenantSetting> all = {
      {"working_days", "days of the week", "the days tasks fall due on (N6), e.g. MON,TUE,WED,THU,FRI",
       "MON,TUE,WED,THU,FRI"},
      {"closed_dates", "dates", "bank holidays and closures, YYYY-MM-DD,... (N6)", ""},
      {"sharing_block_after_hours", "hours", "a tablet blocks sharing acts after this long without a sync (§6.8)", "24"},
      {"lock_after_days", "days", "a tablet locks a family after this long without a sync (§5, §6.8)", "7"},
      {"purge_after_days", "days", "a tablet purges a family's synced records after this long (§5, §6.8)", "14"},
      {"key_lease_days", "days",
       "a tablet's keys may be used offline this long after its last sync; then its store opens only to sync (N5)",
       "14"},
      {"break_glass_hours", "hours", "how long an emergency access grant lasts (§7)", "4"},
      {"task_due_working_days", "working days", "a conflict task falls due after (N6, §8.4)", "2"},
      {"safety_task_due_working_days", "working days", "a conflict task on a safety value falls due after (N6)", "1"},
      {"consent_expiry_months", "months", "default consent expiry after it is given (§6.3)", "12"},
      {"consent_expiring_notice_days", "days", "a CONSENT_EXPIRING task is raised this long before expiry (§6.7)",
       "14"},
      {"reopen_window_days", "days", "a closed episode may be reopened within (§4.2)", "28"},
      {"retention_age_years", "years", "a closed family's records are kept until its youngest person reaches this age (§10.1)",
       "25"},
      {"retention_unborn_years", "years",
       "a closed family with no date of birth recorded (an unborn child) is kept this long after closure (§10.1)", "6"},
      {"step_up_policy", "choice",
       "when social care accepts a step-up: EH_PAUSED (episode PAUSED_CSC_LEAD until step-down), EH_CLOSED (episode "
       "CLOSING, reason STEPPED_UP_TO_CSC) or EH_CONTINUES_ALONGSIDE (episode ACTIVE, plan unlocked) (§3.17, §4.2, §14.1)",
       "EH_PAUSED"},
      {"step_up_review_working_days", "working days",
       "a step-up returned to early help (NFA or advice) gets a review task due within (§4.2, §13 S3b)", "10"},
  };
  return all;
}

Result<void> TenantConfig::set(const std::string& key, const std::string& value) {
  auto old = numbers_;
  if (auto r = set_one(key, value); !r) return r;
  if (auto r = check_periods(key + " = " + value); !r) {
    numbers_ = old;
    return r;
  }
  return {};
}

Result<void> TenantConfig::set_all(const std::vector<std::pair<std::string, std::string>>& values) {
  TenantConfig next = *this;
  for (const auto& [key, value] : values)
    if (auto r = next.set_one(key, value); !r) return r;
  if (auto r = next.check_periods("the settings"); !r) return r;
  *this = std::move(next);
  return {};
}

Result<void> TenantConfig::set_one(const std::string& key, const std::string& value) {
  if (key == "working_days") {
    auto days = split_list(value);
    if (days.empty()) return make_error(ErrorCode::invalid_argument, "working_days needs at least one day, e.g. MON,TUE");
    for (const auto& d : days)
      if (std::find(kWeekDays.begin(), kWeekDays.end(), d) == kWeekDays.end())
        return make_error(ErrorCode::invalid_argument,
                          "working_days: '" + d + "' is not a day; use MON, TUE, WED, THU, FRI, SAT, SUN");
    working_days_ = days;
    return {};
  }
  if (key == "closed_dates") {
    auto dates = split_list(value);
    if (dates.size() > 400) return make_error(ErrorCode::invalid_argument, "closed_dates: at most 400 dates");
    for (const auto& d : dates)
      if (!is_calendar_date(d))
        return make_error(ErrorCode::invalid_argument, "closed_dates: '" + d + "' is not a date (YYYY-MM-DD)");
    std::sort(dates.begin(), dates.end());
    closed_dates_ = dates;
    return {};
  }
  if (key == "step_up_policy") {
    if (std::find(kStepUpPolicies.begin(), kStepUpPolicies.end(), value) == kStepUpPolicies.end())
      return make_error(ErrorCode::invalid_argument,
                        "step_up_policy: '" + value + "' is not a policy; use EH_PAUSED, EH_CLOSED or EH_CONTINUES_ALONGSIDE");
    step_up_policy_ = value;
    return {};
  }
  const NumberRule* rule = number_rule(key);
  if (!rule) return make_error(ErrorCode::invalid_argument, "no tenant setting '" + key + "' (see `config show`)");
  int64_t v = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || end != value.data() + value.size() || v < rule->lo || v > rule->hi)
    return make_error(ErrorCode::invalid_argument, key + ": '" + value + "' is not a whole number from " +
                                                       std::to_string(rule->lo) + " to " + std::to_string(rule->hi));
  numbers_[key] = v;
  return {};
}

Result<void> TenantConfig::check_periods(const std::string& what) const {
  // The tablet blocks sharing, then locks, then purges (§6.8): the periods keep that order.
  if (purge_after_ms() <= lock_after_ms() || lock_after_ms() < sharing_block_after_ms()) {
    std::string now = "sharing_block_after_hours = " + std::to_string(sharing_block_after_ms() / kHour) +
                      ", lock_after_days = " +
                      std::to_string(lock_after_ms() / kDay) + " (" + std::to_string(lock_after_ms() / kHour) +
                      " h), purge_after_days = " + std::to_string(purge_after_ms() / kDay) + " (" +
                      std::to_string(purge_after_ms() / kHour) + " h)";
    return make_error(ErrorCode::invalid_argument,
                      what + " would give " + now +
                          ": a tablet blocks sharing, then locks, then purges, so the periods must keep "
                          "sharing_block_after_hours <= lock_after_days < purge_after_days");
  }
  // The key lease (N5) is the hard lock after the soft one: a lease shorter than the lock
  // period would make the lock period meaningless and surprise the office.
  if (key_lease_ms() < lock_after_ms())
    return make_error(ErrorCode::invalid_argument,
                      what + " would give key_lease_days = " + std::to_string(key_lease_ms() / kDay) +
                          " and lock_after_days = " + std::to_string(lock_after_ms() / kDay) +
                          ": a tablet's key lease ends after its families lock, so the periods must keep "
                          "lock_after_days <= key_lease_days");
  return {};
}

std::string TenantConfig::get(const std::string& key) const {
  if (key == "working_days") return join(working_days_);
  if (key == "closed_dates") return join(closed_dates_);
  if (key == "step_up_policy") return step_up_policy_;
  const NumberRule* rule = number_rule(key);
  if (!rule) return "";
  auto it = numbers_.find(key);
  return std::to_string(it == numbers_.end() ? rule->def : it->second);
}

std::vector<std::pair<std::string, std::string>> TenantConfig::all() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& s : settings()) out.emplace_back(s.key, get(s.key));
  return out;
}

namespace {
int64_t number(const std::map<std::string, int64_t>& numbers, const char* key) {
  auto it = numbers.find(key);
  return it == numbers.end() ? number_rule(key)->def : it->second;
}
}  // namespace

int64_t TenantConfig::sharing_block_after_ms() const { return number(numbers_, "sharing_block_after_hours") * kHour; }
int64_t TenantConfig::lock_after_ms() const { return number(numbers_, "lock_after_days") * kDay; }
int64_t TenantConfig::purge_after_ms() const { return number(numbers_, "purge_after_days") * kDay; }
int64_t TenantConfig::key_lease_ms() const { return number(numbers_, "key_lease_days") * kDay; }
int64_t TenantConfig::break_glass_ms() const { return number(numbers_, "break_glass_hours") * kHour; }
int TenantConfig::task_due_working_days() const { return static_cast<int>(number(numbers_, "task_due_working_days")); }
int TenantConfig::safety_task_due_working_days() const {
  return static_cast<int>(number(numbers_, "safety_task_due_working_days"));
}
int TenantConfig::consent_expiry_months() const { return static_cast<int>(number(numbers_, "consent_expiry_months")); }
int TenantConfig::consent_expiring_notice_days() const {
  return static_cast<int>(number(numbers_, "consent_expiring_notice_days"));
}
int TenantConfig::retention_age_years() const { return static_cast<int>(number(numbers_, "retention_age_years")); }
int TenantConfig::retention_unborn_years() const {
  return static_cast<int>(number(numbers_, "retention_unborn_years"));
}
int TenantConfig::step_up_review_working_days() const {
  return static_cast<int>(number(numbers_, "step_up_review_working_days"));
}
int TenantConfig::reopen_window_days() const { return static_cast<int>(number(numbers_, "reopen_window_days")); }

bool TenantConfig::is_working_day(int64_t day) const {
  const std::string& name = kWeekDays[static_cast<size_t>(civil::weekday_of_day(day))];
  if (std::find(working_days_.begin(), working_days_.end(), name) == working_days_.end()) return false;
  return std::find(closed_dates_.begin(), closed_dates_.end(), civil::format_date(day)) == closed_dates_.end();
}

int64_t TenantConfig::add_working_days(int64_t from_ms, int n) const {
  constexpr int64_t kSearchDays = 3660;
  const int64_t from_day = civil::day_of(from_ms);
  const int64_t time_of_day = from_ms - from_day * civil::kDayMs;
  int64_t day = from_day;
  for (int64_t step = 0, found = 0; found < n && step < kSearchDays; ++step) {
    ++day;
    if (is_working_day(day)) ++found;
  }
  return day * civil::kDayMs + time_of_day;
}

}  // namespace hearth
