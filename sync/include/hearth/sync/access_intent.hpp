#pragma once
// The sync side of the access policy (core/access.hpp): an op as the policy's WriteIntent, and
// a materialised family as the policy's FamilyFacts. Names no entity or field of the domain.
// Thread-safety: pure functions over their arguments (the materialiser is only read).
#include <string>

#include "hearth/core/access.hpp"
#include "hearth/sync/materialiser.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::sync {

// The write an op makes: Create -> create (its fields), Set -> set, Add -> add, Remove ->
// remove (the element in `value`), Transition -> transition (the status field, the target
// state in `value`), Delete -> remove_record, Acknowledge -> acknowledge. A Restamp is the
// authority's own op (docs/change-log.md): it maps to a set of no field, which the policy
// allows only the office.
access::WriteIntent intent_of(const Op& op);

// One record as the policy reads it: its type, id, shown values and creator.
access::RecordFacts record_facts(const EntityMerge& e);
// The live records of `family` (created and not deleted) with their shown values and the
// practitioner whose op created each, in id order. FamilyFacts::organisation_of is left empty:
// the caller fills it from its directory.
access::FamilyFacts family_facts(const Materialiser& m, const std::string& family);

}  // namespace hearth::sync
