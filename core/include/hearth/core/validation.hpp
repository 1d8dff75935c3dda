#pragma once
// Validation derived from the schema table. Every error names the entity, the field and
// the rule broken, e.g. "Person.sex: value 'X' is not one of MALE, FEMALE, NOT_STATED, NEITHER".
#include <map>
#include <string>

#include "hearth/core/error.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/core/value.hpp"

namespace hearth {

using FieldValues = std::map<std::string, Value>;

// The bytes of text in the values of one new record (a Create op). With the per-field caps of
// the schema table this keeps every op well below the protocol's 512 KiB per-op limit
// (sync/protocol.hpp Limits::op_bytes). Above it: ErrorCode::too_large.
constexpr size_t kMaxRecordBytes = 256 * 1024;

// One value against its field definition (type, enum, range, format, length, and every string
// valid UTF-8; ids of references as in text.hpp).
Result<void> validate_value(const EntityDef& entity, const FieldDef& field, const Value& value);

// Whether a new record's required (R) and conditional (C) fields must be present.
// `may_be_withheld` is for a replica receiving records the authority already validated whole:
// fields the access policy withholds from its practitioner are absent from what it receives
// (DOMAIN.md §5, issue 8), so their absence is not an error there. Local edits always check.
enum class RequiredFields { checked, may_be_withheld };

// A new record: unknown fields, values, required (R) and conditional (C) fields.
// The lifecycle field, if given, must be the initial state.
Result<void> validate_create(const EntityDef& entity, const FieldValues& fields,
                             RequiredFields required = RequiredFields::checked);

// A change of one scalar field on an existing record. Status fields change only through
// transitions, APPEND fields never change, set fields change through add/remove.
Result<void> validate_update(const EntityDef& entity, const std::string& field, const Value& value);

// Adding or removing one element of a set field.
Result<void> validate_element(const EntityDef& entity, const std::string& field, const std::string& element);

// Looks up a field by name and reports an unknown one as an error naming the entity.
Result<const FieldDef*> find_field(const EntityDef& entity, const std::string& field);

bool is_valid_date(const std::string& s);      // YYYY-MM-DD, a real calendar day
bool is_valid_datetime(const std::string& s);  // YYYY-MM-DDTHH:MM:SS[.fff]Z (UTC)

}  // namespace hearth
