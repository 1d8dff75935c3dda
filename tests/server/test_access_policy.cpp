// ServerAccessPolicy (server/src/access/): the team rule, decided in one place, before the
// record-level policy of core/access.hpp (tests/core/test_access_policy.cpp).
// Fault 7 (who may create a family) and fault 2 server side (recording is not sharing,
// DOMAIN.md §6.6) are decided here; the service tests check them end to end in process.
#include <catch2/catch.hpp>

#include "../support/audit_key.hpp"
#include "../support/must.hpp"
#include "../support/temp_dir.hpp"
#include "access/server_access_policy.hpp"
#include "access/team_rule.hpp"
#include "storage/storage.hpp"

using namespace hearth;
using namespace hearth::server;
using hearth::test::must;
using Catch::Matchers::Contains;
using Outcome = WriteDecision::Outcome;

namespace {

struct World {
  test::TempDir dir;
  std::unique_ptr<Storage> store = must(open_sqlite_storage(dir.file("server.db"), hearth::test::audit_key()));
  ServerAccessPolicy policy{store->caseload(), store->ops()};
  World() {
    must(store->caseload().add_organisation("org-hv", "Health Visiting", "HEALTH_VISITING"));
    for (const char* p : {"hv-1", "yw-1", "tm-1"})
      must(store->caseload().add_practitioner(p, "org-hv", p, "PRACTITIONER"));
  }
  // No records passed: the team rule alone (the record-level policy has its own tests).
  WriteDecision may_write(const Caller& c, const sync::Op& op) { return must(policy.may_write(c, op, nullptr, 0)); }
};

sync::Op create_family(const std::string& family, const std::string& author, const std::string& device) {
  sync::Op op;
  op.id = sync::OpId{device, 1};
  op.author = author;
  op.family = family;
  op.entity_type = "Family";
  op.entity_id = family;
  op.kind = sync::OpKind::Create;
  return op;
}

sync::Op contact(const std::string& family, const std::string& author, const std::string& device) {
  sync::Op op = create_family(family, author, device);
  op.entity_type = "Contact";
  op.entity_id = "contact-1";
  return op;
}

}  // namespace

TEST_CASE("Access policy: members read and write their families, others are refused with a reason", "[unit][security]") {
  World w;
  must(w.store->caseload().allocate("fam-1", "hv-1", true, 1000));
  Caller hv{"hv-1", "dev-hv", 0, "", {}}, yw{"yw-1", "dev-yw", 0, "", {}};
  CHECK(must(w.policy.readable_families(hv)) == std::vector<std::string>{"fam-1"});
  CHECK(must(w.policy.readable_families(yw)).empty());
  CHECK(w.may_write(hv, contact("fam-1", "hv-1", "dev-hv")).outcome == Outcome::allow);
  auto no = w.may_write(yw, contact("fam-1", "yw-1", "dev-yw"));
  CHECK(no.outcome == Outcome::deny);
  CHECK_THAT(no.reason, Contains("no access to family fam-1"));
  auto directory = w.may_write(hv, contact("", "hv-1", "dev-hv"));
  CHECK(directory.outcome == Outcome::deny);
  CHECK_THAT(directory.reason, Contains("managed by the office"));
}

TEST_CASE("Fault 7: a family allocated by the office before its first op cannot be created by another practitioner",
          "[unit][fault][security]") {
  World w;
  // The office allocates fam-7 to hv-1; no op of it exists yet.
  must(w.store->caseload().allocate("fam-7", "hv-1", false, 1000));
  Caller hv{"hv-1", "dev-hv", 0, "", {}}, yw{"yw-1", "dev-yw", 0, "", {}};
  auto other = w.may_write(yw, create_family("fam-7", "yw-1", "dev-yw"));
  CHECK(other.outcome == Outcome::deny);
  CHECK_FALSE(other.creates_family);
  CHECK_THAT(other.reason, Contains("allocated it to another practitioner"));
  // the practitioner it was allocated to creates it, without becoming a second lead by it
  auto own = w.may_write(hv, create_family("fam-7", "hv-1", "dev-hv"));
  CHECK(own.outcome == Outcome::allow);
  CHECK_FALSE(own.creates_family);
  // a brand-new id: its creator leads it
  auto fresh = w.may_write(yw, create_family("fam-new", "yw-1", "dev-yw"));
  CHECK(fresh.outcome == Outcome::allow);
  CHECK(fresh.creates_family);
  // a family that exists only by its ops (all its team removed since) is not new either
  must(w.store->ops().append(StoredOp{0, "fam-ops", "dev-hv", 1, "x"}));
  CHECK(w.may_write(yw, create_family("fam-ops", "yw-1", "dev-yw")).outcome == Outcome::deny);
  // and only the family's root record can bring it into being
  CHECK(w.may_write(yw, contact("fam-other", "yw-1", "dev-yw")).outcome == Outcome::deny);
}

TEST_CASE("Fault 2: work recorded by a practitioner taken off the team is accepted and flagged only if the device "
          "last synced before the removal", "[unit][fault]") {
  World w;
  Caseload& c = w.store->caseload();
  must(c.allocate("fam-2", "hv-1", true, 1000));
  must(c.allocate("fam-2", "yw-1", false, 1000));
  must(c.deallocate("fam-2", "yw-1", 5000));  // removed at 5000
  // the device last pulled at 4000: it had access then, the note was recorded offline
  auto before = w.may_write(Caller{"yw-1", "dev-yw", 4000, "", {}}, contact("fam-2", "yw-1", "dev-yw"));
  CHECK(before.outcome == Outcome::allow_flagged);
  CHECK(before.allowed());
  CHECK_THAT(before.reason, Contains("flagged for the lead professional"));
  // a device that never completed a pull cannot have learned of the removal either
  CHECK(w.may_write(Caller{"yw-1", "dev-yw2", 0, "", {}}, contact("fam-2", "yw-1", "dev-yw2")).outcome == Outcome::allow_flagged);
  // the device pulled after the removal: it was told, so the work is refused with a reason
  auto after = w.may_write(Caller{"yw-1", "dev-yw", 6000, "", {}}, contact("fam-2", "yw-1", "dev-yw"));
  CHECK(after.outcome == Outcome::deny);
  CHECK_THAT(after.reason, Contains("taken off its team before this device's last sync"));
  // back on the team: plain access again
  must(c.allocate("fam-2", "yw-1", false, 7000));
  CHECK(w.may_write(Caller{"yw-1", "dev-yw", 6000, "", {}}, contact("fam-2", "yw-1", "dev-yw")).outcome == Outcome::allow);
}

TEST_CASE("Access policy: the team rule as a pure function of its facts", "[unit]") {
  auto facts = [](std::optional<Membership> m, bool allocated, bool has_ops, bool creates_root, int64_t last_pull) {
    return WriteFacts{"fam-1", "yw-1", last_pull, creates_root, std::move(m), allocated, has_ops};
  };
  Membership current{"fam-1", "yw-1", false, 100, std::nullopt};
  Membership removed{"fam-1", "yw-1", false, 100, 500};
  struct Case {
    WriteFacts f;
    Outcome expected;
    bool creates;
  };
  std::vector<Case> cases = {
      {facts(current, true, true, false, 0), Outcome::allow, false},
      {facts(current, true, false, true, 0), Outcome::allow, false},      // allocated member creates it
      {facts(removed, true, true, false, 499), Outcome::allow_flagged, false},
      {facts(removed, true, true, false, 500), Outcome::deny, false},     // pulled at the removal: told
      {facts(removed, true, true, false, 900), Outcome::deny, false},
      {facts(std::nullopt, false, false, true, 0), Outcome::allow, true},  // brand-new id
      {facts(std::nullopt, true, false, true, 0), Outcome::deny, false},   // fault 7
      {facts(std::nullopt, false, true, true, 0), Outcome::deny, false},   // exists by its ops
      {facts(std::nullopt, false, false, false, 0), Outcome::deny, false}, // not the root record
  };
  for (size_t i = 0; i < cases.size(); ++i) {
    INFO("case " << i);
    auto d = decide_write(cases[i].f);
    CHECK(d.outcome == cases[i].expected);
    CHECK(d.creates_family == cases[i].creates);
    CHECK_FALSE(d.reason.empty());
  }
  WriteFacts directory = facts(current, true, true, false, 0);
  directory.family = "";
  CHECK(decide_write(directory).outcome == Outcome::deny);
}
