#include <catch2/catch.hpp>

#include "hearth/core/lifecycle.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using Catch::Matchers::Contains;

namespace {
const EntityDef& def(const char* name) { return *Schema::v1().entity(name); }
}  // namespace

TEST_CASE("Lifecycle: Referral follows DOMAIN.md 4.1", "[unit][lifecycle]") {
  FieldValues decided = {{"level_at_triage", "L2"}, {"decision", "SIGNPOST_IAG"},
                         {"decided_at", "2026-01-05T12:00:00Z"}, {"decided_by", "fd-1"}};
  CHECK(check_transition(def("Referral"), "RECEIVED", "TRIAGE", {}).ok());
  CHECK(check_transition(def("Referral"), "TRIAGE", "DECIDED", decided).ok());
  CHECK(check_transition(def("Referral"), "TRIAGE", "LINKED", {}).ok());

  auto skip = check_transition(def("Referral"), "RECEIVED", "CLOSED", {});
  REQUIRE_FALSE(skip.ok());
  CHECK(skip.error().code == ErrorCode::lifecycle);
  CHECK_THAT(skip.error().message, Contains("Referral") && Contains("RECEIVED -> CLOSED") && Contains("not allowed"));

  auto guard = check_transition(def("Referral"), "TRIAGE", "DECIDED", {{"decision", "SIGNPOST_IAG"}});
  REQUIRE_FALSE(guard.ok());
  CHECK_THAT(guard.error().message, Contains("Referral.level_at_triage") && Contains("set first"));

  auto closed = check_transition(def("Referral"), "CLOSED", "LINKED", {});
  CHECK_FALSE(closed.ok());  // CLOSED is terminal, "any -> LINKED" excludes it
}

TEST_CASE("Lifecycle: EarlyHelpEpisode follows DOMAIN.md 4.2", "[unit][lifecycle]") {
  const auto& ep = def("EarlyHelpEpisode");
  FieldValues with_lead = {{"lead_professional", "hv-1"}};
  CHECK(check_transition(ep, "OPEN_AWAITING_AGREEMENT", "ASSESSMENT", {}).ok());
  CHECK(check_transition(ep, "ASSESSMENT", "PLANNING", with_lead).ok());
  CHECK(check_transition(ep, "ACTIVE", "REVIEW", with_lead).ok());
  CHECK(check_transition(ep, "REVIEW", "ACTIVE", with_lead).ok());
  CHECK(check_transition(ep, "PLANNING", "STEP_UP_PENDING", {}).ok());  // step-up from any open state
  CHECK(check_transition(ep, "STEP_UP_PENDING", "PAUSED_CSC_LEAD", {}).ok());
  CHECK(check_transition(ep, "CLOSED", "ACTIVE", with_lead).ok());  // reopen

  auto no_lead = check_transition(ep, "ASSESSMENT", "PLANNING", {});
  REQUIRE_FALSE(no_lead.ok());
  CHECK_THAT(no_lead.error().message, Contains("EarlyHelpEpisode.lead_professional"));

  auto closure = check_transition(ep, "CLOSING", "CLOSED", {});
  REQUIRE_FALSE(closure.ok());
  CHECK_THAT(closure.error().message, Contains("closure_reason"));

  auto jump = check_transition(ep, "ASSESSMENT", "ACTIVE", with_lead);
  REQUIRE_FALSE(jump.ok());
  CHECK_THAT(jump.error().message, Contains("ASSESSMENT -> ACTIVE") && Contains("allowed from ASSESSMENT: PLANNING"));

  auto stepup_closed = check_transition(ep, "STEP_UP_PENDING", "CLOSED", {});
  CHECK_FALSE(stepup_closed.ok());  // §4.2 invariant: no direct close while stepped up
}

TEST_CASE("Lifecycle: Assessment follows DOMAIN.md 4.3", "[unit][lifecycle]") {
  const auto& a = def("Assessment");
  FieldValues complete = {{"completed_at", "2026-01-10T10:00:00Z"}, {"analysis", "x"},
                          {"parent_carer_views", "y"}, {"level_of_need_determined", "L3"},
                          {"presenting_needs", StringList{"PARENTING_SUPPORT"}}};
  CHECK(check_transition(a, "DRAFT", "IN_PROGRESS", {}).ok());
  CHECK(check_transition(a, "IN_PROGRESS", "COMPLETED", complete).ok());
  CHECK(check_transition(a, "COMPLETED", "AUTHORISED", {{"authorised_by", "tm-1"}, {"authorised_at", "2026-01-11T10:00:00Z"}}).ok());
  auto missing = check_transition(a, "IN_PROGRESS", "COMPLETED", {{"analysis", "x"}});
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error().message, Contains("needs Assessment."));
  auto locked = check_transition(a, "AUTHORISED", "IN_PROGRESS", {});
  REQUIRE_FALSE(locked.ok());
  CHECK_THAT(locked.error().message, Contains("AUTHORISED -> IN_PROGRESS"));
}

TEST_CASE("Lifecycle: FamilyPlan follows DOMAIN.md 4.4", "[unit][lifecycle]") {
  const auto& p = def("FamilyPlan");
  FieldValues agreed = {{"agreed_at", "2026-01-12T10:00:00Z"}, {"family_agreement", StringList{"mother-1"}}};
  CHECK(check_transition(p, "DRAFT", "AGREED", agreed).ok());
  CHECK(check_transition(p, "AGREED", "ACTIVE", agreed).ok());
  CHECK(check_transition(p, "ACTIVE", "LOCKED_STEPPED_UP", {}).ok());
  CHECK(check_transition(p, "LOCKED_STEPPED_UP", "ACTIVE", {}).ok());
  auto no_family = check_transition(p, "DRAFT", "AGREED", {{"agreed_at", "2026-01-12T10:00:00Z"}});
  REQUIRE_FALSE(no_family.ok());
  CHECK_THAT(no_family.error().message, Contains("FamilyPlan.family_agreement"));
  CHECK_FALSE(check_transition(p, "DRAFT", "ACTIVE", agreed).ok());
  CHECK_FALSE(check_transition(p, "CLOSED", "ACTIVE", {}).ok());
}

TEST_CASE("Lifecycle: an unknown target state is named", "[unit][lifecycle]") {
  auto r = check_transition(def("Referral"), "RECEIVED", "ARCHIVED", {});
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Contains("'ARCHIVED' is not a state of Referral"));
  auto none = check_transition(def("Person"), "A", "B", {});
  REQUIRE_FALSE(none.ok());
  CHECK_THAT(none.error().message, Contains("Person has no lifecycle"));
}
