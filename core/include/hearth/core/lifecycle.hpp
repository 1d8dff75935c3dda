#pragma once
// Lifecycle rules of DOMAIN.md §4, derived from the schema table.
#include <string>

#include "hearth/core/error.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/core/validation.hpp"

namespace hearth {

// Checks that `entity` may move from `from` to `to`, and that every field required before
// `to` (R*) is set in `current`. Errors name the entity, the current and attempted state,
// and the missing field.
Result<void> check_transition(const EntityDef& entity, const std::string& from, const std::string& to,
                              const FieldValues& current);

}  // namespace hearth
