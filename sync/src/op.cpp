#include "hearth/sync/op.hpp"

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

}  // namespace hearth::sync
