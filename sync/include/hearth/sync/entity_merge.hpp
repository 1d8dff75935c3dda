#pragma once
// The merge state of one entity. Every scalar field is a multi-value register: its
// "heads" are the writes no other write has superseded. The merge class of the field
// decides which head is shown and whether a conflict is raised. Set fields are
// observed-remove sets (add wins). Status fields replay transition intents in stamp order.
// Applying ops in any order, any number of times, yields the same state.
// Thread-safety: confined to its owner.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "hearth/core/json_writer.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/sync/conflict.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::sync {

struct Write {
  OpId id;
  Hlc hlc;
  std::string author;
  Value value;
};

class EntityMerge {
 public:
  EntityMerge(const EntityDef* def, std::string family, std::string id);

  // `stamp` is the op's effective stamp (its own, or the authority's re-stamp).
  void apply(const Op& op, const Hlc& stamp);

  const EntityDef& def() const { return *def_; }
  const std::string& id() const { return id_; }
  const std::string& family() const { return family_; }
  bool created() const { return created_; }
  bool deleted() const;
  bool has_deletes() const { return !deletes_.empty(); }
  const std::string& created_by() const { return created_by_; }
  // Canonical JSON of one field's shown value, and of its concurrent values ("" if none).
  std::string field_json(const FieldDef& f) const;
  std::string multi_json(const FieldDef& f) const;

  // The value shown for a field (null when unset).
  Value value(const std::string& field) const;
  FieldValues values() const;  // every set field, for lifecycle guards
  std::vector<Write> heads(const std::string& field) const;
  std::vector<OpId> element_tags(const std::string& field, const std::string& element) const;
  std::string status() const;  // current lifecycle state ("" without lifecycle)
  std::vector<OpId> observed_ops() const { return {ops_.begin(), ops_.end()}; }

  std::vector<Conflict> conflicts() const;
  // Canonical JSON of the entity, through the one renderer (core/render.hpp); a value that
  // cannot be rendered is ErrorCode::corrupt naming the record and the field.
  Result<std::string> render() const;

 private:
  struct Intent {
    OpId id;
    Hlc hlc;
    std::string author;
    std::string from;
    std::string to;
  };
  struct DeleteMark {
    OpId id;
    Hlc hlc;
    std::string author;
    std::set<OpId> observed;
  };
  struct Replay {
    std::string state;
    std::vector<const Intent*> rejected;
  };

  void add_head(const std::string& field, Write w);
  const Write* shown(const FieldDef& f, const std::vector<Write>& heads) const;
  Replay replay() const;
  std::string assignee_for(const FieldDef& f, const std::vector<Write>& heads) const;

  const EntityDef* def_;
  std::string family_;
  std::string id_;
  bool created_ = false;
  std::string created_by_;
  std::map<std::string, std::vector<Write>> heads_;                     // field -> heads, stamp order
  std::map<std::string, std::map<std::string, std::set<OpId>>> sets_;  // field -> element -> tags
  std::set<std::pair<std::string, OpId>> superseded_;                   // (field, op) never a head
  std::vector<Intent> intents_;
  std::vector<DeleteMark> deletes_;
  std::set<OpId> ops_;  // every edit applied (deletes and acknowledgements excluded)
  std::set<std::string> acknowledged_;
};

}  // namespace hearth::sync
