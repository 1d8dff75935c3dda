#include "hearth/core/duplicates.hpp"

#include <algorithm>
#include <cstdlib>
#include <map>
#include <tuple>

#include "hearth/core/civil_time.hpp"

namespace hearth::duplicates {

namespace {

std::string text(const FieldValues& fields, const char* name) {
  auto it = fields.find(name);
  return it != fields.end() && it->second.is_string() ? it->second.as_string() : std::string();
}

std::string digits_of(const std::string& s) {
  std::string out;
  for (char c : s)
    if (c >= '0' && c <= '9') out += c;
  return out;
}

// The base letter of a Latin-1 letter written as UTF-8 C3 xx (both cases), or 0.
char fold_latin1(unsigned char second) {
  // U+00C0..U+00FF as the second byte 0x80..0xBF of C3 xx; index by (second & 0x1F) after
  // folding upper (0x80..0x9F) and lower (0xA0..0xBF) case together.
  static const char kBase[32] = {'a', 'a', 'a', 'a', 'a', 'a', 'a', 'c', 'e', 'e', 'e', 'e', 'i', 'i', 'i', 'i',
                                 'd', 'n', 'o', 'o', 'o', 'o', 'o', 0,   'o', 'u', 'u', 'u', 'u', 'y', 0,   'y'};
  if (second < 0x80 || second > 0xBF || second == 0x9F) return 0;  // 0x9F: ß has no base letter
  return kBase[second & 0x1F];
}

// A person's anchor day: the date of birth, or for an UNBORN its expected due date.
std::optional<int64_t> day_of_date(const std::string& date) {
  auto ymd = civil::parse_date(date);
  if (!ymd) return std::nullopt;
  return civil::days_from_civil(ymd->y, ymd->m, ymd->d);
}

bool unborn(const PersonFacts& p) { return p.person_status == "UNBORN"; }

std::optional<int64_t> anchor_day(const PersonFacts& p) {
  return day_of_date(unborn(p) ? p.expected_due_date : p.date_of_birth);
}

bool takes_part(const PersonFacts& p) { return !p.deleted && p.merged_into.empty() && !p.id.empty(); }

bool sex_compatible(const std::string& a, const std::string& b) {
  auto unknown = [](const std::string& s) { return s.empty() || s == "NOT_STATED"; };
  return unknown(a) || unknown(b) || a == b;
}

std::string first_word(const std::string& s) {
  size_t start = s.find_first_not_of(" \t");
  if (start == std::string::npos) return {};
  size_t end = s.find_first_of(" \t", start);
  return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool given_match(const std::string& a, const std::string& b) {
  if (names_match(a, b)) return true;
  std::string fa = first_word(a), fb = first_word(b);
  return (fa != a || fb != b) && names_match(fa, fb);
}

void add_finding(std::map<std::string, Finding>& out, const std::string& kind, const std::string& id_a,
                 const std::string& family_a, const std::string& id_b, const std::string& family_b,
                 const std::vector<std::string>& reasons) {
  Finding f;
  f.kind = kind;
  const bool a_first = id_a < id_b;
  f.first = a_first ? id_a : id_b;
  f.second = a_first ? id_b : id_a;
  f.first_family = a_first ? family_a : family_b;
  f.second_family = a_first ? family_b : family_a;
  auto [it, inserted] = out.emplace(f.key(), f);
  for (const auto& r : reasons)
    if (std::find(it->second.reasons.begin(), it->second.reasons.end(), r) == it->second.reasons.end())
      it->second.reasons.push_back(r);
}

std::vector<Finding> values_of(std::map<std::string, Finding>& found) {
  std::vector<Finding> out;
  out.reserve(found.size());
  for (auto& [key, f] : found) out.push_back(std::move(f));
  return out;
}

}  // namespace

PersonFacts person_facts(const std::string& id, const std::string& family, const FieldValues& fields, bool deleted) {
  PersonFacts p;
  p.id = id;
  p.family = family;
  p.nhs_number = text(fields, "nhs_number");
  p.given_names = text(fields, "given_names");
  p.family_name = text(fields, "family_name");
  p.sex = text(fields, "sex");
  p.person_status = text(fields, "person_status");
  p.date_of_birth = text(fields, "date_of_birth");
  p.expected_due_date = text(fields, "expected_due_date");
  p.merged_into = text(fields, kMergedIntoField);
  p.deleted = deleted;
  return p;
}

ContactFacts contact_facts(const std::string& id, const std::string& family, const FieldValues& fields, bool deleted) {
  ContactFacts c;
  c.id = id;
  c.family = family;
  c.practitioner = text(fields, "practitioner");
  c.contact_type = text(fields, "contact_type");
  c.occurred_at = text(fields, "occurred_at");
  c.deleted = deleted;
  return c;
}

std::string Finding::describe() const {
  std::string out = kind + " " + first + " and " + second + ": ";
  for (size_t i = 0; i < reasons.size(); ++i) out += (i ? "; " : "") + reasons[i];
  return out;
}

std::string normalise_name(const std::string& name) {
  std::string out;
  for (size_t i = 0; i < name.size() && out.size() < kMaxComparedNameBytes; ++i) {
    auto c = static_cast<unsigned char>(name[i]);
    if (c >= 'A' && c <= 'Z') out += static_cast<char>(c - 'A' + 'a');
    else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out += static_cast<char>(c);
    else if (c == 0xC3 && i + 1 < name.size()) {
      char base = fold_latin1(static_cast<unsigned char>(name[i + 1]));
      if (base) {
        out += base;
        ++i;
      } else {
        out += name[i];  // another character of the block (ß, þ, ×): kept as its bytes
      }
    } else if (c >= 0x80) {
      out += static_cast<char>(c);  // other scripts compare byte for byte
    }
    // ASCII spaces, hyphens, apostrophes, dots and other punctuation are dropped.
  }
  return out;
}

size_t edit_distance(const std::string& a, const std::string& b, size_t limit) {
  const size_t n = a.size(), m = b.size();
  if ((n > m ? n - m : m - n) > limit) return limit + 1;
  // Three rows of the optimal string alignment table.
  std::vector<size_t> before(m + 1), prev(m + 1), cur(m + 1);
  for (size_t j = 0; j <= m; ++j) prev[j] = j;
  for (size_t i = 1; i <= n; ++i) {
    cur[0] = i;
    size_t row_min = cur[0];
    for (size_t j = 1; j <= m; ++j) {
      size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      size_t v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) v = std::min(v, before[j - 2] + 1);
      cur[j] = v;
      row_min = std::min(row_min, v);
    }
    if (row_min > limit) return limit + 1;
    std::swap(before, prev);
    std::swap(prev, cur);
  }
  return std::min(prev[m], limit + 1);
}

bool names_match(const std::string& a, const std::string& b) {
  std::string na = normalise_name(a), nb = normalise_name(b);
  if (na.empty() || nb.empty()) return false;
  const size_t longest = std::max(na.size(), nb.size());
  const size_t tolerance = longest <= 6 ? 1 : 2;
  return edit_distance(na, nb, tolerance) <= tolerance;
}

std::optional<std::vector<std::string>> persons_match(const PersonFacts& a, const PersonFacts& b, const Rules& rules) {
  if (!takes_part(a) || !takes_part(b) || a.id == b.id) return std::nullopt;
  const std::string nhs_a = digits_of(a.nhs_number), nhs_b = digits_of(b.nhs_number);
  if (!nhs_a.empty() && nhs_a == nhs_b) return std::vector<std::string>{reason::kSameNhsNumber};
  if (!nhs_a.empty() && !nhs_b.empty()) return std::nullopt;  // two different NHS numbers: two people
  if (!names_match(a.family_name, b.family_name) || !given_match(a.given_names, b.given_names)) return std::nullopt;
  if (!sex_compatible(a.sex, b.sex)) return std::nullopt;
  auto day_a = anchor_day(a), day_b = anchor_day(b);
  if (!day_a || !day_b) return std::nullopt;
  if (!unborn(a) && !unborn(b))
    return *day_a == *day_b ? std::optional(std::vector<std::string>{reason::kSameNameSexDob}) : std::nullopt;
  if (std::llabs(*day_a - *day_b) <= rules.due_date_tolerance_days)
    return std::vector<std::string>{reason::kSameNameSexDueDate};
  return std::nullopt;
}

std::vector<Finding> duplicate_persons(const std::vector<PersonFacts>& persons, const Rules& rules) {
  std::map<std::string, Finding> found;
  auto compare = [&](const PersonFacts& a, const PersonFacts& b) {
    if (auto why = persons_match(a, b, rules)) add_finding(found, "Person", a.id, a.family, b.id, b.family, *why);
  };
  // Same NHS number: within each number, each with its next neighbours by id.
  std::map<std::string, std::vector<const PersonFacts*>> by_nhs;
  // Names and dates: sorted by anchor day, then name, each with the next ones within the tolerance.
  std::vector<std::tuple<int64_t, std::string, const PersonFacts*>> dated;
  for (const auto& p : persons) {
    if (!takes_part(p)) continue;
    std::string nhs = digits_of(p.nhs_number);
    if (!nhs.empty()) by_nhs[nhs].push_back(&p);
    if (auto day = anchor_day(p)) dated.emplace_back(*day, normalise_name(p.family_name) + "|" + p.id, &p);
  }
  for (auto& [nhs, group] : by_nhs) {
    std::sort(group.begin(), group.end(), [](const PersonFacts* x, const PersonFacts* y) { return x->id < y->id; });
    for (size_t i = 0; i < group.size(); ++i)
      for (size_t j = i + 1; j < group.size() && j <= i + rules.max_neighbours; ++j) compare(*group[i], *group[j]);
  }
  std::sort(dated.begin(), dated.end());
  const int64_t window = std::max(0, rules.due_date_tolerance_days);
  for (size_t i = 0; i < dated.size(); ++i)
    for (size_t j = i + 1; j < dated.size() && j <= i + rules.max_neighbours; ++j) {
      if (std::get<0>(dated[j]) - std::get<0>(dated[i]) > window) break;
      compare(*std::get<2>(dated[i]), *std::get<2>(dated[j]));
    }
  return values_of(found);
}

std::vector<Finding> duplicate_contacts(const std::vector<ContactFacts>& contacts, const Rules& rules) {
  std::map<std::string, Finding> found;
  std::vector<std::tuple<std::string, std::string, int64_t, const ContactFacts*>> rows;
  for (const auto& c : contacts) {
    if (c.deleted || c.id.empty() || c.practitioner.empty() || c.contact_type.empty()) continue;
    auto ms = civil::parse_ms(c.occurred_at);
    if (!ms) continue;
    rows.emplace_back(c.practitioner, c.contact_type, *ms, &c);
  }
  std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) {
    return std::tie(std::get<0>(x), std::get<1>(x), std::get<2>(x), std::get<3>(x)->id) <
           std::tie(std::get<0>(y), std::get<1>(y), std::get<2>(y), std::get<3>(y)->id);
  });
  const int64_t window_ms = int64_t{std::max(0, rules.contact_window_minutes)} * 60 * 1000;
  // Each contact with the next one of its family by the same practitioner and type: a run of k
  // contacts within the window gives k - 1 findings (a chain), never k squared.
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = i + 1; j < rows.size() && j <= i + rules.max_neighbours; ++j) {
      const auto& [pa, ta, ma, ca] = rows[i];
      const auto& [pb, tb, mb, cb] = rows[j];
      if (pa != pb || ta != tb || mb - ma > window_ms) break;
      if (ca->family != cb->family) continue;  // C-1 is about one family's chronology
      add_finding(found, "Contact", ca->id, ca->family, cb->id, cb->family, {reason::kSamePractitionerTypeWindow});
      break;
    }
  return values_of(found);
}

std::vector<std::string> blocking_keys(const PersonFacts& p, const Rules& rules) {
  std::vector<std::string> keys;
  if (!takes_part(p)) return keys;
  std::string nhs = digits_of(p.nhs_number);
  if (!nhs.empty()) keys.push_back("nhs:" + nhs);
  auto day = anchor_day(p);
  if (!day) return keys;
  if (!unborn(p)) {
    keys.push_back("dob:" + civil::format_date(*day));
    return keys;
  }
  const int64_t tol = std::max(0, rules.due_date_tolerance_days);
  for (int64_t d = *day - tol; d <= *day + tol; ++d) keys.push_back("dob:" + civil::format_date(d));
  return keys;
}

}  // namespace hearth::duplicates
