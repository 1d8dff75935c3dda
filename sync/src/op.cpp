#include "hearth/sync/op.hpp"

#include "hearth/core/text.hpp"

namespace hearth::sync {

const char* to_string(OpKind kind) {
  switch (kind) {
    case OpKind::Create: return "create";
    case OpKind::Set: return "set";
    case OpKind::Add: return "add";
    case OpKind::Remove: return "remove";
    case OpKind::Transition: return "transition";
    case OpKind::Delete: return "delete";
    case OpKind::Acknowledge: return "acknowledge";
    case OpKind::Restamp: return "restamp";
  }
  return "unknown";
}

namespace {

Result<void> check_op_id(const std::string& what, const OpId& id) {
  if (auto r = check_id(what + " device", id.device); !r) return r;
  if (id.counter == 0 || id.counter > kMaxOpCounter)
    return make_error(ErrorCode::validation, what + " counter " + std::to_string(id.counter) + " is outside 1.." +
                                                 std::to_string(kMaxOpCounter));
  return {};
}

Result<void> check_value(const std::string& what, const Value& v) {
  if (v.is_string()) return check_utf8(what, v.as_string());
  if (v.is_list()) {
    const auto& list = v.as_list();
    for (size_t i = 0; i < list.size(); ++i)
      if (auto r = check_utf8(what + " element " + std::to_string(i + 1), list[i]); !r) return r;
  }
  return {};
}

}  // namespace

Result<void> check_well_formed(const Op& op) {
  // The op's own id first: every later message names it, so it must be printable.
  if (auto r = check_op_id("op id", op.id); !r) return r;
  const std::string where = "op " + op.id.to_string() + ": ";
  auto named = [&](const Result<void>& r) -> Result<void> {
    if (r) return r;
    return make_error(r.error().code, where + r.error().message);
  };
  if (op.hlc.wall_ms > kMaxWallMs)
    return make_error(ErrorCode::validation, where + "stamp " + std::to_string(op.hlc.wall_ms) +
                                                 " ms is after the year 9999");
  if (!op.author.empty())  // the server checks it is the device's practitioner
    if (auto r = check_id("author", op.author); !r) return named(r);
  if (!op.family.empty())
    if (auto r = check_id("family", op.family); !r) return named(r);
  if (!is_valid_name(op.entity_type))
    return make_error(ErrorCode::validation, where + "entity type '" + printable(op.entity_type) + "' is not a schema name");
  if (auto r = check_id(op.entity_type + " id", op.entity_id); !r) return named(r);
  const std::string record = op.entity_type + " " + op.entity_id;
  if (!op.field.empty() && !is_valid_name(op.field))
    return make_error(ErrorCode::validation, where + record + ": field name '" + printable(op.field) + "' is not a schema name");
  if (auto r = check_value(record + " field " + op.field, op.value); !r) return named(r);
  for (const auto& [name, value] : op.fields) {
    if (!is_valid_name(name))
      return make_error(ErrorCode::validation, where + record + ": field name '" + printable(name) + "' is not a schema name");
    if (auto r = check_value(record + " field " + name, value); !r) return named(r);
  }
  for (size_t i = 0; i < op.refs.size(); ++i)
    if (auto r = check_op_id("ref " + std::to_string(i + 1), op.refs[i]); !r) return named(r);
  if (auto r = check_utf8(record + " text", op.text); !r) return named(r);
  return {};
}

}  // namespace hearth::sync
