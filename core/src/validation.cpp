#include "hearth/core/validation.hpp"

#include <cctype>

#include "hearth/core/text.hpp"

namespace hearth {

namespace {

// Defaults for a schema whose table sets no cap (the v1 table sets them all, schema_v1.cpp).
constexpr size_t kDefaultMaxString = 1024;       // one line: names, codes, phone numbers
constexpr size_t kDefaultMaxText = 64 * 1024;    // narrative
constexpr size_t kDefaultMaxItems = 200;

size_t max_bytes(const FieldDef& f) {
  if (f.max_length) return f.max_length;
  return f.type == FieldType::Text ? kDefaultMaxText : kDefaultMaxString;
}
size_t max_items(const FieldDef& f) { return f.max_items ? f.max_items : kDefaultMaxItems; }

Error field_error(const EntityDef& e, const FieldDef& f, const std::string& rule) {
  return make_error(ErrorCode::validation, e.name + "." + f.name + ": " + rule);
}

bool digits(const std::string& s, size_t pos, size_t n) {
  if (pos + n > s.size()) return false;
  for (size_t i = pos; i < pos + n; ++i)
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

int num(const std::string& s, size_t pos, size_t n) { return std::stoi(s.substr(pos, n)); }

bool has_control_chars(const std::string& s, bool allow_newlines) {
  for (char ch : s) {
    auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 && !(allow_newlines && (c == '\n' || c == '\r' || c == '\t'))) return true;
    if (c == 0x7F) return true;
  }
  return false;
}

std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (size_t i = 0; i < v.size() && i < 12; ++i) out += (i ? ", " : "") + v[i];
  if (v.size() > 12) out += ", ... (" + std::to_string(v.size()) + " values)";
  return out;
}

Result<void> validate_element_value(const EntityDef& e, const FieldDef& f, const std::string& s) {
  switch (f.type) {
    case FieldType::EnumSet:
      if (!f.allows(s)) return field_error(e, f, "value '" + printable(s) + "' is not one of " + join(f.values));
      return {};
    case FieldType::RefSet:
      if (!is_valid_id(s)) return field_error(e, f, "'" + printable(s) + "' is not a valid reference id");
      return {};
    default:
      if (!is_valid_utf8(s)) return field_error(e, f, "list element is not valid UTF-8");
      if (s.empty() || s.size() > max_bytes(f) || has_control_chars(s, false))
        return field_error(e, f, "list element must be a non-empty single line of at most " +
                                     std::to_string(max_bytes(f)) + " bytes");
      return {};
  }
}

bool is_missing(const FieldValues& fields, const std::string& name) {
  auto it = fields.find(name);
  return it == fields.end() || it->second.is_null() || (it->second.is_list() && it->second.as_list().empty());
}

}  // namespace

bool is_valid_date(const std::string& s) {
  if (s.size() != 10 || !digits(s, 0, 4) || s[4] != '-' || !digits(s, 5, 2) || s[7] != '-' || !digits(s, 8, 2))
    return false;
  int y = num(s, 0, 4), m = num(s, 5, 2), d = num(s, 8, 2);
  if (y < 1900 || m < 1 || m > 12 || d < 1) return false;
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  int max = days[m - 1] + ((m == 2 && leap) ? 1 : 0);
  return d <= max;
}

bool is_valid_datetime(const std::string& s) {
  if (s.size() < 20 || !is_valid_date(s.substr(0, 10)) || s[10] != 'T') return false;
  if (!digits(s, 11, 2) || s[13] != ':' || !digits(s, 14, 2) || s[16] != ':' || !digits(s, 17, 2)) return false;
  if (num(s, 11, 2) > 23 || num(s, 14, 2) > 59 || num(s, 17, 2) > 60) return false;
  size_t pos = 19;
  if (s[pos] == '.') {
    size_t start = ++pos;
    while (pos < s.size() && std::isdigit(static_cast<unsigned char>(s[pos]))) ++pos;
    if (pos == start || pos - start > 9) return false;
  }
  return pos + 1 == s.size() && s[pos] == 'Z';
}

Result<const FieldDef*> find_field(const EntityDef& e, const std::string& name) {
  const FieldDef* f = e.field(name);
  if (!f) return make_error(ErrorCode::validation, e.name + "." + printable(name) + ": unknown field of " + e.name);
  return f;
}

Result<void> validate_value(const EntityDef& e, const FieldDef& f, const Value& v) {
  if (v.is_null()) return {};  // absence is checked by the requirement rules
  auto wrong_type = [&](const char* got) {
    return field_error(e, f, std::string("expected ") + to_string(f.type) + ", got " + got);
  };
  auto kind = v.is_bool() ? "a boolean" : v.is_int() ? "an integer" : v.is_string() ? "a string" : "a list";
  switch (f.type) {
    case FieldType::Bool:
      if (!v.is_bool()) return wrong_type(kind);
      return {};
    case FieldType::Int:
      if (!v.is_int()) return wrong_type(kind);
      if (v.as_int() < f.min || v.as_int() > f.max)
        return field_error(e, f, "value " + std::to_string(v.as_int()) + " is outside " + std::to_string(f.min) +
                                     ".." + std::to_string(f.max));
      return {};
    case FieldType::EnumSet:
    case FieldType::RefSet:
    case FieldType::StringSet: {
      if (!v.is_list()) return wrong_type(kind);
      if (v.as_list().size() > max_items(f))
        return field_error(e, f, std::to_string(v.as_list().size()) + " elements, more than the limit of " +
                                     std::to_string(max_items(f)));
      for (const auto& s : v.as_list()) {
        auto r = validate_element_value(e, f, s);
        if (!r) return r;
      }
      return {};
    }
    default: break;
  }
  if (!v.is_string()) return wrong_type(kind);
  const std::string& s = v.as_string();
  if (!is_valid_utf8(s)) {
    auto bad = check_utf8("value", s);
    return field_error(e, f, bad.error().message);
  }
  switch (f.type) {
    case FieldType::String:
      if (s.size() > max_bytes(f))
        return field_error(e, f, std::to_string(s.size()) + " bytes, longer than " + std::to_string(max_bytes(f)));
      if (has_control_chars(s, false)) return field_error(e, f, "must be a single line without control characters");
      return {};
    case FieldType::Text:
      if (s.size() > max_bytes(f))
        return field_error(e, f, std::to_string(s.size()) + " bytes, longer than " + std::to_string(max_bytes(f)));
      if (has_control_chars(s, true)) return field_error(e, f, "contains control characters");
      return {};
    case FieldType::Date:
      if (!is_valid_date(s)) return field_error(e, f, "'" + printable(s) + "' is not a date (YYYY-MM-DD)");
      return {};
    case FieldType::DateTime:
      if (!is_valid_datetime(s))
        return field_error(e, f, "'" + printable(s) + "' is not a UTC date-time (YYYY-MM-DDTHH:MM:SSZ)");
      return {};
    case FieldType::Enum:
      if (!f.allows(s)) return field_error(e, f, "value '" + printable(s) + "' is not one of " + join(f.values));
      return {};
    case FieldType::Ref:
      if (!is_valid_id(s)) return field_error(e, f, "'" + printable(s) + "' is not a valid reference id");
      return {};
    default: return {};
  }
}

Result<void> validate_create(const EntityDef& e, const FieldValues& fields, RequiredFields required) {
  if (e.derived)
    return make_error(ErrorCode::validation, e.name + " records are derived by the merge and cannot be created");
  size_t total = 0;
  for (const auto& [name, value] : fields) {
    auto f = find_field(e, name);
    if (!f) return f.error();
    auto r = validate_value(e, **f, value);
    if (!r) return r;
    if (value.is_string()) total += value.as_string().size();
    if (value.is_list())
      for (const auto& s : value.as_list()) total += s.size();
  }
  if (total > kMaxRecordBytes)
    return make_error(ErrorCode::too_large, e.name + ": the values of a new record total " + std::to_string(total) +
                                                " bytes, more than " + std::to_string(kMaxRecordBytes) +
                                                "; create it with less and add the long sections as edits");
  for (const auto& f : e.fields) {
    bool lifecycle_field = e.lifecycle && e.lifecycle->field == f.name;
    if (lifecycle_field) {
      auto it = fields.find(f.name);
      if (it != fields.end() && !(it->second.is_string() && it->second.as_string() == e.lifecycle->initial))
        return field_error(e, f, "a new " + e.name + " starts in state " + e.lifecycle->initial +
                                     "; later states are reached through transitions");
      continue;
    }
    if (required == RequiredFields::may_be_withheld) continue;
    if (f.req == Requirement::Required && is_missing(fields, f.name))
      return field_error(e, f, "required field is missing");
    if (f.req == Requirement::Conditional && f.required_if) {
      const Condition& c = *f.required_if;
      auto it = fields.find(c.field);
      bool matches = it != fields.end() && it->second.is_string() && it->second.as_string() == c.value;
      bool needed = c.negate ? !matches : matches;
      if (needed && is_missing(fields, f.name))
        return field_error(e, f, std::string("required when ") + c.field + (c.negate ? " is not " : " is ") + c.value);
    }
  }
  return {};
}

Result<void> validate_update(const EntityDef& e, const std::string& name, const Value& value) {
  auto f = find_field(e, name);
  if (!f) return f.error();
  const FieldDef& def = **f;
  if (e.derived) return field_error(e, def, "derived records cannot be edited");
  // A countersignature is the one value an append-only record is given after it is made (§6.5).
  if ((e.append_only && !def.countersign) || def.merge == MergeClass::Append)
    return field_error(e, def, e.name + " is append-only; record an Amendment instead of editing it");
  if (e.lifecycle && e.lifecycle->field == name)
    return field_error(e, def, "the state changes only through a lifecycle transition");
  if (is_set_type(def.type)) return field_error(e, def, "a list field changes by adding or removing elements");
  if (value.is_null() && def.req == Requirement::Required) return field_error(e, def, "required field cannot be cleared");
  return validate_value(e, def, value);
}

Result<void> validate_element(const EntityDef& e, const std::string& name, const std::string& element) {
  auto f = find_field(e, name);
  if (!f) return f.error();
  const FieldDef& def = **f;
  if (e.append_only || def.merge == MergeClass::Append)
    return field_error(e, def, e.name + " is append-only; record an Amendment instead of editing it");
  if (!is_set_type(def.type)) return field_error(e, def, "not a list field; set its value instead");
  return validate_element_value(e, def, element);
}

}  // namespace hearth
