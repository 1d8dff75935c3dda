#pragma once
// One well-formed op of each kind, with every field set: the encoding tests round-trip it and
// the fuzz targets start their corpus from it.
#include "hearth/core/text.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::test {

inline sync::Op sample_op(sync::OpKind kind) {
  using sync::OpId;
  sync::Op op;
  op.id = OpId{"dev-a", 42};
  op.hlc = sync::Hlc{1767225600123ull, 9};
  op.author = "hv-1";
  op.family = "fam-1";
  op.entity_type = "Person";
  op.entity_id = "p-1";
  op.kind = kind;
  op.field = "given_names";
  op.value = Value("Ünïcödé \"quoted\"\n");
  op.fields = {{"a", Value(true)}, {"b", Value(int64_t{-5})}, {"c", Value(StringList{"x", "y"})}, {"d", Value()}};
  op.refs = {OpId{"dev-b", 1}, OpId{"dev-c", kMaxOpCounter}};
  op.text = "IN_PROGRESS";
  return op;
}

}  // namespace hearth::test
