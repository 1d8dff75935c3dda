#pragma once
// One immutable operation of the change log. See docs/change-log.md for the meaning of
// every field per kind and the merge rules.
#include <compare>
#include <cstdint>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"
#include "hearth/core/validation.hpp"
#include "hearth/core/value.hpp"
#include "hearth/sync/hlc.hpp"

namespace hearth::sync {

// Globally unique: the device that made the op and that device's counter.
struct OpId {
  std::string device;
  uint64_t counter = 0;

  auto operator<=>(const OpId&) const = default;
  std::string to_string() const { return device + ":" + std::to_string(counter); }
};

enum class OpKind : uint8_t {
  Create = 1,       // fields: the initial values
  Set = 2,          // field, value; refs: the values of that field it supersedes (its heads when made)
  Add = 3,          // field, value (the element); the op id is the element's add tag
  Remove = 4,       // field, value (the element); refs: the add tags it observed
  Transition = 5,   // field (status), value (target state), text (the state the author saw)
  Delete = 6,       // refs: every op of the entity the author had seen
  Acknowledge = 7,  // text: the id of a conflict that has no field value to choose
  Restamp = 8,      // refs[0]: the op to re-stamp; value: its new wall time (authority only)
};

const char* to_string(OpKind kind);

struct Op {
  OpId id;
  Hlc hlc;
  std::string author;  // practitioner id
  std::string family;  // "" for tenant directory records
  std::string entity_type;
  std::string entity_id;
  OpKind kind = OpKind::Set;
  std::string field;
  Value value;
  FieldValues fields;
  std::vector<OpId> refs;
  std::string text;

  bool operator==(const Op&) const = default;
};

// The latest wall time a stamp may carry: 9999-12-31T23:59:59.999Z in ms since the epoch.
constexpr uint64_t kMaxWallMs = 253402300799999;

// The checks every op passes at a trust boundary (the decoder, and the materialiser before it
// applies a local or remote op), whatever its kind: ids as in core/text.hpp (the family may be
// empty for directory records; the author is checked when present), op counters 1..2^53-1,
// stamps no later than kMaxWallMs, entity type and field names from the schema vocabulary, and
// every string valid UTF-8 (values, list elements, field names, text). ErrorCode::validation
// naming the op and the part at fault.
// The schema's rules (types, enums, sizes) are checked by validation.hpp on top of this.
[[nodiscard]] Result<void> check_well_formed(const Op& op);

// Total order used everywhere a deterministic order is needed: stamp, then op id.
inline bool stamp_before(const Hlc& a, const OpId& ia, const Hlc& b, const OpId& ib) {
  if (a != b) return a < b;
  return ia < ib;
}

}  // namespace hearth::sync
