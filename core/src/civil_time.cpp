#include "hearth/core/civil_time.hpp"

#include <cstdio>

namespace hearth::civil {

// The algorithms of H. Hinnant's "chrono-Compatible Low-Level Date Algorithms" (public domain).
int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2 ? 1 : 0;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Ymd civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  Ymd out;
  out.d = doy - (153 * mp + 2) / 5 + 1;
  out.m = mp < 10 ? mp + 3 : mp - 9;
  out.y = yoe + era * 400 + (out.m <= 2 ? 1 : 0);
  return out;
}

int64_t day_of(int64_t ms) { return ms >= 0 ? ms / kDayMs : (ms - kDayMs + 1) / kDayMs; }

int weekday_of_day(int64_t day) {
  // 1970-01-01 was a Thursday (3 when Monday is 0).
  int64_t w = (day + 3) % 7;
  return static_cast<int>(w < 0 ? w + 7 : w);
}

namespace {

bool digits(const std::string& s, size_t at, size_t n, int64_t& out) {
  if (at + n > s.size()) return false;
  out = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

std::optional<Ymd> parse_date(const std::string& s) {
  Ymd d;
  if (s.size() < 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  if (!digits(s, 0, 4, d.y) || !digits(s, 5, 2, d.m) || !digits(s, 8, 2, d.d)) return std::nullopt;
  if (d.m < 1 || d.m > 12 || d.d < 1 || d.d > 31) return std::nullopt;
  return d;
}

std::optional<int64_t> parse_ms(const std::string& s) {
  auto d = parse_date(s);
  if (!d) return std::nullopt;
  int64_t ms = days_from_civil(d->y, d->m, d->d) * kDayMs;
  if (s.size() == 10) return ms;
  int64_t hh = 0, mm = 0, ss = 0;
  if (s.size() < 20 || s[10] != 'T' || s[13] != ':' || s[16] != ':') return std::nullopt;
  if (!digits(s, 11, 2, hh) || !digits(s, 14, 2, mm) || !digits(s, 17, 2, ss)) return std::nullopt;
  ms += ((hh * 60 + mm) * 60 + ss) * 1000;
  if (s[19] == '.') {
    int64_t frac = 0;
    if (!digits(s, 20, 3, frac)) return std::nullopt;
    ms += frac;
  }
  return ms;
}

std::string format_date(int64_t day) {
  Ymd d = civil_from_days(day);
  char out[16];
  std::snprintf(out, sizeof out, "%04d-%02d-%02d", static_cast<int>(d.y), static_cast<int>(d.m), static_cast<int>(d.d));
  return out;
}

std::string format_datetime(int64_t ms) {
  const int64_t day = day_of(ms);
  const int64_t in_day = ms - day * kDayMs;
  char out[40];
  std::snprintf(out, sizeof out, "%sT%02d:%02d:%02d.%03dZ", format_date(day).c_str(),
                static_cast<int>(in_day / 3600000), static_cast<int>(in_day / 60000 % 60),
                static_cast<int>(in_day / 1000 % 60), static_cast<int>(in_day % 1000));
  return out;
}

std::string format_datetime_seconds(int64_t ms) {
  std::string out = format_datetime(ms);
  return out.erase(19, 4);  // drop ".fff", keep the "Z"
}

}  // namespace hearth::civil
