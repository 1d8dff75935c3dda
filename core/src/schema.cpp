#include "hearth/core/schema.hpp"

#include <algorithm>

namespace hearth {

const char* to_string(FieldType t) {
  switch (t) {
    case FieldType::String: return "String";
    case FieldType::Text: return "Text";
    case FieldType::Date: return "Date";
    case FieldType::DateTime: return "DateTime";
    case FieldType::Bool: return "Bool";
    case FieldType::Int: return "Int";
    case FieldType::Enum: return "Enum";
    case FieldType::Ref: return "Ref";
    case FieldType::EnumSet: return "List<Enum>";
    case FieldType::RefSet: return "List<Ref>";
    case FieldType::StringSet: return "List<String>";
  }
  return "?";
}

const char* to_string(Requirement r) {
  switch (r) {
    case Requirement::Required: return "R";
    case Requirement::RequiredBefore: return "R*";
    case Requirement::Conditional: return "C";
    case Requirement::Optional: return "O";
  }
  return "?";
}

const char* to_string(Sensitivity s) {
  switch (s) {
    case Sensitivity::T0: return "T0";
    case Sensitivity::T1: return "T1";
    case Sensitivity::T2: return "T2";
    case Sensitivity::T3: return "T3";
  }
  return "?";
}

const char* to_string(MergeClass m) {
  switch (m) {
    case MergeClass::Append: return "APPEND";
    case MergeClass::SetAddWins: return "SET_ADD_WINS";
    case MergeClass::LwwSilent: return "LWW_SILENT";
    case MergeClass::LwwNotify: return "LWW_NOTIFY";
    case MergeClass::SafetyMax: return "SAFETY_MAX";
    case MergeClass::MultiValueReview: return "MULTI_VALUE_REVIEW";
    case MergeClass::ServerAuthority: return "SERVER_AUTHORITY";
  }
  return "?";
}

const char* to_string(Audience a) {
  switch (a) {
    case Audience::team: return "TEAM";
    case Audience::lead_and_managers: return "LEAD_AND_MANAGERS";
  }
  return "?";
}

const char* to_string(ConsentArea a) {
  switch (a) {
    case ConsentArea::episode: return "EPISODE";
    case ConsentArea::assessment: return "ASSESSMENT";
    case ConsentArea::plan: return "PLAN";
  }
  return "?";
}

bool is_set_type(FieldType t) {
  return t == FieldType::EnumSet || t == FieldType::RefSet || t == FieldType::StringSet;
}

bool FieldDef::allows(const std::string& v) const {
  return std::find(values.begin(), values.end(), v) != values.end();
}

int FieldDef::protective_rank(const std::string& v) const {
  auto it = std::find(values.begin(), values.end(), v);
  return it == values.end() ? -1 : static_cast<int>(it - values.begin());
}

bool Lifecycle::allows(const std::string& from, const std::string& to) const {
  bool from_terminal = std::find(terminal.begin(), terminal.end(), from) != terminal.end();
  for (const auto& t : transitions) {
    if (t.to != to) continue;
    if (t.from == from) return true;
    if (t.from == "*" && !from_terminal && from != to) return true;
  }
  return false;
}

std::vector<std::string> Lifecycle::targets_from(const std::string& from) const {
  std::vector<std::string> out;
  for (const auto& t : transitions) {
    if (allows(from, t.to) && std::find(out.begin(), out.end(), t.to) == out.end()) out.push_back(t.to);
  }
  return out;
}

const FieldDef* EntityDef::field(const std::string& n) const {
  for (const auto& f : fields)
    if (f.name == n) return &f;
  return nullptr;
}

size_t EntityDef::field_index(const std::string& n) const {
  for (size_t i = 0; i < fields.size(); ++i)
    if (fields[i].name == n) return i;
  return fields.size();
}

void Schema::add(EntityDef def) {
  index_[def.name] = entities_.size();
  entities_.push_back(std::move(def));
}

const EntityDef* Schema::entity(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? nullptr : &entities_[it->second];
}

const SensitivityHandling& Schema::handling(Sensitivity cls) const {
  static const SensitivityHandling kNone[] = {{Sensitivity::T0}, {Sensitivity::T1}, {Sensitivity::T2}, {Sensitivity::T3}};
  auto it = handling_.find(cls);
  return it != handling_.end() ? it->second : kNone[static_cast<size_t>(cls)];
}

void Schema::set_handling(SensitivityHandling h) { handling_[h.cls] = h; }

std::optional<Sensitivity> Schema::sensitivity(const std::string& type, const std::string& field) const {
  const EntityDef* def = entity(type);
  const FieldDef* f = def ? def->field(field) : nullptr;
  if (!f) return std::nullopt;
  return f->sens;
}

}  // namespace hearth
