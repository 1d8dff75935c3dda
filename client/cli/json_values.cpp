#include "json_values.hpp"

#include "hearth/core/text.hpp"

namespace hearth::cli {

namespace {
Result<Value> to_value(const nlohmann::json& j, const std::string& where) {
  if (j.is_null()) return Value();
  if (j.is_boolean()) return Value(j.get<bool>());
  if (j.is_number_integer()) return Value(j.get<int64_t>());
  if (j.is_string()) return Value(j.get<std::string>());
  if (j.is_array()) {
    StringList list;
    for (const auto& e : j) {
      if (!e.is_string()) return make_error(ErrorCode::invalid_argument, where + ": list elements must be strings");
      list.push_back(e.get<std::string>());
    }
    return Value(std::move(list));
  }
  return make_error(ErrorCode::invalid_argument,
                    where + ": values are strings, whole numbers, true/false, null or lists of strings");
}
}  // namespace

Result<FieldValues> parse_fields(const std::string& text) {
  if (auto ok = check_utf8("the fields", text); !ok) return make_error(ErrorCode::invalid_argument, ok.error().message);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return make_error(ErrorCode::invalid_argument, "the fields must be a JSON object, e.g. {\"display_name\": \"Family F\"}");
  FieldValues out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    auto v = to_value(it.value(), "field '" + it.key() + "'");
    if (!v) return v.error();
    out.emplace(it.key(), std::move(v.value()));
  }
  return out;
}

Result<Value> parse_value(const std::string& text) {
  if (auto ok = check_utf8("the value", text); !ok) return make_error(ErrorCode::invalid_argument, ok.error().message);
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded())
    return make_error(ErrorCode::invalid_argument, "the value must be JSON: \"text\" in quotes, 42, true, null, or [\"A\",\"B\"]");
  return to_value(j, "value");
}

nlohmann::json conflict_json(const sync::Conflict& c) { return nlohmann::json::parse(c.to_json()); }

}  // namespace hearth::cli
