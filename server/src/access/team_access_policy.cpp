#include "team_access_policy.hpp"

namespace hearth::server {

namespace {

using Outcome = WriteDecision::Outcome;

WriteDecision decide(Outcome outcome, std::string reason, bool creates = false) {
  return WriteDecision{outcome, std::move(reason), creates};
}

// The op that brings a family into being: the Create of its root record.
bool creates_family_root(const sync::Op& op) {
  return op.kind == sync::OpKind::Create && op.entity_type == "Family" && op.entity_id == op.family;
}

}  // namespace

Result<std::vector<std::string>> TeamAccessPolicy::readable_families(const Caller& caller) {
  return caseload_.families_of(caller.practitioner);
}

Result<FieldAccess> TeamAccessPolicy::readable_fields(const Caller&, const std::string&) { return FieldAccess{}; }

Result<WriteDecision> TeamAccessPolicy::may_write(const Caller& caller, const sync::Op& op) {
  if (op.family.empty()) return decide(Outcome::deny, "directory records are managed by the office");
  auto member = caseload_.membership(op.family, caller.practitioner);
  if (!member) return member.error();
  if (*member && !(*member)->removed_at) return decide(Outcome::allow, "on the team of family " + op.family);

  if (*member) {  // on the team once, taken off since
    int64_t removed = *(*member)->removed_at;
    if (caller.last_pull_at < removed)
      return decide(Outcome::allow_flagged,
                    "recorded by " + caller.practitioner + " after being taken off the team of family " + op.family +
                        " (removed at " + std::to_string(removed) + ", before this device last synced at " +
                        std::to_string(caller.last_pull_at) + "); flagged for the lead professional");
    return decide(Outcome::deny, "no access to family " + op.family + ": " + caller.practitioner +
                                     " was taken off its team before this device's last sync");
  }

  auto allocated = caseload_.family_allocated(op.family);
  if (!allocated) return allocated.error();
  bool exists = *allocated;
  if (!exists) {
    auto has_ops = ops_.family_has_ops(op.family);
    if (!has_ops) return has_ops.error();
    exists = *has_ops;
  }
  if (!exists && creates_family_root(op))
    return decide(Outcome::allow, "creates family " + op.family + " (its creator leads its team)", true);
  if (*allocated)
    return decide(Outcome::deny, "no access to family " + op.family +
                                     " (not on its team: the office allocated it to another practitioner)");
  return decide(Outcome::deny, "no access to family " + op.family + " (not on its team)");
}

}  // namespace hearth::server
