#include "team_index.hpp"

#include <algorithm>
#include <map>
#include <set>

#include "record_values.hpp"

namespace hearth::server {

namespace {

bool closed(const sync::EntityMerge& e) {
  const auto& lifecycle = e.def().lifecycle;
  if (!lifecycle) return false;
  const auto& terminal = lifecycle->terminal;
  return std::find(terminal.begin(), terminal.end(), e.status()) != terminal.end();
}

}  // namespace

bool changes_team(const sync::Op& op) {
  if (op.entity_type == "TeamMember") return true;
  if (op.entity_type != "EarlyHelpEpisode") return false;
  switch (op.kind) {
    case sync::OpKind::Create:
    case sync::OpKind::Transition:
    case sync::OpKind::Delete:
    case sync::OpKind::Restamp: return true;
    case sync::OpKind::Set: return op.field == "lead_professional";
    default: return false;
  }
}

std::vector<RecordedMember> team_from_records(const sync::Materialiser& merged, const std::string& family) {
  struct Recorded {
    bool current = false;
    bool lead_role = false;
  };
  std::map<std::string, Recorded> members;
  std::set<std::string> episode_leads;
  for (const sync::EntityMerge* e : merged.entities(family)) {
    if (!e->created() || e->deleted()) continue;
    const std::string& type = e->def().name;
    if (type == "TeamMember") {
      std::string who = text_of(*e, "practitioner");
      if (who.empty()) continue;
      bool current = e->value("left_at").is_null() && text_of(*e, "access_scope") != "NONE";
      Recorded& r = members[who];
      // Two records naming one practitioner (ids made by hand): on the team if either says so.
      r.current = r.current || current;
      r.lead_role = r.lead_role || (current && text_of(*e, "team_role") == "LEAD_PROFESSIONAL");
    } else if (type == "EarlyHelpEpisode" && !closed(*e)) {
      std::string lead = text_of(*e, "lead_professional");
      if (!lead.empty()) episode_leads.insert(lead);
    }
  }
  std::vector<RecordedMember> out;
  for (const auto& [who, r] : members) {
    bool lead = episode_leads.empty() ? r.lead_role : (r.current && episode_leads.count(who) != 0);
    out.push_back(RecordedMember{who, r.current, lead});
  }
  for (const auto& who : episode_leads)
    if (!members.count(who)) out.push_back(RecordedMember{who, true, true});
  std::sort(out.begin(), out.end(),
            [](const RecordedMember& a, const RecordedMember& b) { return a.practitioner < b.practitioner; });
  return out;
}

Result<std::vector<std::string>> reindex_team(ServiceContext& ctx, const std::string& family) {
  auto merged = ctx.cache.get(family);
  if (!merged) return merged.error();
  return ctx.store.caseload().reconcile_team(family, team_from_records(**merged, family), ctx.now());
}

}  // namespace hearth::server
