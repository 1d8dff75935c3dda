#include "step_up.hpp"

#include <algorithm>

#include "hearth/core/access.hpp"
#include "hearth/core/civil_time.hpp"
#include "hearth/core/text.hpp"
#include "record_values.hpp"
#include "tasks.hpp"

namespace hearth::server {

namespace {

using Edits = std::vector<AuthorityEdit>;

constexpr const char* kStepUp = "StepUpRequest";
constexpr const char* kStepDown = "StepDownReceipt";
constexpr const char* kEpisode = "EarlyHelpEpisode";
constexpr const char* kPlan = "FamilyPlan";
constexpr const char* kPending = "STEP_UP_PENDING";
constexpr const char* kPaused = "PAUSED_CSC_LEAD";
constexpr const char* kLocked = "LOCKED_STEPPED_UP";
constexpr const char* kTeamManager = "TEAM_MANAGER";
// Task.task_type values this workflow raises (schema_v1.cpp).
constexpr const char* kEscalationNotice = "ESCALATION_NOTICE";
constexpr const char* kHeldEditReoffered = "HELD_EDIT_REOFFERED";

const std::vector<std::string> kDecisions = {"ACCEPTED_S17_ASSESSMENT", "ACCEPTED_S47_STRATEGY", "ADVICE_RETURN_TO_EH",
                                             "NFA_RETURN_TO_EH", "WITHDRAWN"};

bool accepted(const std::string& decision) { return decision.rfind("ACCEPTED_", 0) == 0; }

const sync::EntityMerge* live(const sync::Materialiser& m, const std::string& family, const std::string& id,
                              const char* type) {
  if (id.empty()) return nullptr;
  const sync::EntityMerge* e = m.entity(id);
  if (!e || !e->created() || e->deleted() || e->family() != family || e->def().name != type) return nullptr;
  return e;
}

// The live FamilyPlans of `episode` whose status is one of `statuses`, by id.
std::vector<const sync::EntityMerge*> plans_of(const sync::Materialiser& m, const std::string& family,
                                               const std::string& episode, const std::vector<std::string>& statuses) {
  std::vector<const sync::EntityMerge*> out;
  for (const sync::EntityMerge* e : m.entities(family)) {
    if (!e->created() || e->deleted() || e->def().name != kPlan || text_of(*e, "episode") != episode) continue;
    if (std::find(statuses.begin(), statuses.end(), e->status()) != statuses.end()) out.push_back(e);
  }
  return out;
}

std::string lead_of_family(ServiceContext& ctx, const sync::Materialiser& m, const std::string& family) {
  const access::FamilyFacts* f = ctx.cache.facts(family);
  return f ? server::lead_of(m.schema(), *f, ctx.now()).practitioner : std::string();
}

Result<std::string> lead_else_manager(ServiceContext& ctx, const sync::Materialiser& m, const std::string& family) {
  std::string lead = lead_of_family(ctx, m, family);
  if (!lead.empty()) return lead;
  const access::FamilyFacts* f = ctx.cache.facts(family);
  if (!f) return std::string();
  return manager_for(ctx, m.schema(), *f);
}

Result<void> audit(ServiceContext& ctx, const std::string& family, const std::string& action, const std::string& detail) {
  return ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, kAuthorityDevice, action, family, detail});
}

// Raises a task (once) and audits it, as task_triggers.cpp does.
Result<void> raise(ServiceContext& ctx, const sync::Materialiser& m, const std::string& family, const TaskSpec& spec,
                   Edits& edits) {
  if (spec.assignee.empty())
    return audit(ctx, family, "task-unassigned", spec.type + " about " + spec.about + ": no lead professional or manager to name");
  if (!raise_task(m, family, spec, edits)) return {};
  return audit(ctx, family, "task",
               spec.type + " " + task_id(family, spec) + " for " + spec.assignee + " due " +
                   civil::format_datetime(spec.due_at_ms) + (spec.about.empty() ? "" : ", about " + spec.about));
}

// The device time the step-up was created at (its Create op's own stamp, before any re-stamp):
// when the practitioner made it, offline or not (S3 "Audit shows").
std::string created_offline_at(const sync::Materialiser& m, const std::string& family, const std::string& id) {
  for (const sync::Op* op : m.ops(family))
    if (op->entity_id == id && op->kind == sync::OpKind::Create)
      return civil::format_datetime(static_cast<int64_t>(op->hlc.wall_ms)) + " (op " + op->id.to_string() + ")";
  return "unknown";
}

std::string or_none(const std::string& s) { return s.empty() ? std::string("not recorded") : s; }

// ---- submission (S3 at 12:00) -------------------------------------------------------------

Result<Edits> submission(ServiceContext& ctx, const sync::Materialiser& m, const std::string& family,
                         const sync::EntityMerge& su) {
  Edits edits;
  const std::string status = su.status();
  if ((status != "SUBMITTED" && status != "ACKNOWLEDGED") || !text_of(su, "csc_decision").empty()) return edits;
  const sync::EntityMerge* ep = live(m, family, text_of(su, "episode"), kEpisode);
  if (!ep) {
    if (auto a = audit(ctx, family, "step-up-unlinked",
                       "StepUpRequest " + su.id() + " names no live episode of the family: nothing was moved");
        !a)
      return a.error();
    return edits;
  }
  const std::string from = ep->status();
  if (from == "CLOSED") {
    if (auto a = audit(ctx, family, "step-up-unlinked",
                       "StepUpRequest " + su.id() + " names episode " + ep->id() + ", which is CLOSED: nothing was moved");
        !a)
      return a.error();
    return edits;
  }
  const bool move = from != kPending && from != kPaused;
  if (move) edits.push_back(AuthorityEdit::transition(ep->id(), kPending));
  std::string locked;
  for (const sync::EntityMerge* plan : plans_of(m, family, ep->id(), {"AGREED", "ACTIVE", "UNDER_REVIEW"})) {
    edits.push_back(AuthorityEdit::transition(plan->id(), kLocked));
    locked += (locked.empty() ? "" : ", ") + plan->id() + " " + plan->status() + " -> " + kLocked;
  }
  const bool changed = !edits.empty();

  // Need-to-know: the TAF members other than the lead and managers are told only this (§13 S3).
  auto cfg = tenant_config(ctx);
  if (!cfg) return cfg.error();
  const std::string lead = lead_of_family(ctx, m, family);
  for (const sync::EntityMerge* e : m.entities(family)) {
    if (!e->created() || e->deleted() || e->def().name != "TeamMember" || !text_of(*e, "left_at").empty()) continue;
    const std::string member = text_of(*e, "practitioner");
    if (member.empty() || member == lead) continue;
    auto profile = ctx.store.caseload().practitioner(member);
    if (profile && profile->role == kTeamManager) continue;
    TaskSpec spec{kEscalationNotice, member, cfg->add_working_days(ctx.now(), cfg->task_due_working_days()), su.id(),
                  std::string(access::kEscalatedReason) + " (" + (lead.empty() ? std::string("no lead named") : lead) +
                      "): episode " + ep->id() +
                      " has been referred to children's social care; its step-up details reach the lead professional "
                      "and managers only (need-to-know, DOMAIN.md §13 S3). Mark this task DONE once read."};
    if (auto r = raise(ctx, m, family, spec, edits); !r) return r.error();
  }
  if (changed) {
    std::string detail = "StepUpRequest " + su.id() + " (" + text_of(su, "kind") + ") " + status +
                         ": created offline at " + created_offline_at(m, family, su.id()) + ", submitted_at " +
                         or_none(text_of(su, "submitted_at")) + ", phone referral made at " +
                         or_none(text_of(su, "phone_referral_made_at")) + ", received by the server at " +
                         civil::format_datetime(ctx.now()) + "; episode " + ep->id() + " " + from + " -> " +
                         (move ? std::string(kPending) : from) + "; plans " + (locked.empty() ? std::string("none locked") : locked);
    if (auto a = audit(ctx, family, "step-up-submitted", detail); !a) return a.error();
  }
  return edits;
}

// ---- step-down (S3c) ----------------------------------------------------------------------

Result<Edits> step_down(ServiceContext& ctx, const sync::Materialiser& m, const std::string& family,
                        const sync::EntityMerge& sd) {
  Edits edits;
  std::string ep_id = text_of(sd, "resumed_episode");
  if (ep_id.empty()) ep_id = text_of(sd, "episode");
  const sync::EntityMerge* ep = live(m, family, ep_id, kEpisode);
  if (!ep || ep->status() != kPaused) return edits;  // nothing paused to resume (or resumed already)
  std::string missing;
  const std::string meeting = text_of(sd, "handover_meeting");
  if (!live(m, family, meeting, "TafMeeting")) missing += "a handover TafMeeting (handover_meeting)";
  const sync::EntityMerge* consent = live(m, family, text_of(sd, "consent"), "ConsentRecord");
  if (!consent || text_of(*consent, "status") != "ACTIVE")
    missing += std::string(missing.empty() ? "" : " and ") + "fresh ACTIVE consent (consent)";
  if (!missing.empty()) {
    if (auto a = audit(ctx, family, "step-down-waiting",
                       "StepDownReceipt " + sd.id() + " does not resume episode " + ep->id() + " yet: it needs " +
                           missing + " (DOMAIN.md §3.18, §4.2)");
        !a)
      return a.error();
    return edits;
  }
  edits.push_back(AuthorityEdit::transition(ep->id(), "ACTIVE"));
  if (text_of(sd, "resumed_episode").empty()) edits.push_back(AuthorityEdit::set(sd.id(), "resumed_episode", Value(ep->id())));
  // The next plan version, from the latest one of the episode.
  const sync::EntityMerge* latest = nullptr;
  int64_t version = 0;
  for (const sync::EntityMerge* p : plans_of(m, family, ep->id(), {"DRAFT", "AGREED", "ACTIVE", "UNDER_REVIEW", "SUPERSEDED", "CLOSED", kLocked})) {
    Value v = p->value("version");
    int64_t n = v.is_int() ? v.as_int() : 0;
    if (!latest || n > version) {
      latest = p;
      version = n;
    }
  }
  std::string superseded = "none";
  std::string next_plan = "none (the episode had no plan)";
  if (latest) {
    const std::string st = latest->status();
    if (st == kLocked) edits.push_back(AuthorityEdit::transition(latest->id(), "ACTIVE"));
    if (st == kLocked || st == "ACTIVE") edits.push_back(AuthorityEdit::transition(latest->id(), "UNDER_REVIEW"));
    if (st == kLocked || st == "ACTIVE" || st == "UNDER_REVIEW") {
      edits.push_back(AuthorityEdit::transition(latest->id(), "SUPERSEDED"));
      superseded = latest->id() + " " + st + " -> SUPERSEDED";
    }
    FieldValues fields;
    fields["episode"] = Value(ep->id());
    fields["version"] = Value(version + 1);
    fields["agreed_at_meeting"] = Value(meeting);
    for (const char* copy : {"based_on_assessment", "review_interval_weeks", "next_review_due"}) {
      Value v = latest->value(copy);
      if (!v.is_null()) fields[copy] = v;
    }
    const std::string id = ep->id() + "/plan/v" + std::to_string(version + 1);
    if (!m.entity(id)) {
      edits.push_back(AuthorityEdit::create(kPlan, id, fields));
      next_plan = id + " (version " + std::to_string(version + 1) + ", DRAFT: to agree with the family)";
    }
  }
  if (auto a = audit(ctx, family, "step-down-resumed",
                     "StepDownReceipt " + sd.id() + " (from_csc_ref on the record) with handover meeting " + meeting +
                         " and consent " + consent->id() + ": episode " + ep->id() + " " + kPaused +
                         " -> ACTIVE; plan " + superseded + "; new plan " + next_plan + " (DOMAIN.md §4.2, §13 S3c)");
      !a)
    return a.error();
  return edits;
}

// ---- decision (S3 at 15:00, S3b) ----------------------------------------------------------

Result<Edits> decision(ServiceContext& ctx, const sync::Materialiser& m, const std::string& family,
                       const StepUpDecision& d, StepUpDecided& out) {
  Edits edits;
  const sync::EntityMerge* su = live(m, family, d.step_up, kStepUp);
  if (!su)
    return make_error(ErrorCode::not_found, "step_up: no StepUpRequest '" + d.step_up + "' in family " + family);
  const std::string status = su->status();
  if (status != "SUBMITTED" && status != "ACKNOWLEDGED") {
    std::string earlier = text_of(*su, "csc_decision");
    return make_error(ErrorCode::conflict,
                      "step_up: StepUpRequest " + d.step_up + " is " + status +
                          (earlier.empty() ? std::string()
                                           : " with csc_decision " + earlier + " (csc_ref " +
                                                 or_none(text_of(*su, "csc_ref")) + ", decided_at " +
                                                 or_none(text_of(*su, "decided_at")) + ")") +
                          "; only a SUBMITTED or ACKNOWLEDGED step-up is decided (DOMAIN.md §4.6)");
  }
  auto cfg = tenant_config(ctx);
  if (!cfg) return cfg.error();
  const std::string decided_at = d.decided_at.empty() ? civil::format_datetime(ctx.now()) : d.decided_at;
  const bool acc = accepted(d.csc_decision);
  const std::string policy = cfg->step_up_policy();
  edits.push_back(AuthorityEdit::set(su->id(), "csc_decision", Value(d.csc_decision)));
  if (!d.csc_ref.empty()) edits.push_back(AuthorityEdit::set(su->id(), "csc_ref", Value(d.csc_ref)));
  edits.push_back(AuthorityEdit::set(su->id(), "decided_at", Value(decided_at)));
  if (acc) edits.push_back(AuthorityEdit::set(su->id(), "eh_position", Value(policy)));
  if (d.csc_decision == "WITHDRAWN" && status == "SUBMITTED") {
    edits.push_back(AuthorityEdit::transition(su->id(), "WITHDRAWN"));
  } else {
    if (status == "SUBMITTED") edits.push_back(AuthorityEdit::transition(su->id(), "ACKNOWLEDGED"));
    edits.push_back(AuthorityEdit::transition(su->id(), "DECIDED"));
  }

  const sync::EntityMerge* ep = live(m, family, text_of(*su, "episode"), kEpisode);
  std::string moved = "episode not moved";
  out.episode = ep ? ep->id() : std::string();
  out.episode_status = ep ? ep->status() : std::string();
  bool returned = false;  // back to early help: plan unlocked, review, held edits offered back
  if (ep && ep->status() == kPending) {
    std::string to;
    if (acc && policy == "EH_PAUSED") {
      to = kPaused;
    } else if (acc && policy == "EH_CLOSED") {
      to = "CLOSING";
      edits.push_back(AuthorityEdit::set(ep->id(), "closure_reason", Value(std::string("STEPPED_UP_TO_CSC"))));
      edits.push_back(AuthorityEdit::set(ep->id(), "closure_destination", Value(std::string("CSC"))));
    } else {
      to = "ACTIVE";
      returned = true;
    }
    edits.push_back(AuthorityEdit::transition(ep->id(), to));
    moved = "episode " + ep->id() + " " + kPending + " -> " + to;
    out.episode_status = to;
  } else if (ep) {
    moved = "episode " + ep->id() + " is " + ep->status() + ", not " + kPending + ": not moved";
  }
  std::string unlocked;
  if (returned) {
    for (const sync::EntityMerge* plan : plans_of(m, family, ep->id(), {kLocked})) {
      edits.push_back(AuthorityEdit::transition(plan->id(), "ACTIVE"));
      unlocked += (unlocked.empty() ? "" : ", ") + plan->id();
    }
    auto lead = lead_else_manager(ctx, m, family);
    if (!lead) return lead.error();
    TaskSpec review{task_type::kReviewDue, *lead, cfg->add_working_days(ctx.now(), cfg->step_up_review_working_days()),
                    su->id(),
                    "The office decided " + d.csc_decision + " on StepUpRequest " + su->id() + ": episode " + ep->id() +
                        " is back with early help and its plan is unlocked. Hold a review within " +
                        std::to_string(cfg->step_up_review_working_days()) +
                        " working days (DOMAIN.md §4.2: no drift). Edits held while the plan was locked are offered "
                        "back as HELD_EDIT_REOFFERED tasks."};
    if (auto r = raise(ctx, m, family, review, edits); !r) return r.error();
    // The escalation is over: the TAF members' notices about it are done.
    for (const sync::EntityMerge* e : m.entities(family)) {
      if (!e->created() || e->deleted() || e->def().name != "Task") continue;
      if (text_of(*e, "task_type") != kEscalationNotice || text_of(*e, "about") != su->id() ||
          text_of(*e, "status") != "OPEN")
        continue;
      edits.push_back(AuthorityEdit::set(e->id(), "status", Value(std::string("DONE"))));
      if (auto a = audit(ctx, family, "task-done", e->id() + ": the step-up returned to early help (" + d.csc_decision + ")");
          !a)
        return a.error();
    }
    // S3b: the edits the lock held, offered back for re-application.
    auto held = ctx.store.flags().held(family);
    if (!held) return held.error();
    for (const auto& h : *held) {
      if (h.decision || h.reason.find(access::kPlanLockedReason) == std::string::npos) continue;
      std::vector<std::string> to = {*lead};
      if (!h.practitioner.empty() && h.practitioner != *lead) to.push_back(h.practitioner);
      for (const auto& who : to) {
        const bool decides = who == *lead;
        TaskSpec spec{kHeldEditReoffered, who, cfg->add_working_days(ctx.now(), cfg->task_due_working_days()), h.op_id,
                      "op " + h.op_id + " by " + h.practitioner + " was held while the plan was locked for StepUpRequest " +
                          su->id() + "; the plan is unlocked (" + d.csc_decision + "). " +
                          (decides ? std::string("Re-apply it (hearth-server held apply --op ") + h.op_id + " --by " +
                                         who + ") or dismiss it."
                                   : std::string("It is offered back to the lead professional to re-apply; you may also "
                                                 "make the edit again."))};
        if (auto r = raise(ctx, m, family, spec, edits); !r) return r.error();
      }
    }
  }
  std::string detail = "StepUpRequest " + su->id() + ": csc_decision " + d.csc_decision + ", csc_ref " +
                       or_none(d.csc_ref) + ", decided at " + decided_at + " (" + (d.via.empty() ? "office" : d.via) +
                       "), received by the server at " + civil::format_datetime(ctx.now()) + "; created offline at " +
                       created_offline_at(m, family, su->id()) + ", submitted_at " +
                       or_none(text_of(*su, "submitted_at")) + ", phone referral made at " +
                       or_none(text_of(*su, "phone_referral_made_at")) + "; " + moved +
                       (acc ? " (tenant step_up_policy " + policy + ")" : std::string()) +
                       (unlocked.empty() ? std::string() : "; plans unlocked: " + unlocked);
  if (auto a = audit(ctx, family, "step-up-decided", detail); !a) return a.error();
  return edits;
}

Result<void> check_decision(const StepUpDecision& d) {
  if (auto ok = check_id("step_up", d.step_up); !ok) return ok.error();
  if (!d.family.empty())
    if (auto ok = check_id("family", d.family); !ok) return ok.error();
  if (!is_csc_decision(d.csc_decision))
    return make_error(ErrorCode::invalid_argument,
                      "csc_decision: '" + d.csc_decision +
                          "' is not a decision; use ACCEPTED_S17_ASSESSMENT, ACCEPTED_S47_STRATEGY, ADVICE_RETURN_TO_EH, "
                          "NFA_RETURN_TO_EH or WITHDRAWN (DOMAIN.md §3.17)");
  if (!d.csc_ref.empty()) {
    if (d.csc_ref.size() > 1024) return make_error(ErrorCode::invalid_argument, "csc_ref: longer than 1024 bytes");
    if (auto ok = check_utf8("csc_ref", d.csc_ref); !ok) return ok.error();
  }
  if (!d.decided_at.empty() && !civil::parse_ms(d.decided_at))
    return make_error(ErrorCode::invalid_argument,
                      "decided_at: '" + d.decided_at + "' is not a UTC date-time such as 2026-12-01T15:00:00Z");
  return {};
}

}  // namespace

bool step_up_watches(const std::string& entity_type) { return entity_type == kStepUp || entity_type == kStepDown; }

bool is_csc_decision(const std::string& value) {
  return std::find(kDecisions.begin(), kDecisions.end(), value) != kDecisions.end();
}

AuthorityWrite step_up_effects(const std::string& family, const std::string& record_id) {
  AuthorityWrite w;
  w.family = family;
  w.author = kOfficeAuthor;
  w.action = "step-up";
  w.detail = "record " + record_id;
  w.plan = [family, record_id](ServiceContext& ctx, const sync::Materialiser& m) -> Result<Edits> {
    if (const sync::EntityMerge* su = live(m, family, record_id, kStepUp)) return submission(ctx, m, family, *su);
    if (const sync::EntityMerge* sd = live(m, family, record_id, kStepDown)) return step_down(ctx, m, family, *sd);
    return Edits{};
  };
  return w;
}

Result<std::string> family_of_record(ServiceContext& ctx, const std::string& id) {
  // The server's current records answer by id (storage/records.hpp); a deleted record is no
  // record to decide or to mark.
  auto r = ctx.store.records().get(id);
  if (!r) return r.error();
  if (!*r || (*r)->deleted) return make_error(ErrorCode::not_found, "no record '" + id + "' is held by the server");
  return (*r)->family;
}

Result<std::vector<AuthorityWrite>> step_up_decision_writes(ServiceContext& ctx, const StepUpDecision& d,
                                                            std::shared_ptr<StepUpDecided> out) {
  if (auto ok = check_decision(d); !ok) return ok.error();
  std::string family = d.family;
  if (family.empty()) {
    auto found = family_of_record(ctx, d.step_up);
    if (!found) {
      if (found.error().code == ErrorCode::not_found)
        return make_error(ErrorCode::not_found, "step_up: no StepUpRequest '" + d.step_up + "' is held by the server");
      return found.error();
    }
    family = *found;
  }
  out->family = family;
  AuthorityWrite w;
  w.family = family;
  w.author = d.author;
  w.action = "step-up-decision";
  w.detail = "StepUpRequest " + d.step_up + " " + d.csc_decision + (d.via.empty() ? "" : " via " + d.via);
  w.plan = [d, family, out](ServiceContext& c, const sync::Materialiser& m) -> Result<Edits> {
    return decision(c, m, family, d, *out);
  };
  return std::vector<AuthorityWrite>{w};
}

Result<StepUpDecided> decide_step_up(ServiceContext& ctx, const StepUpDecision& d) {
  auto out = std::make_shared<StepUpDecided>();
  auto writes = step_up_decision_writes(ctx, d, out);
  if (!writes) return writes.error();
  auto ops = authority_write(ctx, *writes);
  if (!ops) return ops.error();
  out->ops = *ops;
  return *out;
}

}  // namespace hearth::server
