#pragma once
// The server's access policy: the team rule (team_rule.hpp) decides who reaches a family at all,
// then the pure policy of core/access.hpp decides, from the family's own records, which records
// and fields each practitioner receives and which writes they may make (consent per person,
// roles, need-to-know: DOMAIN.md §5-§7). This class only gathers facts: the team index and its
// history, and the directory's organisations and roles.
#include "access_policy.hpp"
#include "hearth/core/schema.hpp"
#include "storage/caseload.hpp"
#include "storage/op_log.hpp"
#include "storage/time_index.hpp"

namespace hearth::server {

class ServerAccessPolicy final : public AccessPolicy {
 public:
  // `grants`: the break-glass grants whose families their grantees may read while unexpired
  // (DOMAIN.md §7); nullptr: none.
  ServerAccessPolicy(Caseload& caseload, OpLog& ops, const Schema& schema = Schema::v1(), TimeIndex* grants = nullptr)
      : caseload_(caseload), ops_(ops), schema_(schema), grants_(grants) {}
  Result<void> complete(Caller& caller) override;
  Result<std::vector<std::string>> readable_families(const Caller& caller) override;
  Result<access::FamilyView> view(const Caller& caller, access::FamilyFacts& family, int64_t now_ms) override;
  Result<WriteDecision> may_write(const Caller& caller, const sync::Op& op, access::FamilyFacts* family,
                                  int64_t now_ms) override;

 private:
  // Fills family.organisation_of for every practitioner its records name, from the directory.
  Result<void> name_organisations(access::FamilyFacts& family);

  Caseload& caseload_;
  OpLog& ops_;
  const Schema& schema_;
  // Whether the schema keeps the team as records (TeamMember); the peers' benchmark schema does not.
  bool records_team() const { return schema_.entity("TeamMember") != nullptr; }
  TimeIndex* grants_;
};

}  // namespace hearth::server
