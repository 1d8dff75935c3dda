#include "sharing.hpp"

#include <algorithm>
#include <set>

#include "tasks.hpp"

namespace hearth::server {

namespace {

// The practitioner the policy is asked about: a FULL_EPISODE TAF member of the recipient
// organisation, added to a copy of the family's records. '#' is not allowed in ids (core/text.hpp
// is_valid_id), so it never names a real practitioner or record.
const char* kRecipientPrefix = "#share-recipient:";

const std::string& text_of(const access::RecordFacts& r, const std::string& field) {
  static const std::string kEmpty;
  auto it = r.fields.find(field);
  return it != r.fields.end() && it->second.is_string() ? it->second.as_string() : kEmpty;
}

std::vector<std::string> list_of(const access::RecordFacts& r, const std::string& field) {
  auto it = r.fields.find(field);
  if (it == r.fields.end()) return {};
  if (it->second.is_list()) return it->second.as_list();
  if (it->second.is_string() && !it->second.as_string().empty()) return {it->second.as_string()};
  return {};
}

std::string joined(const std::vector<std::string>& values, const std::string& sep = ", ") {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : sep) + v;
  return out;
}

class Family {
 public:
  explicit Family(const access::FamilyFacts& facts) : facts_(facts) {
    for (const auto& r : facts_.records) by_id_[r.id] = &r;
  }
  const access::RecordFacts* find(const std::string& id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }
  const access::RecordFacts* find(const std::string& id, const std::string& type) const {
    const auto* r = find(id);
    return r && r->type == type ? r : nullptr;
  }
  std::vector<const access::RecordFacts*> of_type(const std::string& type) const {
    std::vector<const access::RecordFacts*> out;
    for (const auto& r : facts_.records)
      if (r.type == type) out.push_back(&r);
    return out;
  }
  // "p-1 (Given Family)", as the office reads a person (consent.cpp).
  std::string person_label(const std::string& id) const {
    const auto* p = find(id, "Person");
    if (!p) return id;
    return id + " (" + text_of(*p, "given_names") + " " + text_of(*p, "family_name") + ")";
  }
  std::string people(const std::vector<std::string>& ids) const {
    std::vector<std::string> labels;
    for (const auto& id : ids) labels.push_back(person_label(id));
    return joined(labels, " and ");
  }
  // The persons a record is about (EntityDef::subject_fields; none named: the whole family).
  std::vector<std::string> subjects(const Schema& schema, const access::RecordFacts& r) const {
    const EntityDef* def = schema.entity(r.type);
    std::set<std::string> out;
    if (def && def->subject_is_self) return {r.id};
    if (def)
      for (const auto& f : def->subject_fields)
        for (const auto& p : list_of(r, f)) out.insert(p);
    if (out.empty())
      for (const auto* p : of_type("Person")) out.insert(p->id);
    return {out.begin(), out.end()};
  }

 private:
  const access::FamilyFacts& facts_;
  std::map<std::string, const access::RecordFacts*> by_id_;
};

// What the act would disclose: record ids of the family, or an error message naming what is
// missing (the act is then cancelled).
struct Disclosure {
  std::vector<std::string> records;
  std::string missing;
};

Disclosure what_is_sent(const Family& fam, const access::RecordFacts& req, const std::string& kind) {
  Disclosure d;
  if (kind == "SEND_PLAN") {
    const std::string& plan = text_of(req, "plan");
    if (!fam.find(plan, "FamilyPlan")) {
      d.missing = "the family holds no plan '" + plan + "' to send";
      return d;
    }
    // The plan document: the plan, its outcomes and their actions (DOMAIN.md §3.11).
    std::set<std::string> outcomes;
    d.records.push_back(plan);
    for (const auto* o : fam.of_type("PlanOutcome"))
      if (text_of(*o, "plan") == plan) {
        outcomes.insert(o->id);
        d.records.push_back(o->id);
      }
    for (const auto* a : fam.of_type("PlanAction"))
      if (outcomes.count(text_of(*a, "outcome"))) d.records.push_back(a->id);
  } else if (kind == "INVITE_TO_TAF") {
    // A whole-family TAF meeting discusses every person of the family (S2 (b)).
    for (const auto* p : fam.of_type("Person")) d.records.push_back(p->id);
    const std::string& meeting = text_of(req, "meeting");
    if (!meeting.empty()) {
      if (!fam.find(meeting, "TafMeeting")) {
        d.missing = "the family holds no TAF meeting '" + meeting + "'";
        return d;
      }
      d.records.push_back(meeting);
    }
  } else {  // EXPORT_FOR_AGENCY
    for (const auto& id : list_of(req, "items")) {
      if (!fam.find(id)) {
        d.missing = "the family holds no record '" + id + "' to export";
        return d;
      }
      d.records.push_back(id);
    }
  }
  std::sort(d.records.begin(), d.records.end());
  d.records.erase(std::unique(d.records.begin(), d.records.end()), d.records.end());
  return d;
}

std::string kind_words(const std::string& kind, const std::string& recipient) {
  if (kind == "SEND_PLAN") return "sending the plan to " + recipient;
  if (kind == "INVITE_TO_TAF") return "inviting " + recipient + " to the TAF meeting";
  return "exporting records for " + recipient;
}

// At most `n` ids, then how many more (an audit detail stays bounded).
std::string some(const std::vector<std::string>& ids, size_t n = 50) {
  std::vector<std::string> head(ids.begin(), ids.begin() + static_cast<std::ptrdiff_t>(std::min(n, ids.size())));
  std::string out = joined(head, " ");
  if (ids.size() > n) out += " and " + std::to_string(ids.size() - n) + " more";
  return out;
}

}  // namespace

Result<std::optional<ShareDecision>> decide_share(ServiceContext& ctx, const std::string& family,
                                                  const std::string& request) {
  using Out = std::optional<ShareDecision>;
  auto merged = ctx.cache.get(family);
  if (!merged) return merged.error();
  const access::FamilyFacts* current = ctx.cache.facts(family);
  if (!current) return Out();
  // A copy: the policy is asked about a practitioner who is on no real team.
  access::FamilyFacts facts = *current;
  Family fam(facts);
  const access::RecordFacts* req = fam.find(request, "SharingRequest");
  if (!req || !text_of(*req, "status").empty()) return Out();

  ShareDecision d;
  d.request = request;
  d.kind = text_of(*req, "kind");
  d.recipient = text_of(*req, "recipient");
  d.requested_by = req->created_by;
  d.requested_at = text_of(*req, "requested_at");
  const Schema& schema = (*merged)->schema();
  const std::string act = kind_words(d.kind, d.recipient);
  d.lead = server::lead_of(schema, facts, ctx.now()).practitioner;  // before the recipient joins the copy

  auto exists = ctx.store.caseload().organisation_exists(d.recipient);
  if (!exists) return exists.error();
  if (!*exists) {
    d.status = "CANCELLED";
    d.reason = act + " is cancelled: no organisation '" + d.recipient + "' in the directory";
    return Out(std::move(d));
  }
  Disclosure sent = what_is_sent(fam, *req, d.kind);
  if (!sent.missing.empty()) {
    d.status = "CANCELLED";
    d.reason = act + " is cancelled: " + sent.missing;
    return Out(std::move(d));
  }

  // The view a member of the recipient organisation would have now (DOMAIN.md §6.6: re-evaluated
  // at send time against the state at sync time).
  const std::string member = kRecipientPrefix + d.recipient;
  access::RecordFacts tm;
  tm.type = "TeamMember";
  tm.id = "#team:" + member;
  tm.fields = {{"practitioner", Value(member)},        {"organisation", Value(d.recipient)},
               {"team_role", Value("TAF_MEMBER")},     {"access_scope", Value("FULL_EPISODE")},
               {"joined_at", Value("1970-01-01T00:00:00Z")}};
  facts.records.push_back(tm);  // `fam` and `req` point into the old records: not used below
  facts.organisation_of[member] = d.recipient;
  Caller recipient{member, "", 0, d.recipient, {"PRACTITIONER"}};
  auto view = ctx.policy.view(recipient, facts, ctx.now());
  if (!view) return view.error();
  Family after(facts);  // `facts` grew: index it again
  // Withheld records of what would be sent, and whose consent is missing for them.
  std::vector<std::string> withheld;
  std::set<std::string> uncovered;
  std::string first_reason;
  for (const auto& id : sent.records) {
    if (view->record_visible(id)) continue;
    withheld.push_back(id);
    if (first_reason.empty()) {
      auto why = view->withheld_records.find(id);
      if (why != view->withheld_records.end()) first_reason = why->second;
    }
    for (const auto& p : after.subjects(schema, *after.find(id)))
      if (!view->record_visible(p)) uncovered.insert(p);
  }
  d.uncovered.assign(uncovered.begin(), uncovered.end());
  if (withheld.empty()) {
    d.status = "SENT";
    d.disclosed = sent.records;
    d.reason = act + ": sent; consent covers " + d.recipient + " for every person it concerns (DOMAIN.md §6.6, §6.8)";
    return Out(std::move(d));
  }

  std::vector<std::string> covered;
  for (const auto* p : after.of_type("Person"))
    if (view->record_visible(p->id)) covered.push_back(p->id);
  std::string whose = d.uncovered.empty()
                          ? "it holds records consent does not let " + d.recipient + " receive (" +
                                some(withheld, 10) + ": " + first_reason + ")"
                          : "it holds the information of " + after.people(d.uncovered) +
                                ", whose consent does not cover " + d.recipient;
  std::string instead = covered.empty() ? "nobody's consent in the family covers " + d.recipient
                                        : "consent covers " + d.recipient + " for " + after.people(covered) + " only";
  if (d.kind == "INVITE_TO_TAF") {
    d.status = "HELD";
    d.reason = act + " is held for the lead professional" + (d.lead.empty() ? "" : " " + d.lead) +
               " to decide: a whole-family TAF meeting would discuss " +
               (d.uncovered.empty() ? std::string("records consent does not cover")
                                    : after.people(d.uncovered) + ", whose consent does not cover " + d.recipient) +
               "; " + instead + " (arrange a meeting focused on them instead) (DOMAIN.md §6.6, §13 S2)";
  } else {
    d.status = "CANCELLED";
    d.reason = act + " is cancelled at sync: " + whose + "; " + instead +
               (covered.empty() ? "" : ": re-issue an extract scoped to " + after.people(covered)) +
               " (DOMAIN.md §6.6, §13 S2)";
  }
  return Out(std::move(d));
}

AuthorityWrite share_outcome(const std::string& family, const ShareDecision& decision) {
  AuthorityWrite w;
  w.family = family;
  w.author = kOfficeAuthor;
  w.action = decision.status == "SENT" ? "disclosure" : decision.status == "HELD" ? "share-held" : "share-cancelled";
  w.detail = decision.kind + " " + decision.request + " to " + decision.recipient + ", requested by " +
             decision.requested_by + " at " + decision.requested_at + ": " + decision.status;
  if (decision.status == "SENT") w.detail += "; disclosed " + some(decision.disclosed);
  if (!decision.uncovered.empty()) w.detail += "; consent does not cover " + joined(decision.uncovered);
  w.detail += "; " + decision.reason;
  w.plan = [family, decision](ServiceContext& ctx,
                              const sync::Materialiser& merged) -> Result<std::vector<AuthorityEdit>> {
    std::vector<AuthorityEdit> edits;
    edits.push_back(AuthorityEdit::set(decision.request, "status", decision.status));
    edits.push_back(AuthorityEdit::set(decision.request, "outcome_reason", decision.reason));
    edits.push_back(AuthorityEdit::set(decision.request, "decided_at", datetime_of(ctx.now())));
    if (decision.status != "HELD") return edits;
    // Returned to the lead professional as a decision task (S2 (b)); to a manager when the
    // family names no lead.
    std::string assignee = decision.lead;
    if (assignee.empty()) {
      const access::FamilyFacts* facts = ctx.cache.facts(family);  // write_as_authority brought the cache up to date
      if (facts) {
        auto manager = manager_for(ctx, merged.schema(), *facts);
        if (!manager) return manager.error();
        assignee = *manager;
      }
    }
    if (assignee.empty()) return edits;  // nobody to name: the held outcome and its audit event stand
    auto config = tenant_config(ctx);
    if (!config) return config.error();
    // Tasks reach the whole team: the detail names persons by id only; the names are in the
    // request's outcome_reason, which only those who may see the whole family receive.
    std::string detail = decision.kind + " " + decision.request + " to " + decision.recipient +
                         " is held for your decision" +
                         (decision.uncovered.empty() ? std::string()
                                                     : ": consent does not cover " + decision.recipient + " for " +
                                                           joined(decision.uncovered)) +
                         " (DOMAIN.md §6.6, §13 S2)";
    TaskSpec task{task_type::kShareHeld, assignee,
                  config->add_working_days(ctx.now(), config->task_due_working_days()), decision.request, detail};
    raise_task(merged, family, task, edits);
    return edits;
  };
  return w;
}

Result<std::optional<ShareDecision>> settle_share(ServiceContext& ctx, const std::string& family,
                                                  const std::string& request) {
  auto decision = decide_share(ctx, family, request);
  if (!decision || !*decision) return decision;
  if (auto w = write_as_authority(ctx, share_outcome(family, **decision)); !w) return w.error();
  return decision;
}

}  // namespace hearth::server
