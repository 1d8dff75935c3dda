#include "hearth/sync/access_intent.hpp"

namespace hearth::sync {

access::WriteIntent intent_of(const Op& op) {
  using Kind = access::WriteIntent::Kind;
  access::WriteIntent w;
  w.entity_type = op.entity_type;
  w.entity_id = op.entity_id;
  switch (op.kind) {
    case OpKind::Create:
      w.kind = Kind::create;
      w.fields = op.fields;
      break;
    case OpKind::Set:
      w.kind = Kind::set;
      break;
    case OpKind::Add:
      w.kind = Kind::add;
      break;
    case OpKind::Remove:
      w.kind = Kind::remove;
      break;
    case OpKind::Transition:
      w.kind = Kind::transition;
      break;
    case OpKind::Delete:
      w.kind = Kind::remove_record;
      break;
    case OpKind::Acknowledge:
      w.kind = Kind::acknowledge;
      break;
    case OpKind::Restamp:
      w.kind = Kind::set;  // no field: only the office may (access.cpp)
      return w;
  }
  if (op.kind != OpKind::Create && op.kind != OpKind::Delete && op.kind != OpKind::Acknowledge) {
    w.field = op.field;
    w.value = op.value;
  }
  return w;
}

access::FamilyFacts family_facts(const Materialiser& m, const std::string& family) {
  access::FamilyFacts facts;
  facts.family = family;
  for (const EntityMerge* e : m.entities(family)) {
    if (!e->created() || e->deleted()) continue;
    access::RecordFacts r;
    r.type = e->def().name;
    r.id = e->id();
    r.fields = e->values();
    r.created_by = e->created_by();
    facts.records.push_back(std::move(r));
  }
  return facts;
}

}  // namespace hearth::sync
