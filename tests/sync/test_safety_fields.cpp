// Concurrent edits to each safety or judgement field never overwrite silently: whichever
// edit has the later stamp, both values stay retrievable, a conflict names both authors,
// and a safety field shows its protective value.
#include <catch2/catch.hpp>

#include "../support/replica.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using namespace hearth::sync;

namespace {
struct Case {
  const char* type;
  const char* id;
  const char* field;
  Value first;   // written by device A
  Value second;  // written by device B
  std::optional<Value> protective;
};
}  // namespace

TEST_CASE("Safety and judgement fields never overwrite silently", "[property][merge]") {
  auto c = GENERATE(
      Case{"EarlyHelpEpisode", "ep-1", "level_of_need", Value("L4"), Value("L2"), Value("L4")},
      Case{"EarlyHelpEpisode", "ep-1", "level_of_need", Value("L1"), Value("L3"), Value("L3")},
      Case{"AssessmentFinding", "as-1/finding/FEF_HOUSING", "needs_worries", Value("HV view"), Value("YW view"), std::nullopt},
      Case{"Assessment", "as-1", "analysis", Value("HV analysis"), Value("YW analysis"), std::nullopt},
      Case{"EarlyHelpEpisode", "ep-1", "lead_professional", Value("hv-1"), Value("yw-1"), std::nullopt},
      Case{"ConsentRecord", "cons-1", "status", Value("WITHDRAWN"), Value("ACTIVE"), Value("WITHDRAWN")},
      Case{"PlanAction", "act-1", "status", Value("DONE"), Value("NOT_DONE"), std::nullopt},
      Case{"Address", "addr-1", "confidential", Value(true), Value(false), Value(true)},
      Case{"Referral", "ref-1", "significant_harm_suspected", Value(false), Value(true), Value(true)},
      Case{"Alert", "al-1", "severity", Value("HIGH"), Value("INFO"), Value("HIGH")});
  bool a_later = GENERATE(false, true);
  CAPTURE(c.type, c.field, a_later);

  test::FakeClock clock;
  test::Replica a("dev-a", "hv-1", clock), b("dev-b", "yw-1", clock);
  const std::string fam = "fam-1";
  auto ok = [](const auto& r) {
    INFO((r.ok() ? std::string() : r.error().describe()));
    REQUIRE(r.ok());
  };
  ok(a.create(fam, "Family", fam, test::family_fields()));
  ok(a.create(fam, "EarlyHelpEpisode", "ep-1", test::episode_fields()));
  ok(a.create(fam, "AssessmentFinding", "as-1/finding/FEF_HOUSING", {{"assessment", "as-1"}, {"domain", "FEF_HOUSING"}}));
  ok(a.create(fam, "Assessment", "as-1", test::assessment_fields()));
  ok(a.create(fam, "ConsentRecord", "cons-1", test::consent_fields()));
  ok(a.create(fam, "PlanAction", "act-1", test::action_fields()));
  ok(a.create(fam, "Address", "addr-1", {{"lines", "1 High St"}, {"postcode", "AB1 2CD"}, {"type", "HOME"}, {"confidential", false}}));
  ok(a.create(fam, "Referral", "ref-1", test::referral_fields()));
  ok(a.create(fam, "Alert", "al-1", test::alert_fields("WARNING")));
  b.receive_all(a.made());

  if (a_later) {
    ok(b.set(c.id, c.field, c.second));
    clock.advance(1000);
    ok(a.set(c.id, c.field, c.first));
  } else {
    ok(a.set(c.id, c.field, c.first));
    clock.advance(1000);
    ok(b.set(c.id, c.field, c.second));
  }
  b.receive_all(a.made());
  a.receive_all(b.made());

  for (auto* r : {&a, &b}) {
    REQUIRE(r->mat().render_family(fam).value() == a.mat().render_family(fam).value());
    auto conflicts = r->mat().open_conflicts(fam);
    REQUIRE(conflicts.size() == 1);
    const Conflict& k = conflicts[0];
    CHECK(k.entity_id == c.id);
    CHECK(k.field == c.field);
    REQUIRE(k.values.size() == 2);
    std::set<std::string> authors = {k.values[0].author, k.values[1].author};
    CHECK(authors == std::set<std::string>{"hv-1", "yw-1"});
    bool has_first = k.values[0].value == c.first || k.values[1].value == c.first;
    bool has_second = k.values[0].value == c.second || k.values[1].value == c.second;
    CHECK((has_first && has_second));
    auto history = r->mat().history(c.id, c.field);
    CHECK(std::count_if(history.begin(), history.end(), [&](const Write& w) { return w.value == c.first; }) >= 1);
    CHECK(std::count_if(history.begin(), history.end(), [&](const Write& w) { return w.value == c.second; }) >= 1);
    if (c.protective) CHECK(r->mat().entity(c.id)->value(c.field) == *c.protective);
  }
}
