#include "hearth/core/lifecycle.hpp"

namespace hearth {

namespace {
std::string join(const std::vector<std::string>& v) {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
  return out.empty() ? "none" : out;
}
}  // namespace

Result<void> check_transition(const EntityDef& entity, const std::string& from, const std::string& to,
                              const FieldValues& current) {
  if (!entity.lifecycle)
    return make_error(ErrorCode::lifecycle, entity.name + " has no lifecycle; it cannot change state");
  const Lifecycle& lc = *entity.lifecycle;
  const FieldDef* status = entity.field(lc.field);
  if (status && !status->allows(to))
    return make_error(ErrorCode::lifecycle,
                      entity.name + "." + lc.field + ": '" + to + "' is not a state of " + entity.name);
  if (!lc.allows(from, to))
    return make_error(ErrorCode::lifecycle, entity.name + ": transition " + from + " -> " + to +
                                                " is not allowed (allowed from " + from + ": " +
                                                join(lc.targets_from(from)) + ")");
  for (const auto& f : entity.fields) {
    for (const auto& state : f.required_before) {
      if (state != to) continue;
      auto it = current.find(f.name);
      bool missing = it == current.end() || it->second.is_null() ||
                     (it->second.is_list() && it->second.as_list().empty());
      if (missing)
        return make_error(ErrorCode::lifecycle, entity.name + ": transition " + from + " -> " + to + " needs " +
                                                    entity.name + "." + f.name + " to be set first");
    }
  }
  return {};
}

}  // namespace hearth
