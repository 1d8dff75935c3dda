#pragma once
// Computes every entity's state and the open conflicts from a set of operations, in any
// order and with any duplicates. Families are independent partitions. It also builds the
// ops a local edit needs (with what they supersede), so the store and the tests make
// edits exactly the same way.
// Thread-safety: confined; one Materialiser per replica, used from one thread.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/core/validation.hpp"
#include "hearth/sync/conflict.hpp"
#include "hearth/sync/entity_merge.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::sync {

class Materialiser {
 public:
  // `creates`: RequiredFields::may_be_withheld for a device's replica, which receives records
  // with the fields its practitioner may not see left out (the server validated them whole);
  // the builders below (local edits) always check every required field.
  explicit Materialiser(const Schema& schema, RequiredFields creates = RequiredFields::checked);

  const Schema& schema() const { return schema_; }

  // Validates the op against the schema and what this replica holds, then merges it.
  // Returns false (and changes nothing) when the op was already applied.
  Result<bool> apply(const Op& op);
  Result<void> check(const Op& op) const;
  bool contains(const OpId& id) const { return op_family_.count(id) != 0; }
  size_t op_count() const { return op_family_.size(); }

  const EntityMerge* entity(const std::string& id) const;
  std::vector<std::string> families() const;
  std::vector<const EntityMerge*> entities(const std::string& family) const;  // by id
  std::vector<const EntityMerge*> chronology(const std::string& family) const;
  std::vector<Conflict> open_conflicts(const std::string& family) const;
  std::vector<Write> history(const std::string& entity_id, const std::string& field) const;
  std::vector<const Op*> ops(const std::string& family) const;  // stamp order
  Hlc effective_stamp(const Op& op) const;

  // Canonical JSON of a family: {"family","entities":[... by id],"conflicts":[... by id]}.
  // A record that cannot be rendered is ErrorCode::corrupt naming it (core/render.hpp).
  Result<std::string> render_family(const std::string& family) const;

  void forget_family(const std::string& family);

  // Builders for local edits. The returned op has no id, stamp or author yet: the caller
  // assigns them only once the edit is known to be valid.
  Result<Op> make_create(const std::string& family, const std::string& type, const std::string& id,
                         const FieldValues& fields) const;
  Result<Op> make_set(const std::string& entity_id, const std::string& field, const Value& value) const;
  Result<Op> make_add(const std::string& entity_id, const std::string& field, const std::string& element) const;
  Result<Op> make_remove(const std::string& entity_id, const std::string& field, const std::string& element) const;
  Result<Op> make_transition(const std::string& entity_id, const std::string& to) const;
  Result<Op> make_delete(const std::string& entity_id) const;
  // Resolving a conflict: for REVIEW/CONFIRM/NOTIFY a Set that supersedes exactly the
  // values in the conflict (`chosen` defaults to the auto-applied value); for the other
  // kinds an Acknowledge (no value may be chosen).
  Result<Op> make_resolution(const std::string& entity_id, const std::string& conflict_id,
                             const std::optional<Value>& chosen) const;

 private:
  struct FamilyData {
    std::map<std::string, EntityMerge> entities;
    std::map<OpId, Op> ops;
  };
  struct RestampMark {
    OpId by;
    Hlc by_stamp;
    uint64_t wall_ms;
  };

  Result<const EntityMerge*> editable(const std::string& entity_id) const;
  // Guards that read other records of the family (e.g. an EHA's sections and the episode).
  Result<void> check_family_guards(const EntityMerge& e, const std::string& to) const;
  void replay_entity(FamilyData& fam, const std::string& entity_id);

  const Schema& schema_;
  RequiredFields creates_;
  std::map<std::string, FamilyData> families_;
  std::map<OpId, std::string> op_family_;
  std::map<std::string, std::string> entity_family_;
  std::map<OpId, RestampMark> restamps_;
};

}  // namespace hearth::sync
