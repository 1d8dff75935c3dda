// Withdrawal beats a concurrent grant (DOMAIN.md §8 C-12, §6.6): whatever another tablet does
// to the same consent record while offline (re-adding the recipient, re-activating the status,
// adding other recipients), once both sides have merged, in any order and with duplicates, the
// replicas are identical and the withdrawn organisation receives none of the person's records.
#include <catch2/catch.hpp>

#include <algorithm>
#include <random>

#include "../support/must.hpp"
#include "../support/replica.hpp"
#include "../support/samples.hpp"
#include "hearth/core/access.hpp"
#include "hearth/sync/access_intent.hpp"

using namespace hearth;
using namespace hearth::test;

namespace {

const std::string kFam = "fam-c12";

access::FamilyView school_view(const sync::Materialiser& m) {
  access::FamilyFacts facts = sync::family_facts(m, kFam);
  facts.organisation_of = {{"hv-1", "org-hv"}, {"dsl-1", "org-sch"}};
  access::Viewer school{"dsl-1", "org-sch", {"PRACTITIONER"}, false};
  return access::view_of(Schema::v1(), facts, school, 1796000000000);  // 2026-11-30
}

}  // namespace

TEST_CASE("Consent: a withdrawal beats a concurrent grant on another tablet, in any merge order", "[property][security]") {
  const int kSeeds = 200;
  for (int seed = 1; seed <= kSeeds; ++seed) {
    INFO("seed " << seed);
    std::mt19937_64 rng(static_cast<uint64_t>(seed));
    FakeClock clock;
    Replica lead("dev-lead", "hv-1", clock), other("dev-other", "hv-1", clock);
    std::vector<sync::Op> base;
    base.push_back(must(lead.create(kFam, "Family", kFam, family_fields())));
    base.push_back(must(lead.create(kFam, "Person", "p", person_fields("P", "1980-02-03"))));
    base.push_back(must(lead.create(kFam, "TeamMember", kFam + "/team/dsl-1",
                                    {{"practitioner", "dsl-1"}, {"organisation", "org-sch"}, {"team_role", "TAF_MEMBER"},
                                     {"access_scope", "FULL_EPISODE"}, {"joined_at", "2026-09-01T09:00:00Z"}})));
    FieldValues k = consent_fields();
    k["covers_persons"] = StringList{"p"};
    k["given_by"] = "p";
    k["recipients"] = StringList{"org-hv", "org-sch"};
    base.push_back(must(lead.create(kFam, "ConsentRecord", "k1", k)));
    FieldValues visit = contact_fields("2026-11-20T10:00:00Z", "about P");
    visit["persons_present"] = StringList{"p"};
    base.push_back(must(lead.create(kFam, "Contact", "c-p", visit)));
    other.receive_all(base);
    REQUIRE(school_view(other.mat()).record_visible("c-p"));

    // Offline on both sides: the lead records the withdrawal for the school; the other tablet,
    // unaware, does some of what a re-grant looks like.
    std::vector<sync::Op> withdrawal = {
        must(lead.add("k1", "withdrawn_recipients", "org-sch")),
        must(lead.set("k1", "withdrawal_scope", "RECIPIENTS")),
        must(lead.set("k1", "withdrawal_channel", "PHONE")),
    };
    std::vector<sync::Op> grant;
    if (rng() % 2) grant.push_back(must(other.remove("k1", "recipients", "org-sch")));
    grant.push_back(must(other.add("k1", "recipients", "org-sch")));
    if (rng() % 2) grant.push_back(must(other.add("k1", "recipients", "org-ys")));
    if (rng() % 2) grant.push_back(must(other.set("k1", "status", "ACTIVE")));

    // Each side receives the other's ops in a random order, some twice.
    auto shuffled = [&](std::vector<sync::Op> ops) {
      std::vector<sync::Op> out = ops;
      for (const auto& op : ops)
        if (rng() % 3 == 0) out.push_back(op);
      std::shuffle(out.begin(), out.end(), rng);
      return out;
    };
    lead.receive_all(shuffled(grant));
    other.receive_all(shuffled(withdrawal));

    CHECK(must(lead.mat().render_family(kFam)) == must(other.mat().render_family(kFam)));
    for (Replica* r : {&lead, &other}) {
      access::FamilyView v = school_view(r->mat());
      CHECK_FALSE(v.record_visible("c-p"));
      CHECK_FALSE(v.record_visible("p"));
    }
  }
}
