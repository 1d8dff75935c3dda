#include "hearth/sync/materialiser.hpp"

#include <algorithm>

#include "hearth/core/lifecycle.hpp"
#include "hearth/core/text.hpp"
#include "hearth/core/render.hpp"
#include "hearth/core/validation.hpp"

namespace hearth::sync {

namespace {
// A rule broken by an edit, named with the record it was made to.
Error in_record(const std::string& id, const Error& e) {
  return make_error(e.code, "record " + printable(id) + ": " + e.message);
}
}  // namespace

Materialiser::Materialiser(const Schema& schema, RequiredFields creates) : schema_(schema), creates_(creates) {}

Result<void> Materialiser::check(const Op& op) const {
  if (auto ok = check_well_formed(op); !ok) return ok;
  const std::string where = "op " + op.id.to_string() + " (" + to_string(op.kind) + " " + op.entity_type + " " +
                            op.entity_id + "): ";
  auto bad = [&](const std::string& why) { return make_error(ErrorCode::validation, where + why); };
  const EntityDef* def = schema_.entity(op.entity_type);
  if (!def) return bad("unknown entity type '" + op.entity_type + "'");
  if (def->family_scoped && op.family.empty()) return bad(def->name + " must belong to a family");
  if (!def->family_scoped && !op.family.empty()) return bad(def->name + " is a directory record and has no family");
  auto known = entity_family_.find(op.entity_id);
  if (known != entity_family_.end()) {
    if (known->second != op.family) return bad("entity belongs to family '" + known->second + "', not '" + op.family + "'");
    const EntityMerge* e = entity(op.entity_id);
    if (e && e->def().name != def->name) return bad("entity is a " + e->def().name + ", not a " + def->name);
  }
  auto wrap = [&](const Result<void>& r) -> Result<void> {
    if (r) return r;
    return make_error(r.error().code, where + r.error().message);
  };
  switch (op.kind) {
    case OpKind::Create: return wrap(validate_create(*def, op.fields, creates_));
    case OpKind::Set: return wrap(validate_update(*def, op.field, op.value));
    case OpKind::Add:
    case OpKind::Remove:
      if (!op.value.is_string()) return bad("a list element must be a string");
      return wrap(validate_element(*def, op.field, op.value.as_string()));
    case OpKind::Transition: {
      if (!def->lifecycle || def->lifecycle->field != op.field) return bad("'" + op.field + "' is not a lifecycle field");
      const FieldDef* f = def->field(op.field);
      if (!op.value.is_string() || !f || !f->allows(op.value.as_string()))
        return bad("target " + op.value.describe() + " is not a state of " + def->name);
      if (!f->allows(op.text)) return bad("source '" + op.text + "' is not a state of " + def->name);
      return {};
    }
    case OpKind::Delete:
      if (def->append_only || def->derived) return bad(def->name + " records are never deleted");
      return {};
    case OpKind::Acknowledge:
      if (op.text.empty()) return bad("acknowledge needs a conflict id");
      return {};
    case OpKind::Restamp:
      if (op.refs.size() != 1 || !op.value.is_int() || op.value.as_int() < 0)
        return bad("restamp needs exactly one target and a non-negative wall time");
      return {};
  }
  return bad("unknown op kind");
}

Hlc Materialiser::effective_stamp(const Op& op) const {
  auto it = restamps_.find(op.id);
  if (it == restamps_.end()) return op.hlc;
  return Hlc{it->second.wall_ms, op.hlc.logical};
}

Result<bool> Materialiser::apply(const Op& op) {
  if (contains(op.id)) return false;
  auto ok = check(op);
  if (!ok) return ok.error();

  FamilyData& fam = families_[op.family];
  op_family_.emplace(op.id, op.family);
  fam.ops.emplace(op.id, op);
  entity_family_.emplace(op.entity_id, op.family);
  const EntityDef* def = schema_.entity(op.entity_type);
  auto [it, inserted] = fam.entities.try_emplace(op.entity_id, def, op.family, op.entity_id);
  (void)inserted;

  if (op.kind == OpKind::Restamp) {
    const OpId& target = op.refs.front();
    auto existing = restamps_.find(target);
    // Several authorities' restamps of one op: the latest restamp decides, on every replica.
    if (existing == restamps_.end() || stamp_before(existing->second.by_stamp, existing->second.by, op.hlc, op.id)) {
      restamps_[target] = RestampMark{op.id, op.hlc, static_cast<uint64_t>(op.value.as_int())};
      auto target_family = op_family_.find(target);
      if (target_family != op_family_.end()) {
        FamilyData& tf = families_[target_family->second];
        auto t = tf.ops.find(target);
        if (t != tf.ops.end()) replay_entity(tf, t->second.entity_id);
      }
    }
    return true;
  }
  it->second.apply(op, effective_stamp(op));
  return true;
}

void Materialiser::replay_entity(FamilyData& fam, const std::string& entity_id) {
  auto it = fam.entities.find(entity_id);
  if (it == fam.entities.end()) return;
  EntityMerge fresh(&it->second.def(), it->second.family(), entity_id);
  for (const auto& [id, op] : fam.ops)
    if (op.entity_id == entity_id && op.kind != OpKind::Restamp) fresh.apply(op, effective_stamp(op));
  it->second = std::move(fresh);
}

const EntityMerge* Materialiser::entity(const std::string& id) const {
  auto f = entity_family_.find(id);
  if (f == entity_family_.end()) return nullptr;
  const auto& entities = families_.at(f->second).entities;
  auto it = entities.find(id);
  return it == entities.end() ? nullptr : &it->second;
}

std::vector<std::string> Materialiser::families() const {
  std::vector<std::string> out;
  for (const auto& [id, fam] : families_) out.push_back(id);
  return out;
}

std::vector<const EntityMerge*> Materialiser::entities(const std::string& family) const {
  std::vector<const EntityMerge*> out;
  auto it = families_.find(family);
  if (it == families_.end()) return out;
  for (const auto& [id, e] : it->second.entities) out.push_back(&e);
  return out;
}

std::vector<const EntityMerge*> Materialiser::chronology(const std::string& family) const {
  std::vector<std::pair<std::string, const EntityMerge*>> rows;
  for (const EntityMerge* e : entities(family)) {
    if (e->def().occurred_field.empty() || e->deleted()) continue;
    Value when = e->value(e->def().occurred_field);
    rows.emplace_back(when.is_string() ? when.as_string() : std::string(), e);
  }
  std::stable_sort(rows.begin(), rows.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  std::vector<const EntityMerge*> out;
  for (const auto& r : rows) out.push_back(r.second);
  return out;
}

std::vector<Conflict> Materialiser::open_conflicts(const std::string& family) const {
  std::vector<Conflict> out;
  for (const EntityMerge* e : entities(family)) {
    auto cs = e->conflicts();
    out.insert(out.end(), std::make_move_iterator(cs.begin()), std::make_move_iterator(cs.end()));
  }
  std::sort(out.begin(), out.end(), [](const Conflict& a, const Conflict& b) { return a.id < b.id; });
  return out;
}

std::vector<Write> Materialiser::history(const std::string& entity_id, const std::string& field) const {
  std::vector<Write> out;
  auto f = entity_family_.find(entity_id);
  if (f == entity_family_.end()) return out;
  for (const auto& [id, op] : families_.at(f->second).ops) {
    if (op.entity_id != entity_id) continue;
    if (op.kind == OpKind::Set && op.field == field) out.push_back(Write{op.id, effective_stamp(op), op.author, op.value});
    if (op.kind == OpKind::Create) {
      auto v = op.fields.find(field);
      if (v != op.fields.end()) out.push_back(Write{op.id, effective_stamp(op), op.author, v->second});
    }
  }
  std::sort(out.begin(), out.end(), [](const Write& a, const Write& b) { return stamp_before(a.hlc, a.id, b.hlc, b.id); });
  return out;
}

std::vector<const Op*> Materialiser::ops(const std::string& family) const {
  std::vector<const Op*> out;
  auto it = families_.find(family);
  if (it == families_.end()) return out;
  for (const auto& [id, op] : it->second.ops) out.push_back(&op);
  std::sort(out.begin(), out.end(), [&](const Op* a, const Op* b) {
    return stamp_before(effective_stamp(*a), a->id, effective_stamp(*b), b->id);
  });
  return out;
}

Result<std::string> Materialiser::render_family(const std::string& family) const {
  if (!is_valid_utf8(family)) return make_error(ErrorCode::corrupt, "a family id that is not valid UTF-8");
  JsonWriter w;
  w.begin_object();
  w.key("family").string(family);
  w.key("entities").begin_array();
  for (const EntityMerge* e : entities(family)) {
    auto json = e->render();
    if (!json) return json.error();
    w.raw(*json);
  }
  w.end_array();
  w.key("conflicts").begin_array();
  for (const auto& c : open_conflicts(family)) {
    auto json = c.checked_json();
    if (!json) return json.error();
    w.raw(*json);
  }
  w.end_array();
  w.end_object();
  return w.take();
}

void Materialiser::forget_family(const std::string& family) {
  auto it = families_.find(family);
  if (it == families_.end()) return;
  for (const auto& [id, op] : it->second.ops) {
    op_family_.erase(id);
    restamps_.erase(id);
  }
  for (const auto& [id, e] : it->second.entities) entity_family_.erase(id);
  families_.erase(it);
}

// ---- builders ---------------------------------------------------------------------------

Result<const EntityMerge*> Materialiser::editable(const std::string& entity_id) const {
  const EntityMerge* e = entity(entity_id);
  if (!e || !e->created()) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
  if (e->deleted()) return make_error(ErrorCode::conflict, e->def().name + " " + entity_id + " has been deleted");
  const auto& lc = e->def().lifecycle;
  if (lc) {
    std::string state = e->status();
    if (std::find(lc->terminal.begin(), lc->terminal.end(), state) != lc->terminal.end() &&
        lc->targets_from(state).empty())
      return make_error(ErrorCode::lifecycle, e->def().name + " " + entity_id + " is " + state +
                                                  " and can no longer be edited; record an Amendment instead");
  }
  return e;
}

Result<Op> Materialiser::make_create(const std::string& family, const std::string& type, const std::string& id,
                                     const FieldValues& fields) const {
  const EntityDef* def = schema_.entity(type);
  if (!def) return make_error(ErrorCode::invalid_argument, "unknown entity type '" + type + "'");
  if (id.empty()) return make_error(ErrorCode::invalid_argument, "a new " + type + " needs an id");
  if (const EntityMerge* e = entity(id); e && e->created())
    return make_error(ErrorCode::conflict, type + " " + id + " already exists; update it instead");
  auto ok = validate_create(*def, fields);
  if (!ok) return in_record(id, ok.error());
  Op op;
  op.kind = OpKind::Create;
  op.family = def->family_scoped ? family : std::string();
  if (def->family_scoped && op.family.empty())
    return make_error(ErrorCode::invalid_argument, type + " must belong to a family");
  op.entity_type = type;
  op.entity_id = id;
  op.fields = fields;
  if (def->lifecycle) op.fields.erase(def->lifecycle->field);
  return op;
}

namespace {
Op base_op(const EntityMerge& e, OpKind kind, const std::string& field) {
  Op op;
  op.kind = kind;
  op.family = e.family();
  op.entity_type = e.def().name;
  op.entity_id = e.id();
  op.field = field;
  return op;
}
}  // namespace

Result<Op> Materialiser::make_set(const std::string& entity_id, const std::string& field, const Value& value) const {
  auto e = editable(entity_id);
  if (!e) return e.error();
  auto ok = validate_update((*e)->def(), field, value);
  if (!ok) return in_record(entity_id, ok.error());
  Op op = base_op(**e, OpKind::Set, field);
  op.value = value;
  for (const auto& h : (*e)->heads(field)) op.refs.push_back(h.id);
  return op;
}

Result<Op> Materialiser::make_add(const std::string& entity_id, const std::string& field,
                                  const std::string& element) const {
  auto e = editable(entity_id);
  if (!e) return e.error();
  auto ok = validate_element((*e)->def(), field, element);
  if (!ok) return in_record(entity_id, ok.error());
  Op op = base_op(**e, OpKind::Add, field);
  op.value = element;
  return op;
}

Result<Op> Materialiser::make_remove(const std::string& entity_id, const std::string& field,
                                     const std::string& element) const {
  auto e = editable(entity_id);
  if (!e) return e.error();
  auto ok = validate_element((*e)->def(), field, element);
  if (!ok) return in_record(entity_id, ok.error());
  auto tags = (*e)->element_tags(field, element);
  if (tags.empty())
    return make_error(ErrorCode::not_found, (*e)->def().name + "." + field + " does not contain '" + element + "'");
  Op op = base_op(**e, OpKind::Remove, field);
  op.value = element;
  op.refs = std::move(tags);
  return op;
}

Result<Op> Materialiser::make_transition(const std::string& entity_id, const std::string& to) const {
  auto e = editable(entity_id);
  if (!e) return e.error();
  const EntityDef& def = (*e)->def();
  std::string from = (*e)->status();
  auto ok = check_transition(def, from, to, (*e)->values());
  if (!ok) return ok.error();
  if (auto guard = check_family_guards(**e, to); !guard) return guard.error();
  Op op = base_op(**e, OpKind::Transition, def.lifecycle->field);
  op.value = to;
  op.text = from;
  return op;
}

namespace {
std::string fill(const std::string& need, const std::string& what) {
  std::string out = need;
  if (auto at = out.find("{}"); at != std::string::npos) out.replace(at, 2, what);
  return out;
}
}  // namespace

Result<void> Materialiser::check_family_guards(const EntityMerge& e, const std::string& to) const {
  // The guards are declared with the lifecycle (Lifecycle::guards in the schema).
  const auto& lc = e.def().lifecycle;
  if (!lc) return {};
  for (const TransitionGuard& g : lc->guards) {
    if (g.to != to) continue;
    const std::string where = e.def().name + " " + e.id() + ": transition " + e.status() + " -> " + to + " ";
    std::vector<const EntityMerge*> parts{&e};
    for (const EntityMerge* other : entities(e.family())) {
      if (other == &e || !other->created() || other->deleted()) continue;
      Value parent = other->value(g.part_link);
      if (parent.is_string() && parent.as_string() == e.id()) parts.push_back(other);
    }
    if (g.no_open_conflicts) {
      for (const EntityMerge* part : parts) {
        for (const auto& c : part->conflicts())
          return make_error(ErrorCode::lifecycle, where + "needs conflict " + c.id + " on " + part->def().name + "." +
                                                      c.field + " resolved first");
      }
    }
    for (const auto& rule : g.coverage) {
      for (const auto& prefix : rule.prefixes) {
        bool found = false;
        for (const EntityMerge* part : parts) {
          Value v = part->def().name == rule.part_type ? part->value(rule.field) : Value();
          if (v.is_string() && v.as_string().rfind(prefix, 0) == 0) found = true;
        }
        if (!found) return make_error(ErrorCode::lifecycle, where + "needs " + fill(rule.need, prefix));
      }
    }
    for (const auto& rule : g.each) {
      Value via = e.value(rule.via);
      const EntityMerge* target = via.is_string() ? entity(via.as_string()) : nullptr;
      Value list = target ? target->value(rule.list) : Value();
      if (!list.is_list()) continue;
      for (const auto& element : list.as_list()) {
        bool found = false;
        for (const EntityMerge* part : parts) {
          Value v = part->def().name == rule.part_type ? part->value(rule.field) : Value();
          if (v.is_string() && v.as_string() == element) found = true;
        }
        if (!found) return make_error(ErrorCode::lifecycle, where + "needs " + fill(rule.need, element));
      }
    }
  }
  return {};
}

Result<Op> Materialiser::make_delete(const std::string& entity_id) const {
  auto e = editable(entity_id);
  if (!e) return e.error();
  if ((*e)->def().append_only)
    return make_error(ErrorCode::validation, (*e)->def().name + " is append-only and is never deleted");
  Op op = base_op(**e, OpKind::Delete, "");
  op.refs = (*e)->observed_ops();
  return op;
}

Result<Op> Materialiser::make_resolution(const std::string& entity_id, const std::string& conflict_id,
                                         const std::optional<Value>& chosen) const {
  const EntityMerge* e = entity(entity_id);
  if (!e) return make_error(ErrorCode::not_found, "no record with id '" + entity_id + "'");
  for (const auto& c : e->conflicts()) {
    if (c.id != conflict_id) continue;
    if (c.kind == ConflictKind::RejectedIntent || c.kind == ConflictKind::DeleteCancelled) {
      if (chosen) return make_error(ErrorCode::invalid_argument, "conflict " + conflict_id + " (" +
                                                                    to_string(c.kind) + ") takes no value; acknowledge it");
      Op op = base_op(*e, OpKind::Acknowledge, c.field);
      op.text = conflict_id;
      return op;
    }
    if (!chosen && !c.auto_applied)
      return make_error(ErrorCode::invalid_argument,
                        "conflict " + conflict_id + " on " + c.entity_type + "." + c.field + " needs a chosen value");
    Value v = chosen ? *chosen : *c.auto_applied;
    auto ok = validate_update(e->def(), c.field, v);
    if (!ok) return ok.error();
    Op op = base_op(*e, OpKind::Set, c.field);
    op.value = std::move(v);
    for (const auto& cv : c.values) op.refs.push_back(cv.op);  // exactly the values the resolver saw
    return op;
  }
  return make_error(ErrorCode::not_found, "no open conflict '" + conflict_id + "' on " + entity_id);
}

}  // namespace hearth::sync
