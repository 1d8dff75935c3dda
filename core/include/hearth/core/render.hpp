#pragma once
// The one canonical renderer of a record (docs/change-log.md, "Rendering"). Every reader
// renders through it: the in-memory merge (sync::EntityMerge) and the tablet store's reads and
// exports, each feeding it field values from its own source, so replicas compare byte for byte
// whatever the source.
//
// Output: {"id","type","family","created","created_by","deleted","fields":{...},"multi":{...}}
// with no whitespace, fields in schema order, and only the fields that are set.
//
// A reader never aborts on a stored value: text that is not valid UTF-8, a fragment that is not
// one canonical JSON value, or a number outside the 64-bit range is ErrorCode::corrupt naming
// the record and the field (DOMAIN.md §0.4; docs/change-log.md). Nothing here throws.
// Thread-safety: pure functions.
#include <functional>
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"
#include "hearth/core/text.hpp"  // is_valid_utf8
#include "hearth/core/schema.hpp"

namespace hearth {

struct RecordHeader {
  std::string_view id;
  std::string_view type;
  std::string_view family;
  bool created = false;
  std::string_view created_by;
  bool deleted = false;
};

// One field as its source holds it: the canonical JSON of the value shown ("" when unset) and
// of its concurrent values, a JSON array ("" when none).
struct FieldJson {
  std::string value;
  std::string multi;
};
using FieldSource = std::function<Result<FieldJson>(const FieldDef&)>;

// Renders one record of type `def` (nullptr: the type is unknown, which is an error).
Result<std::string> render_record(const EntityDef* def, const RecordHeader& header, const FieldSource& fields);

// Checks that `json` is exactly one JSON value as this project renders them (null, true, false,
// a 64-bit integer, a string, or an array of those, nested) with valid UTF-8 throughout.
// `what` names the thing checked in the error (e.g. "record X field y").
Result<void> check_canonical_json(std::string_view json, const std::string& what);

}  // namespace hearth
