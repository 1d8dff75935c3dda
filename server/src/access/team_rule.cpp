#include "team_rule.hpp"

namespace hearth::server {

namespace {

using Outcome = WriteDecision::Outcome;

WriteDecision decide(Outcome outcome, std::string reason, bool creates = false) {
  return WriteDecision{outcome, std::move(reason), "", creates, ""};
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

}  // namespace hearth::server
