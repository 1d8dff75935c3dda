#include "due_events.hpp"

#include <algorithm>
#include <optional>

#include "accepted.hpp"
#include "authority_write.hpp"
#include "hearth/core/civil_time.hpp"
#include "record_values.hpp"
#include "tasks.hpp"

namespace hearth::server {

namespace {

constexpr int64_t kHourMs = int64_t{3600} * 1000;
constexpr int64_t kFeedbackDueMs = 24 * kHourMs;  // DOMAIN.md §3.7, K-04: the referrer told within 24 hours
constexpr int64_t kRetryAfterFailureMs = kHourMs;

std::optional<int64_t> time_of(const sync::EntityMerge& e, const std::string& field) {
  return civil::parse_ms(text_of(e, field));
}

// What one look at one family decided, before anything is written.
struct FamilyLook {
  std::vector<AuthorityEdit> raise, expire, escalate;
  std::vector<std::string> raised_lines, expired_lines, escalated_lines;
  std::optional<int64_t> next;  // the earliest time after now at which something falls due
  void consider(int64_t at, int64_t now) {
    if (at > now && (!next || at < *next)) next = at;
  }
};

// The plan states in which a review falls due (DOMAIN.md §4: the plan is in force).
bool plan_in_force(const std::string& status) {
  return status == "AGREED" || status == "ACTIVE" || status == "UNDER_REVIEW";
}

Result<void> look_at_records(ServiceContext& ctx, const std::string& family, const sync::Materialiser& merged,
                             const access::FamilyFacts& facts, const TenantConfig& config, int64_t now,
                             FamilyLook& look, DueReport& report) {
  const Schema& schema = merged.schema();
  const std::string lead = server::lead_of(schema, facts, now).practitioner;
  std::optional<std::string> manager;  // looked up once, when first needed
  auto raise = [&](const TaskSpec& spec, size_t& counter, const std::string& line) {
    if (raise_task(merged, family, spec, look.raise)) {
      ++counter;
      look.raised_lines.push_back(line + " (task for " + spec.assignee + ", due " + civil::format_datetime(spec.due_at_ms) + ")");
    }
  };
  for (const sync::EntityMerge* e : merged.entities(family)) {
    if (!e->created() || e->deleted()) continue;
    const std::string& type = e->def().name;
    if (type == "ConsentRecord") {
      auto expires = time_of(*e, "expires_at");
      if (text_of(*e, "status") != "ACTIVE" || !expires) continue;
      const int64_t notice = *expires - int64_t{config.consent_expiring_notice_days()} * civil::kDayMs;
      if (now >= notice && !lead.empty())
        raise(TaskSpec{task_type::kConsentExpiring, lead, *expires, e->id(),
                       "consent record " + e->id() + " expires at " + civil::format_datetime(*expires) +
                           ": renew it with the family or let it lapse (DOMAIN.md §6.7)"},
              report.consents_expiring, "consent " + e->id() + " expiring");
      look.consider(notice, now);
      if (now >= *expires) {
        look.expire.push_back(AuthorityEdit::set(e->id(), "status", std::string("EXPIRED")));
        look.expired_lines.push_back("consent " + e->id() + " expired at " + civil::format_datetime(*expires));
        ++report.consents_expired;
      } else {
        look.consider(*expires, now);
      }
    } else if (type == "BreakGlassGrant") {
      // Indexed when stored (accepted.cpp); again here for grants stored before the index.
      auto expires = time_of(*e, "expires_at");
      const std::string grantee = text_of(*e, "practitioner");
      if (!expires || grantee.empty()) continue;
      auto added = ctx.store.due().add_grant(GrantEntry{e->id(), family, grantee, *expires, std::nullopt});
      if (!added) return added.error();
    } else if (type == "Task") {
      auto due = time_of(*e, "due_at");
      if (text_of(*e, "status") != "OPEN" || !text_of(*e, "escalated_to").empty() || !due) continue;
      if (now < *due) {
        look.consider(*due, now);
        continue;
      }
      if (!manager) {
        auto m = manager_for(ctx, schema, facts);
        if (!m) return m.error();
        manager = *m;
      }
      const std::string assignee = text_of(*e, "assignee");
      if (manager->empty() || *manager == assignee) {  // nobody above the assignee yet: look again tomorrow
        look.consider(now + civil::kDayMs, now);
        continue;
      }
      look.escalate.push_back(AuthorityEdit::set(e->id(), "escalated_to", *manager));
      look.escalate.push_back(AuthorityEdit::set(e->id(), "escalated_at", datetime_of(now)));
      look.escalated_lines.push_back("task " + e->id() + " (" + text_of(*e, "task_type") + " for " + assignee +
                                     ", due " + text_of(*e, "due_at") + ") escalated to " + *manager);
      ++report.escalated;
    } else if (type == "FamilyPlan") {
      auto date = time_of(*e, "next_review_due");
      if (!plan_in_force(text_of(*e, "status")) || !date) continue;
      if (lead.empty()) {  // nobody to name yet: looked at again tomorrow (a team change marks no family due)
        look.consider(now + civil::kDayMs, now);
        continue;
      }
      const int64_t notice = *date - int64_t{kReviewNoticeDays} * civil::kDayMs;
      if (now < notice) {
        look.consider(notice, now);
        continue;
      }
      const std::string on = civil::format_date(civil::day_of(*date));
      raise(TaskSpec{task_type::kReviewDue, lead, *date, e->id() + "@" + on,
                     "the review of plan " + e->id() + " is due on " + on + " (DOMAIN.md §4)"},
            report.reviews_due, "review of plan " + e->id() + " due " + on);
    } else if (type == "Referral") {
      auto received = time_of(*e, "received_at");
      const bool has_referrer = !text_of(*e, "referrer").empty() || !text_of(*e, "referrer_details").empty();
      if (!received || !has_referrer || !text_of(*e, "referrer_notified_at").empty() || text_of(*e, "status") == "CLOSED")
        continue;
      std::string to = text_of(*e, "decided_by");
      if (to.empty()) to = lead;
      if (to.empty()) {  // nobody to name yet: looked at again tomorrow
        look.consider(now + civil::kDayMs, now);
        continue;
      }
      if (now < *received) {
        look.consider(*received, now);
        continue;
      }
      raise(TaskSpec{task_type::kReferrerFeedbackDue, to, *received + kFeedbackDueMs, e->id(),
                     "tell the referrer of referral " + e->id() + " the outcome within 24 hours of " +
                         text_of(*e, "received_at") + " (DOMAIN.md §3.7)"},
            report.feedback_due, "referrer feedback for referral " + e->id());
    }
  }
  return {};
}

// Grants whose expiry has come: ended in the index, so the grantee's readable families lose
// the family; the grantee's and the team's feeds bumped, so their next pull re-evaluates.
Result<void> end_expired_grants(ServiceContext& ctx, const std::string& family, int64_t now, FamilyLook& look,
                                DueReport& report) {
  auto grants = ctx.store.due().grants_of(family);
  if (!grants) return grants.error();
  bool any = false;
  for (const auto& g : *grants) {
    if (g.ended_at) continue;
    if (g.expires_at > now) {
      look.consider(g.expires_at, now);
      continue;
    }
    auto ended = ctx.store.due().end_grant(g.id, now);
    if (!ended) return ended.error();
    if (!*ended) continue;
    any = true;
    ++report.grants_expired;
    if (auto b = ctx.store.caseload().bump_feed(g.practitioner); !b) return b;
    const std::string detail = "break-glass grant " + g.id + " of " + g.practitioner + " expired at " +
                               civil::format_datetime(g.expires_at) + "; the family is purged from " + g.practitioner +
                               "'s devices at their next sync";
    if (auto a = ctx.store.audit().append(
            AuditEvent{ctx.now(), kOfficeAuthor, kAuthorityDevice, "break-glass-expired", family, detail});
        !a)
      return a;
    report.lines.push_back(family + ": " + detail);
  }
  if (any) return bump_team_feeds(ctx, family);
  return {};
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += (out.empty() ? "" : "; ") + l;
  return out;
}

Result<void> look_at_family(ServiceContext& ctx, const std::string& family, const TenantConfig& config, int64_t now,
                            DueReport& report) {
  return ctx.store.transaction([&]() -> Result<void> {
    auto merged = ctx.cache.get(family);
    if (!merged) return merged.error();
    const access::FamilyFacts* facts = ctx.cache.facts(family);
    if (!facts) return make_error(ErrorCode::storage, "family " + family + " left the cache while in use");
    FamilyLook look;
    if (auto r = look_at_records(ctx, family, **merged, *facts, config, now, look, report); !r) return r;
    if (auto r = end_expired_grants(ctx, family, now, look, report); !r) return r;
    struct Step {
      const char* action;
      const std::vector<AuthorityEdit>& edits;
      const std::vector<std::string>& lines;
    };
    // Expiry first: the tasks raised after it are judged against the state it leaves.
    for (const Step& s : {Step{"consent-expired", look.expire, look.expired_lines},
                          Step{"task-escalated", look.escalate, look.escalated_lines},
                          Step{"task-raised", look.raise, look.raised_lines}}) {
      if (s.edits.empty()) continue;
      AuthorityWrite w;
      w.family = family;
      w.author = kOfficeAuthor;
      w.action = s.action;
      w.detail = joined(s.lines);
      const std::vector<AuthorityEdit> edits = s.edits;
      w.plan = [edits](ServiceContext&, const sync::Materialiser&) -> Result<std::vector<AuthorityEdit>> { return edits; };
      auto written = write_as_authority(ctx, w);
      if (!written) return written.error();
      for (const auto& l : s.lines) report.lines.push_back(family + ": " + l);
    }
    // Raised tasks fall due later: their escalation is the next thing to come.
    for (const auto& e : look.raise) {
      auto due = e.fields.find("due_at");
      if (due != e.fields.end() && due->second.is_string())
        if (auto at = civil::parse_ms(due->second.as_string())) look.consider(*at, now);
    }
    return ctx.store.due().set_next(family, look.next);
  });
}

}  // namespace

Result<DueReport> run_due_events(ServiceContext& ctx, int64_t now, size_t max_families) {
  DueReport report;
  auto due = ctx.store.due().due(now, max_families + 1);
  if (!due) return due.error();
  if (due->size() > max_families) {
    report.more = true;
    due->resize(max_families);
  }
  if (due->empty()) return report;
  auto config = tenant_config(ctx);
  if (!config) return config.error();
  for (const auto& family : *due) {
    ++report.families;
    if (auto r = look_at_family(ctx, family, *config, now, report); !r) {
      ctx.cache.forget(family);  // it may hold ops the rollback removed
      ++report.failed;
      report.lines.push_back(family + ": FAILED: " + r.error().message + " (tried again in an hour)");
      (void)ctx.store.due().set_next(family, now + kRetryAfterFailureMs);
      ctx.audit(nullptr, "due-events-failed", family, r.error().message);
    }
  }
  return report;
}

}  // namespace hearth::server
