#include "task_triggers.hpp"

#include <algorithm>
#include <functional>
#include <set>

#include "hearth/core/civil_time.hpp"
#include "record_values.hpp"
#include "tasks.hpp"

namespace hearth::server {

namespace {

using Edits = std::vector<AuthorityEdit>;

constexpr const char* kTeamManager = "TEAM_MANAGER";
constexpr const char* kEarlyHelp = "RECEIVE_EARLY_HELP";  // ConsentRecord purpose (§6.1 L-A)
constexpr const char* kShareWithTaf = "SHARE_WITH_TAF";

bool holds(const std::vector<std::string>& list, const std::string& v) {
  return std::find(list.begin(), list.end(), v) != list.end();
}

std::string joined(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
  return out;
}

const sync::EntityMerge* live(const sync::Materialiser& m, const std::string& family, const std::string& id) {
  const sync::EntityMerge* e = m.entity(id);
  if (!e || !e->created() || e->deleted() || e->family() != family) return nullptr;
  return e;
}

// Plans the tasks of one write: who, when, and the audit of each.
class Planner {
 public:
  Planner(ServiceContext& ctx, const sync::Materialiser& m, std::string family)
      : ctx_(ctx), m_(m), family_(std::move(family)) {}

  Result<void> init() {
    auto cfg = tenant_config(ctx_);
    if (!cfg) return cfg.error();
    cfg_ = std::move(*cfg);
    return {};
  }

  const access::FamilyFacts* facts() const { return ctx_.cache.facts(family_); }

  std::string lead() const {
    const access::FamilyFacts* f = facts();
    return f ? server::lead_of(m_.schema(), *f, ctx_.now()).practitioner : std::string();
  }
  std::string lead_agency() const {
    const access::FamilyFacts* f = facts();
    return f ? server::lead_of(m_.schema(), *f, ctx_.now()).agency : std::string();
  }

  Result<std::string> manager() {
    const access::FamilyFacts* f = facts();
    if (!f) return std::string();
    return manager_for(ctx_, m_.schema(), *f);
  }

  // A manager other than `not_this` (nobody countersigns their own decision, §6.5): the lead
  // agency's first, else any; "" when there is none.
  Result<std::string> manager_other_than(const std::string& not_this) {
    auto first = manager();
    if (!first) return first.error();
    if (*first != not_this) return first;
    for (const std::string& org : {lead_agency(), std::string()}) {
      auto all = ctx_.store.caseload().practitioners_with_role(kTeamManager, org);
      if (!all) return all.error();
      for (const auto& p : *all)
        if (p != not_this) return p;
    }
    return std::string();
  }

  // The lead professional, else a manager.
  Result<std::string> lead_else_manager() {
    std::string l = lead();
    if (!l.empty()) return l;
    return manager();
  }

  int64_t due(int working_days) const { return cfg_.add_working_days(ctx_.now(), working_days); }
  const TenantConfig& config() const { return cfg_; }

  // Raises the task (once); audits it, or that nobody could be named for it.
  Result<void> raise(const TaskSpec& spec) {
    if (spec.assignee.empty()) {
      return ctx_.store.audit().append(AuditEvent{ctx_.now(), kOfficeAuthor, kAuthorityDevice, "task-unassigned",
                                                  family_, spec.type + " about " + spec.about +
                                                               ": no lead professional or manager to name"});
    }
    if (!raise_task(m_, family_, spec, edits_)) return {};
    return ctx_.store.audit().append(AuditEvent{ctx_.now(), kOfficeAuthor, kAuthorityDevice, "task", family_,
                                                spec.type + " " + task_id(family_, spec) + " for " + spec.assignee +
                                                    " due " + civil::format_datetime(spec.due_at_ms) +
                                                    (spec.about.empty() ? "" : ", about " + spec.about)});
  }

  Result<void> close(const std::string& task, const std::string& why) {
    edits_.push_back(AuthorityEdit::set(task, "status", std::string("DONE")));
    return ctx_.store.audit().append(
        AuditEvent{ctx_.now(), kOfficeAuthor, kAuthorityDevice, "task-done", family_, task + ": " + why});
  }

  Edits take() { return std::move(edits_); }

 private:
  ServiceContext& ctx_;
  const sync::Materialiser& m_;
  std::string family_;
  TenantConfig cfg_;
  Edits edits_;
};

AuthorityWrite task_write(const std::string& family, std::string detail,
                          std::function<Result<void>(ServiceContext&, const sync::Materialiser&, Planner&)> body) {
  AuthorityWrite w;
  w.family = family;
  w.author = kOfficeAuthor;
  w.action = "tasks";
  w.detail = std::move(detail);
  w.plan = [family, body = std::move(body)](ServiceContext& ctx, const sync::Materialiser& m) -> Result<Edits> {
    if (m.entities(family).empty()) return Edits{};  // nothing of the family held: nobody to tell
    Planner p(ctx, m, family);
    if (auto ok = p.init(); !ok) return ok.error();
    if (auto ok = body(ctx, m, p); !ok) return ok.error();
    return p.take();
  };
  return w;
}

Result<void> consent_tasks(ServiceContext& ctx, const sync::Materialiser& m, const std::string& family,
                           const sync::EntityMerge& consent, Planner& p) {
  const bool full = text_of(consent, "status") == "WITHDRAWN";
  const auto purposes = list_of(consent, "purposes");
  const auto withdrawn_purposes = list_of(consent, "withdrawn_purposes");
  // Persons by their record ids only: a notice may go to someone who never received their
  // names (a PLAN_AND_OWN_ACTIONS member), and must not carry them.
  const std::vector<std::string> persons = list_of(consent, "covers_persons");

  // §6.6, S2b: the lead's risk consideration of a withdrawal of early help itself.
  if ((full && holds(purposes, kEarlyHelp)) || holds(withdrawn_purposes, kEarlyHelp)) {
    auto lead = p.lead_else_manager();
    if (!lead) return lead.error();
    TaskSpec spec{task_type::kWithdrawalRiskConsideration, *lead, p.due(1), consent.id(),
                  "ConsentRecord " + consent.id() + " withdraws agreement to receive early help. Record the risk consideration: does the withdrawal itself raise a safeguarding concern? "
                      "If it does, record an InformationSharingDecision (with_consent NO_WITHDRAWN) and a "
                      "StepUpRequest; if not, the episode may close with FAMILY_WITHDREW_CONSENT. Mark this task "
                      "DONE when recorded; until then the episode does not close for that reason (DOMAIN.md §6.6)."};
    if (auto r = p.raise(spec); !r) return r;
  }

  // §6.6: the recipients that lose access are told.
  std::set<std::string> affected;
  for (const auto& org : list_of(consent, "withdrawn_recipients")) affected.insert(org);
  if (full || holds(withdrawn_purposes, kShareWithTaf))
    for (const auto& org : list_of(consent, "recipients")) affected.insert(org);
  affected.erase(p.lead_agency());  // the lead agency's own record is not shared with it (§6.2)
  if (affected.empty()) return {};
  const std::string lead = p.lead();
  const std::string notice = "consent withdrawn by a family member — do not further use or share information about " +
                             joined(persons) + "; retain per your own retention policy (ConsentRecord " +
                             consent.id() + ", DOMAIN.md §6.6)";
  for (const sync::EntityMerge* e : m.entities(family)) {
    if (!e->created() || e->deleted() || e->def().name != "TeamMember") continue;
    if (!text_of(*e, "left_at").empty() || !affected.count(text_of(*e, "organisation"))) continue;
    const std::string member = text_of(*e, "practitioner");
    if (member.empty() || member == lead) continue;
    TaskSpec spec{task_type::kConsentWithdrawnNotice, member, p.due(p.config().task_due_working_days()),
                  consent.id(), notice};
    if (auto r = p.raise(spec); !r) return r;
  }
  (void)ctx;
  return {};
}

Result<void> decision_tasks(const sync::Materialiser& m, const std::string& family, const sync::EntityMerge& isd,
                            Planner& p) {
  if (!text_of(isd, "countersigned_by").empty()) {
    // Countersigned: the countersign task is done (§6.5).
    for (const sync::EntityMerge* e : m.entities(family)) {
      if (!e->created() || e->deleted() || e->def().name != "Task") continue;
      if (text_of(*e, "task_type") != task_type::kOverrideCountersign || text_of(*e, "about") != isd.id() ||
          text_of(*e, "status") != "OPEN")
        continue;
      if (auto r = p.close(e->id(), "countersigned by " + text_of(isd, "countersigned_by")); !r) return r;
    }
    return {};
  }
  auto manager = p.manager_other_than(text_of(isd, "decided_by"));
  if (!manager) return manager.error();
  TaskSpec spec{task_type::kOverrideCountersign, *manager, p.due(1), isd.id(),
                "Countersign information-sharing decision " + isd.id() + " by " + text_of(isd, "decided_by") + " (" +
                    text_of(isd, "decision") + ", with_consent " + text_of(isd, "with_consent") +
                    "): set countersigned_by and countersigned_at within one working day (DOMAIN.md §6.5). The "
                    "share is not held for it."};
  return p.raise(spec);
}

}  // namespace

AuthorityWrite held_op_tasks(const std::string& family, const std::string& op_id, const std::string& author,
                             const std::string& route_to, const std::string& reason) {
  return task_write(family, "held op " + op_id,
                    [=](ServiceContext& ctx, const sync::Materialiser&, Planner& p) -> Result<void> {
                      std::string assignee;
                      if (!route_to.empty() && route_to != kTeamManager) {
                        auto known = ctx.store.caseload().practitioner_exists(route_to);
                        if (!known) return known.error();
                        if (*known) assignee = route_to;
                      }
                      if (assignee.empty()) {  // a role: a named manager, else the lead
                        auto manager = p.manager();
                        if (!manager) return manager.error();
                        assignee = manager->empty() ? p.lead() : *manager;
                      }
                      if (assignee == author) assignee.clear();  // p.raise audits an unassigned task
                      TaskSpec spec{task_type::kWriteRefused, assignee,
                                    p.due(p.config().task_due_working_days()), op_id,
                                    "op " + op_id + " is held for your decision: " + reason + " (DOMAIN.md §7)"};
                      return p.raise(spec);
                    });
}

AuthorityWrite conflict_tasks(const std::string& family, std::vector<OpenedConflict> opened) {
  return task_write(family, "conflicts opened",
                    [family, opened = std::move(opened)](ServiceContext&, const sync::Materialiser& m,
                                                         Planner& p) -> Result<void> {
                      for (const auto& o : opened) {
                        const sync::EntityMerge* e = live(m, family, o.entity_id);
                        if (!e) continue;
                        for (const auto& c : e->conflicts()) {
                          if (c.id != o.conflict_id) continue;
                          const std::string lead = p.lead();
                          bool party = false;
                          std::vector<std::string> authors;
                          for (const auto& v : c.values) {
                            party = party || (!lead.empty() && v.author == lead);
                            if (!holds(authors, v.author)) authors.push_back(v.author);
                          }
                          const FieldDef* f = c.field.empty() ? nullptr : e->def().field(c.field);
                          const bool safety = e->def().safety_record || (f && f->safety_fact) ||
                                              c.merge == MergeClass::SafetyMax;
                          std::string assignee = lead;
                          if (lead.empty() || party || safety) {
                            auto manager = p.manager();
                            if (!manager) return manager.error();
                            if (!manager->empty()) assignee = *manager;
                          }
                          int days = safety ? p.config().safety_task_due_working_days()
                                            : p.config().task_due_working_days();
                          TaskSpec spec{task_type::kConflictReview, assignee, p.due(days), c.id,
                                        std::string("conflict ") + c.id + " (" + sync::to_string(c.kind) + ") on " +
                                            c.entity_type + (c.field.empty() ? "" : "." + c.field) + " of " +
                                            c.entity_id + " between " + joined(authors) +
                                            (safety ? "; a safety value is involved" : "") +
                                            (party ? "; the lead professional is a party" : "") +
                                            " (DOMAIN.md §8.4)"};
                          if (auto r = p.raise(spec); !r) return r;
                        }
                      }
                      return {};
                    });
}

AuthorityWrite resolved_conflict_tasks(const std::string& family, std::vector<std::string> conflict_ids) {
  return task_write(family, "conflicts resolved",
                    [family, ids = std::move(conflict_ids)](ServiceContext&, const sync::Materialiser& m,
                                                            Planner& p) -> Result<void> {
                      for (const sync::EntityMerge* e : m.entities(family)) {
                        if (!e->created() || e->deleted() || e->def().name != "Task") continue;
                        if (text_of(*e, "task_type") != task_type::kConflictReview || text_of(*e, "status") != "OPEN" ||
                            !holds(ids, text_of(*e, "about")))
                          continue;
                        if (auto r = p.close(e->id(), "conflict " + text_of(*e, "about") + " resolved"); !r) return r;
                      }
                      return {};
                    });
}

AuthorityWrite close_tasks(const std::string& family, const std::string& type, const std::string& about,
                           const std::string& why) {
  return task_write(family, "close " + type + " about " + about,
                    [=](ServiceContext&, const sync::Materialiser& m, Planner& p) -> Result<void> {
                      for (const sync::EntityMerge* e : m.entities(family)) {
                        if (!e->created() || e->deleted() || e->def().name != "Task") continue;
                        if (text_of(*e, "task_type") != type || text_of(*e, "status") != "OPEN" ||
                            text_of(*e, "about") != about)
                          continue;
                        if (auto r = p.close(e->id(), why); !r) return r;
                      }
                      return {};
                    });
}

AuthorityWrite flag_tasks(const std::string& family, const std::string& op_id, const std::string& flag_kind,
                          const std::string& reason) {
  return task_write(family, "flagged op " + op_id,
                    [=](ServiceContext&, const sync::Materialiser&, Planner& p) -> Result<void> {
                      auto lead = p.lead_else_manager();
                      if (!lead) return lead.error();
                      TaskSpec spec{task_type::kFlagReview, *lead, p.due(p.config().task_due_working_days()), op_id,
                                    "op " + op_id + " was accepted and flagged " + flag_kind + " for your review: " +
                                        reason};
                      return p.raise(spec);
                    });
}

bool record_raises_tasks(const std::string& entity_type) {
  return entity_type == "ConsentRecord" || entity_type == "InformationSharingDecision";
}

AuthorityWrite record_tasks(const std::string& family, const std::string& record_id) {
  return task_write(family, "record " + record_id,
                    [=](ServiceContext& ctx, const sync::Materialiser& m, Planner& p) -> Result<void> {
                      const sync::EntityMerge* e = live(m, family, record_id);
                      if (!e) return {};
                      if (e->def().name == "ConsentRecord") return consent_tasks(ctx, m, family, *e, p);
                      if (e->def().name == "InformationSharingDecision") return decision_tasks(m, family, *e, p);
                      return {};
                    });
}

}  // namespace hearth::server
