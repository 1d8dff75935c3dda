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

access::RecordFacts record_facts(const EntityMerge& e) {
  return access::RecordFacts{e.def().name, e.id(), e.values(), e.created_by()};
}

access::FamilyFacts family_facts(const Materialiser& m, const std::string& family) {
  access::FamilyFacts facts;
  facts.family = family;
  for (const EntityMerge* e : m.entities(family))
    if (e->created() && !e->deleted()) facts.records.push_back(record_facts(*e));
  return facts;
}

}  // namespace hearth::sync
