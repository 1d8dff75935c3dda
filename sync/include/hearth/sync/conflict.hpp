#pragma once
// A ConflictRecord (DOMAIN.md §8.4) as derived by the merge. Conflicts are not stored as
// operations: they are a function of the op set, so every replica derives the same ones,
// with the same ids. Resolving one is an ordinary operation (docs/change-log.md).
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/core/value.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::sync {

enum class ConflictKind {
  Review,           // MULTI_VALUE_REVIEW: concurrent values kept, a person picks or merges
  Confirm,          // SAFETY_MAX: the protective value applied, a person confirms
  Notify,           // LWW_NOTIFY: the later value applied, the authors and lead are told
  RejectedIntent,   // SERVER_AUTHORITY: a transition no longer allowed from the state reached
  DeleteCancelled,  // a delete raced an edit the deleter had not seen: the record stays
};

const char* to_string(ConflictKind k);

struct ConflictValue {
  Value value;
  OpId op;
  std::string author;
  Hlc hlc;
};

struct Conflict {
  std::string id;  // deterministic: the same on every replica
  std::string family;
  std::string entity_type;
  std::string entity_id;
  std::string field;
  ConflictKind kind = ConflictKind::Review;
  MergeClass merge = MergeClass::MultiValueReview;
  std::vector<ConflictValue> values;
  std::optional<Value> auto_applied;
  std::string assignee_role;  // a role the schema routes it to (EntityDef::conflict_role and friends)
  std::string detail;

  std::string to_json() const;
  // to_json(), or ErrorCode::corrupt naming the conflict and its record when a value in it
  // cannot be shown (text that is not valid UTF-8). What every reader uses.
  Result<std::string> checked_json() const;
};

}  // namespace hearth::sync
