#include "hearth/core/value.hpp"

#include "hearth/core/json_writer.hpp"

namespace hearth {

std::string Value::to_json() const {
  std::string out;
  switch (v_.index()) {
    case 0: return "null";
    case 1: return as_bool() ? "true" : "false";
    case 2: return std::to_string(as_int());
    case 3: append_json_string(out, as_string()); return out;
    default: {
      out.push_back('[');
      bool first = true;
      for (const auto& s : as_list()) {
        if (!first) out.push_back(',');
        first = false;
        append_json_string(out, s);
      }
      out.push_back(']');
      return out;
    }
  }
}

std::string Value::describe() const {
  if (is_string()) {
    const auto& s = as_string();
    return "'" + (s.size() > 40 ? s.substr(0, 40) + "..." : s) + "'";
  }
  return to_json();
}

}  // namespace hearth
