#pragma once
// The one table that declares every entity: fields, types, requirement (R, R*, C, O of
// DOMAIN.md), allowed enum values, sensitivity class (T0-T3), merge class (DOMAIN.md §8.2)
// and lifecycle. Validation, merge behaviour and rendering are all derived from it.
// Thread-safety: a Schema is immutable after construction and may be shared freely.
#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace hearth {

enum class FieldType { String, Text, Date, DateTime, Bool, Int, Enum, Ref, EnumSet, RefSet, StringSet };
enum class Requirement { Required, RequiredBefore, Conditional, Optional };
enum class Sensitivity { T0, T1, T2, T3 };
enum class MergeClass { Append, SetAddWins, LwwSilent, LwwNotify, SafetyMax, MultiValueReview, ServerAuthority };

const char* to_string(FieldType t);
const char* to_string(Requirement r);
const char* to_string(Sensitivity s);
const char* to_string(MergeClass m);
bool is_set_type(FieldType t);

// "Required if <field> is <value>" (or "unless", when negate is true).
struct Condition {
  std::string field;
  std::string value;
  bool negate = false;
};

struct FieldDef {
  std::string name;
  FieldType type = FieldType::String;
  Requirement req = Requirement::Optional;
  Sensitivity sens = Sensitivity::T1;
  MergeClass merge = MergeClass::LwwSilent;
  // Enum / EnumSet values. For SAFETY_MAX enums the order is least to most protective.
  std::vector<std::string> values;
  std::string ref;                           // target entity of Ref / RefSet
  std::vector<std::string> required_before;  // R*: lifecycle states that need this field set
  std::optional<Condition> required_if;      // C
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
  // Size caps, declared per field in the schema table (schema_v1.cpp); 0 means the type's
  // default of validation.cpp. Bytes of a String or Text value, or of one element of a list.
  size_t max_length = 0;
  size_t max_items = 0;  // elements of a list field

  bool allows(const std::string& enum_value) const;
  // Rank of a value in the protective order of a SAFETY_MAX field (higher = more protective).
  int protective_rank(const std::string& enum_value) const;
};

struct Transition {
  std::string from;  // "*" = any state not listed in Lifecycle::terminal
  std::string to;
};

struct Lifecycle {
  std::string field;  // the status field the lifecycle governs
  std::string initial;
  std::vector<std::string> terminal;
  std::vector<Transition> transitions;

  bool allows(const std::string& from, const std::string& to) const;
  std::vector<std::string> targets_from(const std::string& from) const;
};

struct EntityDef {
  std::string name;
  bool family_scoped = true;  // false: tenant directory records (Organisation, Practitioner)
  bool append_only = false;   // APPEND entities: immutable after creation, never deleted
  bool derived = false;       // computed by the materialiser, never written directly
  std::string occurred_field; // for chronology ordering (e.g. Contact.occurred_at)
  std::vector<FieldDef> fields;
  std::optional<Lifecycle> lifecycle;

  const FieldDef* field(const std::string& name) const;
  size_t field_index(const std::string& name) const;  // fields.size() when unknown
};

class Schema {
 public:
  void add(EntityDef def);
  const EntityDef* entity(const std::string& name) const;
  const std::vector<EntityDef>& entities() const { return entities_; }

  // The Early Help v1 schema (schema_v1.cpp).
  static const Schema& v1();
  // The peer benchmark's documents (schema_peer_benchmark.cpp); benchmarks only.
  static const Schema& peer_benchmark();

 private:
  std::vector<EntityDef> entities_;
  std::map<std::string, size_t> index_;
};

}  // namespace hearth
