#include "team_access_policy.hpp"

#include "team_rule.hpp"

namespace hearth::server {

namespace {

using Outcome = WriteDecision::Outcome;

WriteDecision decide(Outcome outcome, std::string reason, bool creates = false) {
  return WriteDecision{outcome, std::move(reason), creates};
}

}  // namespace

WriteDecision decide_write(const WriteFacts& f) {
  if (f.family.empty()) return decide(Outcome::deny, "directory records are managed by the office");
  if (f.membership && !f.membership->removed_at) return decide(Outcome::allow, "on the team of family " + f.family);
  if (f.membership) {  // on the team once, taken off since
    int64_t removed = *f.membership->removed_at;
    if (f.last_pull_at < removed)
      return decide(Outcome::allow_flagged,
                    "recorded by " + f.practitioner + " after being taken off the team of family " + f.family +
                        " (removed at " + std::to_string(removed) + ", after this device last synced at " +
                        std::to_string(f.last_pull_at) + "); flagged for the lead professional");
    return decide(Outcome::deny, "no access to family " + f.family + ": " + f.practitioner +
                                     " was taken off its team before this device's last sync");
  }
  if (!f.allocated && !f.has_ops && f.creates_root)
    return decide(Outcome::allow, "creates family " + f.family + " (its creator leads its team)", true);
  if (f.allocated)
    return decide(Outcome::deny, "no access to family " + f.family +
                                     " (not on its team: the office allocated it to another practitioner)");
  return decide(Outcome::deny, "no access to family " + f.family + " (not on its team)");
}

Result<std::vector<std::string>> TeamAccessPolicy::readable_families(const Caller& caller) {
  return caseload_.families_of(caller.practitioner);
}

Result<FieldAccess> TeamAccessPolicy::readable_fields(const Caller&, const std::string&) { return FieldAccess{}; }

Result<WriteDecision> TeamAccessPolicy::may_write(const Caller& caller, const sync::Op& op) {
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
  return decide_write(f);
}

}  // namespace hearth::server
