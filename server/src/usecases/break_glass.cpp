#include "break_glass.hpp"

#include "authority_write.hpp"
#include "hearth/core/civil_time.hpp"
#include "hearth/platform/encoding.hpp"
#include "tasks.hpp"

namespace hearth::server {

namespace {

constexpr size_t kReasonBytes = 2000;

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

}  // namespace

Result<BreakGlassGrantInfo> break_glass(ServiceContext& ctx, const BreakGlassRequest& q) {
  auto known = ctx.store.caseload().practitioner_exists(q.practitioner);
  if (!known) return known.error();
  if (!*known) return make_error(ErrorCode::not_found, "no practitioner '" + q.practitioner + "'");
  auto merged = ctx.cache.get(q.family);
  if (!merged) return merged.error();
  if ((*merged)->entities(q.family).empty())
    return make_error(ErrorCode::not_found, "family: this server holds no records of family '" + q.family + "'");
  const EntityDef* def = (*merged)->schema().entity("BreakGlassGrant");
  const FieldDef* code = def ? def->field("reason_code") : nullptr;
  if (!code) return make_error(ErrorCode::invalid_argument, "this server's schema has no BreakGlassGrant.reason_code");
  if (!code->allows(q.reason_code))
    return make_error(ErrorCode::invalid_argument,
                      "reason code '" + q.reason_code + "' is not defined; use one of: " + joined(code->values));
  if (q.reason.empty() || q.reason.size() > kReasonBytes)
    return make_error(ErrorCode::invalid_argument, "the reason must be 1 to 2000 bytes of text");
  auto member = ctx.store.caseload().membership(q.family, q.practitioner);
  if (!member) return member.error();
  if (*member && !(*member)->removed_at)
    return make_error(ErrorCode::conflict, q.practitioner + " is on the team of family " + q.family +
                                               " and has access already; break-glass is for practitioners outside it");
  auto grants = ctx.store.due().grants_of(q.family);
  if (!grants) return grants.error();
  const int64_t now = ctx.now();
  for (const auto& g : *grants)
    if (g.practitioner == q.practitioner && !g.ended_at && g.expires_at > now)
      return make_error(ErrorCode::conflict, q.practitioner + " holds break-glass grant " + g.id + " for family " +
                                                 q.family + " until " + civil::format_datetime(g.expires_at));
  auto config = tenant_config(ctx);
  if (!config) return config.error();

  BreakGlassGrantInfo info;
  info.expires_at = now + config->break_glass_ms();
  info.grant_id = q.family + "/break-glass/" +
                  platform::sha256_hex(q.practitioner + '\x1f' + std::to_string(now)).substr(0, 16);
  // Tasks reach the whole team: the summary names the grant and the reason code, never the
  // free-text reason (the reviewers read it on the grant).
  const std::string summary = q.practitioner + " broke glass on family " + q.family + " (" + q.reason_code +
                              "; the reason is on " + info.grant_id + "), until " + civil::format_datetime(info.expires_at);

  AuthorityWrite grant;
  grant.family = q.family;
  grant.author = q.practitioner;  // the grant is the practitioner's own (§7)
  grant.action = "break-glass";
  grant.detail = q.practitioner + " (" + q.reason_code + "), grant " + info.grant_id + " until " +
                 civil::format_datetime(info.expires_at);
  grant.plan = [q, info, now](ServiceContext&, const sync::Materialiser&) -> Result<std::vector<AuthorityEdit>> {
    return std::vector<AuthorityEdit>{AuthorityEdit::create(
        "BreakGlassGrant", info.grant_id,
        FieldValues{{"practitioner", q.practitioner},
                    {"reason_code", q.reason_code},
                    {"reason", q.reason},
                    {"granted_at", civil::format_datetime(now)},
                    {"expires_at", civil::format_datetime(info.expires_at)}})};
  };

  // A manager and every IG officer review it (DOMAIN.md §7), by the next working day.
  const access::FamilyFacts* facts = ctx.cache.facts(q.family);
  if (!facts) return make_error(ErrorCode::storage, "family " + q.family + " left the cache while in use");
  auto manager = manager_for(ctx, (*merged)->schema(), *facts);
  if (!manager) return manager.error();
  auto officers = ig_officers(ctx);
  if (!officers) return officers.error();
  std::vector<std::string> reviewers;
  if (!manager->empty()) reviewers.push_back(*manager);
  for (const auto& o : *officers)
    if (o != *manager && o != q.practitioner) reviewers.push_back(o);
  if (reviewers.empty()) {
    // The directory names no manager and no IG officer: the lead professional reviews it rather
    // than nobody, and the audit trail says so (DOMAIN.md §7: every break-glass is reviewed).
    access::LeadInfo lead = access::lead_of((*merged)->schema(), *facts, now);
    if (!lead.practitioner.empty() && lead.practitioner != q.practitioner) reviewers.push_back(lead.practitioner);
    ctx.audit(nullptr, "task-unassigned", q.family,
              "break-glass " + info.grant_id + ": no TEAM_MANAGER or IG_OFFICER in the directory; " +
                  (reviewers.empty() ? std::string("nobody to review it") : "reviewed by the lead professional " + reviewers.front()));
  }
  AuthorityWrite review;
  review.family = q.family;
  review.author = kOfficeAuthor;
  review.action = "task-raised";
  review.detail = "break-glass review of " + info.grant_id + " for " + joined(reviewers);
  const int64_t due = config->add_working_days(now, 1);
  review.plan = [q, info, reviewers, due, summary](ServiceContext&,
                                                  const sync::Materialiser& m) -> Result<std::vector<AuthorityEdit>> {
    std::vector<AuthorityEdit> edits;
    for (const auto& r : reviewers)
      raise_task(m, q.family, TaskSpec{task_type::kBreakGlassReview, r, due, info.grant_id, summary}, edits);
    return edits;
  };
  auto written = authority_write(ctx, {grant, review});
  if (!written) return written.error();
  info.reviewers = reviewers;
  return info;
}

}  // namespace hearth::server
