#include "tasks.hpp"

#include <cctype>

#include "hearth/core/civil_time.hpp"
#include "hearth/platform/encoding.hpp"

namespace hearth::server {

namespace {

constexpr const char* kTeamManager = "TEAM_MANAGER";  // Practitioner.system_roles (DOMAIN.md §3.2)
constexpr const char* kIgOfficer = "IG_OFFICER";

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string task_id(const std::string& family, const TaskSpec& spec) {
  // The separator cannot occur in either id (ids are printable, without control characters).
  const std::string key = spec.about + '\x1f' + spec.assignee;
  return family + "/task/" + lower(spec.type) + "/" + platform::sha256_hex(key).substr(0, 16);
}

bool task_exists(const sync::Materialiser& merged, const std::string& id) { return merged.entity(id) != nullptr; }

AuthorityEdit task_edit(const std::string& family, const TaskSpec& spec) {
  FieldValues fields{{"task_type", spec.type},
                     {"assignee", spec.assignee},
                     {"due_at", civil::format_datetime(spec.due_at_ms)},
                     {"status", "OPEN"}};
  if (!spec.about.empty()) fields["about"] = spec.about;
  if (!spec.detail.empty()) fields["detail"] = spec.detail;
  return AuthorityEdit::create("Task", task_id(family, spec), std::move(fields));
}

bool raise_task(const sync::Materialiser& merged, const std::string& family, const TaskSpec& spec,
                std::vector<AuthorityEdit>& edits) {
  // A schema without Task records (the peers' benchmark schema) raises none.
  if (spec.assignee.empty() || !merged.schema().entity("Task")) return false;
  const std::string id = task_id(family, spec);
  if (task_exists(merged, id)) return false;
  for (const auto& e : edits)
    if (e.kind == AuthorityEdit::Kind::create && e.entity_id == id) return false;
  edits.push_back(task_edit(family, spec));
  return true;
}

access::LeadInfo lead_of(const Schema& schema, const access::FamilyFacts& family, int64_t now_ms) {
  return access::lead_of(schema, family, now_ms);
}

Result<std::string> manager_for(ServiceContext& ctx, const Schema& schema, const access::FamilyFacts& family) {
  access::LeadInfo lead = access::lead_of(schema, family, ctx.now());
  std::vector<std::string> organisations;
  if (!lead.agency.empty()) organisations.push_back(lead.agency);
  if (!lead.practitioner.empty()) {
    auto own = ctx.store.caseload().organisation_of(lead.practitioner);
    if (own && *own != lead.agency) organisations.push_back(*own);
  }
  organisations.push_back("");  // any manager at all, before none
  for (const auto& org : organisations) {
    auto managers = ctx.store.caseload().practitioners_with_role(kTeamManager, org);
    if (!managers) return managers.error();
    if (!managers->empty()) return managers->front();
  }
  return std::string();
}

Result<std::vector<std::string>> ig_officers(ServiceContext& ctx) {
  return ctx.store.caseload().practitioners_with_role(kIgOfficer, "");
}

Result<TenantConfig> tenant_config(ServiceContext& ctx) { return ctx.store.settings().current(); }

}  // namespace hearth::server
