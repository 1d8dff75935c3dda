#pragma once
// The first access policy: the family team (DOMAIN.md §7, today's rule).
// - A practitioner reads and writes the families whose team they are on.
// - A family exists once the office allocated it (a caseload row) or once any op of it exists.
//   Only a member of its team may create it; creating a family id that does not exist yet
//   makes the creator its lead.
// - Recording is not sharing (DOMAIN.md §6.6): an op from a practitioner taken off the team is
//   accepted and flagged for the lead professional when the device's last complete pull was
//   before the removal (the practitioner still had access when the device last synced);
//   otherwise it is refused with a reason.
// - Directory records (no family) are managed by the office.
// The rule itself is the pure function decide_write (team_rule.hpp); this class gathers its facts.
#include "access_policy.hpp"
#include "hearth/core/schema.hpp"
#include "storage/caseload.hpp"
#include "storage/op_log.hpp"

namespace hearth::server {

class TeamAccessPolicy final : public AccessPolicy {
 public:
  // `schema` names the family root type (the Create that brings a family into being).
  TeamAccessPolicy(Caseload& caseload, OpLog& ops, const Schema& schema = Schema::v1())
      : caseload_(caseload), ops_(ops), schema_(schema) {}
  Result<std::vector<std::string>> readable_families(const Caller& caller) override;
  Result<FieldAccess> readable_fields(const Caller& caller, const std::string& family) override;
  Result<WriteDecision> may_write(const Caller& caller, const sync::Op& op) override;

 private:
  Caseload& caseload_;
  OpLog& ops_;
  const Schema& schema_;
};

}  // namespace hearth::server
