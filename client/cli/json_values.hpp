#pragma once
#include <nlohmann/json.hpp>

#include "hearth/core/validation.hpp"
#include "hearth/sync/conflict.hpp"

namespace hearth::cli {

// JSON text -> field values: strings, integers, booleans, null and arrays of strings.
Result<FieldValues> parse_fields(const std::string& text);
Result<Value> parse_value(const std::string& text);
nlohmann::json conflict_json(const sync::Conflict& c);

}  // namespace hearth::cli
