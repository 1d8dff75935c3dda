#pragma once
// A merged record's values as the use cases read them: a text field (String, Enum, Ref, Date,
// DateTime) or a list field (EnumSet, RefSet), empty when unset or of another kind, so a rule
// never has to tell "unset" from "not text".
#include <string>
#include <vector>

#include "hearth/sync/materialiser.hpp"

namespace hearth::server {

inline std::string text_of(const sync::EntityMerge& e, const std::string& field) {
  Value v = e.value(field);
  return v.is_string() ? v.as_string() : std::string();
}

inline std::vector<std::string> list_of(const sync::EntityMerge& e, const std::string& field) {
  Value v = e.value(field);
  return v.is_list() ? v.as_list() : std::vector<std::string>{};
}

}  // namespace hearth::server
