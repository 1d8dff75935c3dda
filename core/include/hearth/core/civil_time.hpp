#pragma once
// Civil dates and times in UTC, as the schema writes them: Date "YYYY-MM-DD" and DateTime
// "YYYY-MM-DDTHH:MM:SS[.fff]Z" (DOMAIN.md §0.3). Used wherever a rule compares a recorded time
// with the clock (consent expiry, break-glass, task due dates), so every layer reads times the
// same way. Pure functions; no time zone other than UTC.
#include <cstdint>
#include <optional>
#include <string>

namespace hearth::civil {

inline constexpr int64_t kDayMs = int64_t{24} * 60 * 60 * 1000;

struct Ymd {
  int64_t y = 0, m = 0, d = 0;
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
int64_t days_from_civil(int64_t y, int64_t m, int64_t d);
Ymd civil_from_days(int64_t days);
// The day number (days since 1970-01-01) of a time in ms since the epoch, rounding down.
int64_t day_of(int64_t ms);
// 0 = Monday ... 6 = Sunday.
int weekday_of_day(int64_t day);

// "YYYY-MM-DD" (anything after the date is ignored); nullopt when it is not a date.
std::optional<Ymd> parse_date(const std::string& s);
// A Date or DateTime as ms since the epoch (a Date is its midnight); nullopt when it is neither.
std::optional<int64_t> parse_ms(const std::string& s);
// "YYYY-MM-DD" of a day number.
std::string format_date(int64_t day);
// "YYYY-MM-DDTHH:MM:SS.fffZ" of ms since the epoch.
std::string format_datetime(int64_t ms);
// "YYYY-MM-DDTHH:MM:SSZ": the same to the second, for messages people read.
std::string format_datetime_seconds(int64_t ms);

}  // namespace hearth::civil
