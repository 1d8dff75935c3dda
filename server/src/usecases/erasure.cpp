#include "erasure.hpp"

#include <algorithm>

#include "hearth/core/civil_time.hpp"
#include "hearth/core/text.hpp"
#include "record_values.hpp"

namespace hearth::server {

namespace {

constexpr int64_t kDayMs = 24LL * 3600 * 1000;

// "admin", or a practitioner with the IG_OFFICER role (DOMAIN.md §7: erasure is an IG decision).
Result<void> check_ig(ServiceContext& ctx, const std::string& by, const char* what) {
  if (by == "admin") return {};
  auto profile = ctx.store.caseload().practitioner(by);
  if (!profile) return profile.error();
  if (profile->role != "IG_OFFICER")
    return make_error(ErrorCode::forbidden, std::string(what) + " is an information governance decision: " + by +
                                                " has the role " + profile->role + ", not IG_OFFICER");
  return {};
}

// A reference kept readable in the register or a hold: one line of text, no control characters.
Result<void> check_note(const char* name, const std::string& text) {
  if (text.empty() || text.size() > 200)
    return make_error(ErrorCode::invalid_argument, std::string(name) + " must be 1 to 200 bytes");
  for (char ch : text)
    if (auto c = static_cast<unsigned char>(ch); c < 0x20 || c == 0x7f)
      return make_error(ErrorCode::invalid_argument, std::string(name) + " must be one line without control characters");
  return check_utf8(name, text);
}

// The date `years` after a Date "YYYY-MM-DD", as ms (29 February becomes 1 March).
std::optional<int64_t> years_after(const std::string& date, int years) {
  auto ymd = civil::parse_date(date.substr(0, 10));
  if (!ymd) return std::nullopt;
  int64_t day = civil::days_from_civil(ymd->y + years, ymd->m, 1) + ymd->d - 1;
  return day * kDayMs;
}

}  // namespace

Result<ErasureReport> erase_family(ServiceContext& ctx, const ErasureRequest& r) {
  if (std::find(erasure_bases().begin(), erasure_bases().end(), r.basis) == erasure_bases().end())
    return make_error(ErrorCode::invalid_argument,
                      "basis '" + r.basis + "' is not one of OPENED_IN_ERROR, APPROVED_ERASURE, RETENTION_EXPIRED "
                                            "(DOMAIN.md §10.3)");
  if (auto ok = check_note("reference", r.reference); !ok) return ok.error();
  if (auto ok = check_ig(ctx, r.by, "erasure"); !ok) return ok.error();
  ServerKeys& keys = ctx.store.keys();
  auto gone = keys.erased(r.family);
  if (!gone) return gone.error();
  auto known = ctx.store.ops().family_has_ops(r.family);
  if (!known) return known.error();
  ErasureReport report;
  if (*gone) {
    // Run again after its rows could not be deleted: finish the job (step 4 only).
    if (!*known) return make_error(ErrorCode::conflict, "family " + r.family + " was erased already");
    report.resumed = true;
  } else {
    if (!*known) return make_error(ErrorCode::not_found, "this server holds no records of family '" + r.family + "'");
    auto hold = keys.hold(r.family);  // checked again where the key is destroyed (keyring.cpp)
    if (!hold) return hold.error();
    if (*hold)
      return make_error(ErrorCode::forbidden, "family " + r.family + " is under a legal hold (" + (*hold)->reason +
                                                  ", placed by " + (*hold)->by + "): lift it first (DOMAIN.md §10.1)");
  }
  auto team = ctx.store.caseload().team_of(r.family);
  if (!team) return team.error();
  report.team = *team;

  // 3. The key first: from here nothing of the family can be read, in any copy.
  if (!report.resumed)
    if (auto e = keys.erase(Erasure{r.family, ctx.now(), r.by, r.basis, r.reference}); !e) return e.error();
  ctx.cache.forget(r.family);
  // 4. The rows, the team's feeds (their devices' next pull sends the purge instruction) and the
  // audit event, in one transaction. The event is in the server chain: the family's own chain
  // is sealed under the key just destroyed (its earlier events stay, unreadable, verifiable).
  auto deleted = ctx.store.transaction([&]() -> Result<void> {
    if (auto locked = ctx.locks.lock(r.family); !locked) return locked;  // no push of it meanwhile
    auto any = ctx.store.delete_family(r.family);
    if (!any) return any.error();
    report.rows_deleted = *any;
    for (const auto& p : report.team)
      if (auto b = ctx.store.caseload().bump_feed(p); !b) return b;
    return ctx.store.audit().append(AuditEvent{
        ctx.now(), r.by, "", report.resumed ? "erase-family-finished" : "erase-family", "",
        "family " + r.family + ": " + r.basis + " (" + r.reference + ") by " + r.by + "; key destroyed, rows " +
            (report.rows_deleted ? "deleted" : "none") + "; devices of " + std::to_string(report.team.size()) +
            " team members told to purge it"});
  });
  if (!deleted)
    return make_error(deleted.error().code,
                      "family " + r.family + "'s key was destroyed and it is in the erasure register, but deleting its "
                      "rows failed (" + deleted.error().message + "); they cannot be read. Run the same erase-family "
                      "again to finish (hearth-server also finishes it at its next start)");
  return report;
}

Result<std::vector<std::string>> apply_erasure_register(Storage& store, int64_t now_ms, bool in_transaction) {
  auto erased = store.keys().erasures();
  if (!erased) return erased.error();
  std::vector<std::string> found;
  auto body = [&]() -> Result<void> {
    for (const auto& e : *erased) {
      auto any = store.delete_family(e.family);
      if (!any) return any.error();
      if (*any) {
        found.push_back(e.family);
        if (auto a = store.audit().append(AuditEvent{now_ms, "server", "", "erasure-applied", "",
                                                     "family " + e.family + " (erased " + e.basis + ") had rows here: deleted"});
            !a)
          return a;
      }
    }
    return {};
  };
  auto done = in_transaction ? body() : store.transaction(body);
  if (!done) return done.error();
  return found;
}

Result<void> place_legal_hold(ServiceContext& ctx, const std::string& family, const std::string& by,
                              const std::string& reason) {
  if (auto ok = check_note("reason", reason); !ok) return ok.error();
  if (auto ok = check_ig(ctx, by, "a legal hold"); !ok) return ok.error();
  auto gone = ctx.store.keys().erased(family);
  if (!gone) return gone.error();
  if (*gone) return make_error(ErrorCode::conflict, "family " + family + " was erased already");
  auto known = ctx.store.ops().family_has_ops(family);
  if (!known) return known.error();
  if (!*known) return make_error(ErrorCode::not_found, "this server holds no records of family '" + family + "'");
  auto current = ctx.store.keys().hold(family);
  if (!current) return current.error();
  if (*current)
    return make_error(ErrorCode::conflict, "family " + family + " is already under a legal hold (" + (*current)->reason +
                                               ", placed by " + (*current)->by + "); lift it first to replace it");
  if (auto h = ctx.store.keys().set_hold(LegalHold{family, ctx.now(), by, reason}); !h) return h;
  return ctx.store.audit().append(AuditEvent{ctx.now(), by, "", "legal-hold", "", "family " + family + ": " + reason});
}

Result<bool> lift_legal_hold(ServiceContext& ctx, const std::string& family, const std::string& by) {
  if (auto ok = check_ig(ctx, by, "lifting a legal hold"); !ok) return ok.error();
  auto lifted = ctx.store.keys().lift_hold(family);
  if (!lifted) return lifted.error();
  if (*lifted)
    if (auto a = ctx.store.audit().append(AuditEvent{ctx.now(), by, "", "legal-hold-lifted", "", "family " + family}); !a)
      return a.error();
  return *lifted;
}

Result<std::vector<RetentionDue>> retention_due(ServiceContext& ctx, int64_t now_ms, size_t max_families) {
  auto config = ctx.store.settings().current();
  if (!config) return config.error();
  auto families = ctx.store.ops().families();
  if (!families) return families.error();
  std::vector<RetentionDue> out;
  size_t read = 0;
  for (const auto& family : *families) {
    if (++read > max_families) break;
    auto merged = ctx.cache.get(family);
    if (!merged) return make_error(merged.error().code, "family " + family + ": " + merged.error().message);
    bool any_episode = false, all_closed = true;
    std::optional<int64_t> youngest_until, closed_until;
    for (const auto* e : (*merged)->entities(family)) {
      if (e->deleted()) continue;
      const std::string& type = e->def().name;
      if (type == "EarlyHelpEpisode") {
        any_episode = true;
        if (e->status() != "CLOSED") all_closed = false;
        if (auto until = years_after(text_of(*e, "closed_at"), config->retention_unborn_years()))
          closed_until = std::max(closed_until.value_or(0), *until);
      } else if (type == "Person") {
        if (auto until = years_after(text_of(*e, "date_of_birth"), config->retention_age_years()))
          youngest_until = std::max(youngest_until.value_or(0), *until);
      }
    }
    if (!any_episode || !all_closed) continue;
    RetentionDue due{family, 0, "", std::nullopt};
    if (youngest_until) {
      due.retain_until_ms = *youngest_until;
      due.rule = "youngest person reaches " + std::to_string(config->retention_age_years());
    } else if (closed_until) {
      due.retain_until_ms = *closed_until;
      due.rule = "no date of birth: " + std::to_string(config->retention_unborn_years()) + " years after closure";
    } else {
      continue;  // closed without a closure date: nothing to count from
    }
    if (due.retain_until_ms > now_ms) continue;
    auto hold = ctx.store.keys().hold(family);
    if (!hold) return hold.error();
    due.hold = *hold;
    out.push_back(std::move(due));
  }
  return out;
}

}  // namespace hearth::server
