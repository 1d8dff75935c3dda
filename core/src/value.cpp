#include "hearth/core/value.hpp"

#include "hearth/core/json_writer.hpp"
#include "hearth/core/text.hpp"

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
    return "'" + printable(as_string(), 40) + "'";
  }
  return to_json();
}

}  // namespace hearth
