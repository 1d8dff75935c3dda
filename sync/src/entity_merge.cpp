#include "hearth/sync/entity_merge.hpp"

#include <algorithm>

#include "hearth/core/render.hpp"

namespace hearth::sync {

namespace {

// Set-element tags are superseded per element, so removing one element never touches
// another element added by the same op (e.g. a Create that lists several).
std::string element_key(const std::string& field, const std::string& element) { return field + '\0' + element; }

bool write_before(const Write& a, const Write& b) { return stamp_before(a.hlc, a.id, b.hlc, b.id); }

int rank(const FieldDef& f, const Value& v) {
  if (v.is_bool()) return v.as_bool() ? 1 : 0;
  if (v.is_string()) return f.protective_rank(v.as_string());
  return -1;
}

size_t distinct_values(const std::vector<Write>& heads) {
  std::vector<const Value*> seen;
  for (const auto& h : heads) {
    if (std::none_of(seen.begin(), seen.end(), [&](const Value* v) { return *v == h.value; })) seen.push_back(&h.value);
  }
  return seen.size();
}

std::string fnv64(const std::string& s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (char c : s) {
    h ^= static_cast<unsigned char>(c);
    h *= 0x100000001b3ull;
  }
  static const char* hex = "0123456789abcdef";
  std::string out(16, '0');
  for (int i = 15; i >= 0; --i, h >>= 4) out[static_cast<size_t>(i)] = hex[h & 0xF];
  return out;
}

}  // namespace

EntityMerge::EntityMerge(const EntityDef* def, std::string family, std::string id)
    : def_(def), family_(std::move(family)), id_(std::move(id)) {}

void EntityMerge::add_head(const std::string& field, Write w) {
  if (superseded_.count({field, w.id})) return;
  auto& heads = heads_[field];
  for (const auto& h : heads)
    if (h.id == w.id) return;
  heads.insert(std::upper_bound(heads.begin(), heads.end(), w, write_before), std::move(w));
}

void EntityMerge::apply(const Op& op, const Hlc& stamp) {
  const bool is_lifecycle_field = def_->lifecycle && op.field == def_->lifecycle->field;
  switch (op.kind) {
    case OpKind::Create:
      created_ = true;
      created_by_ = op.author;
      for (const auto& [name, value] : op.fields) {
        const FieldDef* f = def_->field(name);
        if (!f || (def_->lifecycle && name == def_->lifecycle->field)) continue;
        if (is_set_type(f->type) && value.is_list()) {
          for (const auto& e : value.as_list())
            if (!superseded_.count({element_key(name, e), op.id})) sets_[name][e].insert(op.id);
        } else if (!value.is_null()) {
          add_head(name, Write{op.id, stamp, op.author, value});
        }
      }
      ops_.insert(op.id);
      break;
    case OpKind::Set: {
      auto& heads = heads_[op.field];
      for (const auto& r : op.refs) {
        superseded_.insert({op.field, r});
        heads.erase(std::remove_if(heads.begin(), heads.end(), [&](const Write& w) { return w.id == r; }), heads.end());
      }
      add_head(op.field, Write{op.id, stamp, op.author, op.value});
      ops_.insert(op.id);
      break;
    }
    case OpKind::Add: {
      const std::string& e = op.value.as_string();
      if (!superseded_.count({element_key(op.field, e), op.id})) sets_[op.field][e].insert(op.id);
      ops_.insert(op.id);
      break;
    }
    case OpKind::Remove: {
      const std::string& e = op.value.as_string();
      auto& elements = sets_[op.field];
      for (const auto& r : op.refs) {
        superseded_.insert({element_key(op.field, e), r});
        auto it = elements.find(e);
        if (it != elements.end()) {
          it->second.erase(r);
          if (it->second.empty()) elements.erase(it);
        }
      }
      ops_.insert(op.id);
      break;
    }
    case OpKind::Transition: {
      if (!is_lifecycle_field) break;
      Intent in{op.id, stamp, op.author, op.text, op.value.as_string()};
      auto before = [](const Intent& a, const Intent& b) { return stamp_before(a.hlc, a.id, b.hlc, b.id); };
      intents_.insert(std::upper_bound(intents_.begin(), intents_.end(), in, before), std::move(in));
      ops_.insert(op.id);
      break;
    }
    case OpKind::Delete: {
      DeleteMark d{op.id, stamp, op.author, std::set<OpId>(op.refs.begin(), op.refs.end())};
      auto before = [](const DeleteMark& a, const DeleteMark& b) { return stamp_before(a.hlc, a.id, b.hlc, b.id); };
      deletes_.insert(std::upper_bound(deletes_.begin(), deletes_.end(), d, before), std::move(d));
      break;
    }
    case OpKind::Acknowledge: acknowledged_.insert(op.text); break;
    case OpKind::Restamp: break;  // handled by the materialiser, which replays the entity
  }
}

bool EntityMerge::deleted() const {
  return std::any_of(deletes_.begin(), deletes_.end(), [&](const DeleteMark& d) {
    return std::includes(d.observed.begin(), d.observed.end(), ops_.begin(), ops_.end());
  });
}

const Write* EntityMerge::shown(const FieldDef& f, const std::vector<Write>& heads) const {
  if (heads.empty()) return nullptr;
  if (f.merge != MergeClass::SafetyMax) return &heads.back();  // the latest stamp
  const Write* best = &heads.front();
  for (const auto& h : heads)
    if (rank(f, h.value) > rank(f, best->value) || (rank(f, h.value) == rank(f, best->value) && write_before(*best, h)))
      best = &h;
  return best;
}

Value EntityMerge::value(const std::string& field) const {
  if (def_->lifecycle && def_->lifecycle->field == field) return Value(status());
  const FieldDef* f = def_->field(field);
  if (!f) return {};
  if (is_set_type(f->type)) {
    StringList out;
    auto it = sets_.find(field);
    if (it != sets_.end())
      for (const auto& [e, tags] : it->second)
        if (!tags.empty()) out.push_back(e);
    return out.empty() ? Value() : Value(std::move(out));
  }
  auto it = heads_.find(field);
  if (it == heads_.end()) return {};
  const Write* w = shown(*f, it->second);
  return w ? w->value : Value();
}

FieldValues EntityMerge::values() const {
  FieldValues out;
  for (const auto& f : def_->fields) {
    Value v = value(f.name);
    if (!v.is_null()) out.emplace(f.name, std::move(v));
  }
  return out;
}

std::vector<Write> EntityMerge::heads(const std::string& field) const {
  auto it = heads_.find(field);
  return it == heads_.end() ? std::vector<Write>{} : it->second;
}

std::vector<OpId> EntityMerge::element_tags(const std::string& field, const std::string& element) const {
  auto it = sets_.find(field);
  if (it == sets_.end()) return {};
  auto e = it->second.find(element);
  return e == it->second.end() ? std::vector<OpId>{} : std::vector<OpId>(e->second.begin(), e->second.end());
}

EntityMerge::Replay EntityMerge::replay() const {
  Replay r;
  if (!def_->lifecycle) return r;
  r.state = def_->lifecycle->initial;
  for (const auto& in : intents_) {
    // An intent is valid only from the state its author saw (DOMAIN.md §4: offline
    // transitions are intents, validated against the state actually reached).
    if (in.from == r.state && def_->lifecycle->allows(r.state, in.to)) {
      r.state = in.to;
    } else {
      r.rejected.push_back(&in);
    }
  }
  return r;
}

std::string EntityMerge::status() const { return replay().state; }

std::string EntityMerge::assignee_for(const FieldDef& f, const std::vector<Write>& heads) const {
  // The schema routes conflicts (EntityDef::conflict_role and friends). Safety conflicts that
  // involve the most protective value are escalated (DOMAIN.md §8.1.6, S1b).
  if (f.merge == MergeClass::SafetyMax) {
    for (const auto& h : heads) {
      bool top = h.value.is_bool() ? h.value.as_bool()
                                   : (!f.values.empty() && h.value.is_string() && h.value.as_string() == f.values.back());
      if (top) return def_->escalation_role;
    }
  }
  if (f.escalate_conflicts) return def_->escalation_role;
  if (!def_->value_conflict_role.empty()) return def_->value_conflict_role;
  return def_->conflict_role;
}

std::vector<Conflict> EntityMerge::conflicts() const {
  std::vector<Conflict> out;
  auto base = [&](const std::string& field, ConflictKind kind, MergeClass merge, const std::string& key) {
    Conflict c;
    c.id = "c-" + fnv64(id_ + '\x1f' + field + '\x1f' + key);
    c.family = family_;
    c.entity_type = def_->name;
    c.entity_id = id_;
    c.field = field;
    c.kind = kind;
    c.merge = merge;
    return c;
  };
  for (const auto& f : def_->fields) {
    auto it = heads_.find(f.name);
    if (it == heads_.end() || it->second.size() < 2 || distinct_values(it->second) < 2) continue;
    ConflictKind kind;
    switch (f.merge) {
      case MergeClass::LwwNotify: kind = ConflictKind::Notify; break;
      case MergeClass::SafetyMax: kind = ConflictKind::Confirm; break;
      case MergeClass::MultiValueReview: kind = ConflictKind::Review; break;
      default: continue;  // LWW_SILENT keeps history only; others never have concurrent heads
    }
    std::string key;
    for (const auto& h : it->second) key += h.id.to_string() + ",";
    Conflict c = base(f.name, kind, f.merge, key);
    if (acknowledged_.count(c.id)) continue;
    for (const auto& h : it->second) c.values.push_back(ConflictValue{h.value, h.id, h.author, h.hlc});
    if (kind != ConflictKind::Review) c.auto_applied = shown(f, it->second)->value;
    c.assignee_role = assignee_for(f, it->second);
    out.push_back(std::move(c));
  }
  if (def_->lifecycle) {
    const FieldDef* status_field = def_->field(def_->lifecycle->field);
    for (const Intent* in : replay().rejected) {
      Conflict c = base(def_->lifecycle->field, ConflictKind::RejectedIntent, MergeClass::ServerAuthority, in->id.to_string());
      if (acknowledged_.count(c.id)) continue;
      c.values.push_back(ConflictValue{Value(in->to), in->id, in->author, in->hlc});
      const auto& escalated = def_->lifecycle->escalated_targets;
      bool escalate = status_field && std::find(escalated.begin(), escalated.end(), in->to) != escalated.end();
      c.assignee_role = escalate ? def_->escalation_role : def_->conflict_role;
      c.detail = "transition " + in->from + " -> " + in->to + " was not applied: the record had moved on";
      out.push_back(std::move(c));
    }
  }
  for (const auto& d : deletes_) {
    if (std::includes(d.observed.begin(), d.observed.end(), ops_.begin(), ops_.end())) continue;
    Conflict c = base("", ConflictKind::DeleteCancelled, MergeClass::Append, d.id.to_string());
    if (acknowledged_.count(c.id)) continue;
    c.values.push_back(ConflictValue{Value("deleted"), d.id, d.author, d.hlc});
    c.assignee_role = def_->conflict_role;
    c.detail = "a delete raced edits its author had not seen; the record was kept";
    out.push_back(std::move(c));
  }
  return out;
}

std::string EntityMerge::field_json(const FieldDef& f) const {
  Value v = value(f.name);
  return v.is_null() ? std::string() : v.to_json();
}

std::string EntityMerge::multi_json(const FieldDef& f) const {
  auto it = heads_.find(f.name);
  if (it == heads_.end() || distinct_values(it->second) < 2) return {};
  JsonWriter w;
  w.begin_array();
  for (const auto& h : it->second) w.raw(h.value.to_json());
  w.end_array();
  return w.take();
}

Result<std::string> EntityMerge::render() const {
  RecordHeader h{id_, def_->name, family_, created_, created_by_, deleted()};
  return render_record(def_, h, [this](const FieldDef& f) -> Result<FieldJson> {
    return FieldJson{field_json(f), multi_json(f)};
  });
}

const char* to_string(ConflictKind k) {
  switch (k) {
    case ConflictKind::Review: return "REVIEW";
    case ConflictKind::Confirm: return "CONFIRM";
    case ConflictKind::Notify: return "NOTIFY";
    case ConflictKind::RejectedIntent: return "REJECTED_INTENT";
    case ConflictKind::DeleteCancelled: return "DELETE_CANCELLED";
  }
  return "?";
}

std::string Conflict::to_json() const {
  JsonWriter w;
  w.begin_object();
  w.key("id").string(id);
  w.key("family").string(family);
  w.key("entity_type").string(entity_type);
  w.key("entity_id").string(entity_id);
  w.key("field").string(field);
  w.key("kind").string(to_string(kind));
  w.key("merge_class").string(hearth::to_string(merge));
  w.key("values").begin_array();
  for (const auto& v : values) {
    w.begin_object();
    w.key("value").raw(v.value.to_json());
    w.key("op").string(v.op.to_string());
    w.key("device").string(v.op.device);
    w.key("author").string(v.author);
    w.key("hlc").string(v.hlc.to_string());
    w.end_object();
  }
  w.end_array();
  w.key("auto_applied").raw(auto_applied ? auto_applied->to_json() : "null");
  w.key("assignee_role").string(assignee_role);
  w.key("detail").string(detail);
  w.end_object();
  return w.take();
}

}  // namespace hearth::sync

namespace hearth::sync {

Result<std::string> Conflict::checked_json() const {
  std::string json = to_json();
  if (!is_valid_utf8(json))
    return make_error(ErrorCode::corrupt, "conflict " + id + " on record " + entity_id + " field " + field +
                                              ": the stored value cannot be shown (text that is not valid UTF-8)");
  return json;
}

}  // namespace hearth::sync
