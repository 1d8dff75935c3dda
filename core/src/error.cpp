#include "hearth/core/error.hpp"

namespace hearth {

const char* to_string(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "invalid argument";
    case ErrorCode::validation: return "validation";
    case ErrorCode::lifecycle: return "lifecycle";
    case ErrorCode::not_found: return "not found";
    case ErrorCode::corrupt: return "corrupt";
    case ErrorCode::storage: return "storage";
    case ErrorCode::conflict: return "conflict";
    case ErrorCode::clock: return "clock";
    case ErrorCode::locked: return "locked";
    case ErrorCode::network: return "network";
    case ErrorCode::too_large: return "too large";
    case ErrorCode::revoked: return "revoked";
    case ErrorCode::expired: return "expired";
    case ErrorCode::not_enrolled: return "not enrolled";
    case ErrorCode::forbidden: return "forbidden";
  }
  return "unknown";
}

std::string Error::describe() const { return std::string(to_string(code)) + ": " + message; }

}  // namespace hearth
