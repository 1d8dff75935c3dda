#pragma once
// The value of one field. Dates, date-times, enums and references are strings in a
// checked format; set fields carry a sorted list of strings.
#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace hearth {

using StringList = std::vector<std::string>;

class Value {
 public:
  Value() = default;
  Value(bool b) : v_(b) {}                          // NOLINT
  Value(int64_t i) : v_(i) {}                       // NOLINT
  Value(int i) : v_(static_cast<int64_t>(i)) {}     // NOLINT
  Value(std::string s) : v_(std::move(s)) {}        // NOLINT
  Value(const char* s) : v_(std::string(s)) {}      // NOLINT
  Value(StringList l) : v_(std::move(l)) {}         // NOLINT

  bool is_null() const { return v_.index() == 0; }
  bool is_bool() const { return v_.index() == 1; }
  bool is_int() const { return v_.index() == 2; }
  bool is_string() const { return v_.index() == 3; }
  bool is_list() const { return v_.index() == 4; }

  bool as_bool() const { return std::get<bool>(v_); }
  int64_t as_int() const { return std::get<int64_t>(v_); }
  const std::string& as_string() const { return std::get<std::string>(v_); }
  const StringList& as_list() const { return std::get<StringList>(v_); }

  // Canonical JSON text of the value (used for state rendering and comparisons).
  std::string to_json() const;
  // Short human form for error messages ("'L5'", "42", "null").
  std::string describe() const;

  friend bool operator==(const Value&, const Value&) = default;

 private:
  std::variant<std::monostate, bool, int64_t, std::string, StringList> v_;
};

}  // namespace hearth
