#include "server_access_policy.hpp"

#include <algorithm>
#include <iterator>

#include "hearth/sync/access_intent.hpp"
#include "storage/flags.hpp"
#include "team_rule.hpp"

namespace hearth::server {

namespace {

access::Viewer viewer_of(const Caller& caller) {
  access::Viewer v;
  v.practitioner = caller.practitioner;
  v.organisation = caller.organisation;
  v.system_roles = caller.system_roles;
  return v;
}

}  // namespace

Result<void> ServerAccessPolicy::complete(Caller& caller) {
  auto p = caseload_.practitioner(caller.practitioner);
  if (!p) return p.error();
  caller.organisation = p->organisation;
  caller.system_roles = {"PRACTITIONER", p->role};
  return {};
}

Result<std::vector<std::string>> ServerAccessPolicy::readable_families(const Caller& caller) {
  auto families = caseload_.families_of(caller.practitioner);
  if (!families || !grants_) return families;
  // A break-glass grant (DOMAIN.md §7) until the server makes its expiry an event
  // (usecases/due_events.hpp); in between, the record-level policy already gives an expired
  // grant no standing, so nothing of the family is sent.
  auto granted = grants_->granted_families(caller.practitioner);
  if (!granted) return granted.error();
  if (granted->empty()) return families;
  std::vector<std::string> out;
  std::set_union(families->begin(), families->end(), granted->begin(), granted->end(), std::back_inserter(out));
  return out;
}

Result<void> ServerAccessPolicy::name_organisations(access::FamilyFacts& family) {
  for (const auto& r : family.records) {
    const EntityDef* def = schema_.entity(r.type);
    if (!def) continue;
    auto name = [&](const std::string& practitioner) -> Result<void> {
      if (practitioner.empty() || family.organisation_of.count(practitioner)) return {};
      auto p = caseload_.practitioner(practitioner);
      if (!p) return p.error().code == ErrorCode::not_found ? Result<void>{} : Result<void>{p.error()};
      family.organisation_of[practitioner] = p->organisation;
      return {};
    };
    if (auto n = name(r.created_by); !n) return n;
    for (const auto& f : def->fields) {
      if (f.ref != "Practitioner") continue;
      auto it = r.fields.find(f.name);
      if (it == r.fields.end()) continue;
      if (it->second.is_string()) {
        if (auto n = name(it->second.as_string()); !n) return n;
      } else if (it->second.is_list()) {
        for (const auto& p : it->second.as_list())
          if (auto n = name(p); !n) return n;
      }
    }
  }
  return {};
}

Result<access::FamilyView> ServerAccessPolicy::view(const Caller& caller, access::FamilyFacts& family, int64_t now_ms) {
  if (!records_team()) {
    // A schema that records no team (the peers' benchmark schema): the team index is the whole
    // answer, and a member receives the family whole.
    auto member = caseload_.membership(family.family, caller.practitioner);
    if (!member) return member.error();
    access::FamilyView v;
    if (*member && !(*member)->removed_at) {
      v.standing = access::Standing::full_member;
      v.reason = "on the family's team (the team index: this schema records no team)";
    } else {
      v.reason = "not on the family's team";
    }
    return v;
  }
  if (auto n = name_organisations(family); !n) return n.error();
  return access::view_of(schema_, family, viewer_of(caller), now_ms);
}

Result<WriteDecision> ServerAccessPolicy::may_write(const Caller& caller, const sync::Op& op,
                                                    access::FamilyFacts* family, int64_t now_ms) {
  WriteFacts f;
  f.family = op.family;
  f.practitioner = caller.practitioner;
  f.last_pull_at = caller.last_pull_at;
  // The op that brings a family into being: the Create of its root record.
  f.creates_root = op.kind == sync::OpKind::Create && schema_.is_family_root(op.entity_type) && op.entity_id == op.family;
  if (!f.family.empty()) {
    auto member = caseload_.membership(op.family, caller.practitioner);
    if (!member) return member.error();
    f.membership = *member;
    if (!f.membership) {  // only then does it matter whether the family exists
      auto allocated = caseload_.family_allocated(op.family);
      if (!allocated) return allocated.error();
      f.allocated = *allocated;
      if (!f.allocated) {
        auto has_ops = ops_.family_has_ops(op.family);
        if (!has_ops) return has_ops.error();
        f.has_ops = *has_ops;
      }
    }
  }
  WriteDecision team = decide_write(f);
  if (!records_team()) return team;  // no team records to judge by: the team rule is the answer
  // Off the team, or a brand-new family: the team rule is the whole answer, except that a
  // practitioner off the team may ask for emergency access (a BreakGlassGrant for themselves,
  // DOMAIN.md §7), which the record-level policy judges.
  const bool asks_break_glass = op.kind == sync::OpKind::Create && op.entity_type == "BreakGlassGrant";
  // A practitioner given a grant on this family is off the team but not without standing: the
  // record-level policy judges their writes too, so what they record is accepted, or held for
  // the team, never refused and then lost with the family when the grant ends (DOMAIN.md §7).
  // An ended grant counts as well: work recorded offline while it lasted arrives after it.
  bool holds_grant = false;
  if (!team.allowed() && !team.creates_family && family && !asks_break_glass)
    for (const auto& r : family->records)
      if (r.type == "BreakGlassGrant") {
        auto who = r.fields.find("practitioner");
        if (who != r.fields.end() && who->second.is_string() && who->second.as_string() == caller.practitioner) {
          holds_grant = true;
          break;
        }
      }
  if (team.creates_family || !family || (!team.allowed() && !asks_break_glass && !holds_grant)) return team;
  if (team.outcome == WriteDecision::Outcome::allow_flagged) {  // recorded before the removal was known
    team.flag_kind = kFlagRecordedAfterRemoval;
    return team;
  }
  if (auto n = name_organisations(*family); !n) return n.error();
  access::WriteVerdict verdict = access::judge_write(schema_, *family, viewer_of(caller), sync::intent_of(op), now_ms);
  switch (verdict.outcome) {
    case access::WriteVerdict::Outcome::allow:
      return WriteDecision{WriteDecision::Outcome::allow, team.allowed() ? team.reason : verdict.reason, "", false, ""};
    case access::WriteVerdict::Outcome::allow_flagged:
      return WriteDecision{WriteDecision::Outcome::allow_flagged, verdict.reason, "", false, kFlagRecordedAfterWithdrawal};
    case access::WriteVerdict::Outcome::hold:
      if (!team.allowed() && !holds_grant) return team;  // not on the team and not a valid break-glass request
      return WriteDecision{WriteDecision::Outcome::hold, verdict.reason, verdict.route_to, false, ""};
  }
  return team;
}

}  // namespace hearth::server
