// The sync side of the access policy: ops as WriteIntents, a materialised family as FamilyFacts
// (sync/access_intent.hpp), and the two together through the pure policy (core/access.hpp).
#include <catch2/catch.hpp>

#include "../support/must.hpp"
#include "../support/replica.hpp"
#include "../support/samples.hpp"
#include "hearth/sync/access_intent.hpp"

using namespace hearth;
using namespace hearth::sync;
using hearth::test::must;

namespace {

const access::RecordFacts* find(const access::FamilyFacts& f, const std::string& id) {
  for (const auto& r : f.records)
    if (r.id == id) return &r;
  return nullptr;
}

}  // namespace

TEST_CASE("Access intent: family_facts holds the live records with their shown values and creators", "[unit][access]") {
  test::FakeClock clock;
  test::Replica hv("dev-hv", "hv-1", clock), yw("dev-yw", "yw-1", clock);
  const std::string fam = "fam-1";
  hv.receive(must(hv.create(fam, "Family", fam, test::family_fields())));
  must(hv.create(fam, "Person", "child-1", test::person_fields("B")));
  must(hv.create(fam, "EarlyHelpEpisode", "ep-1", test::episode_fields()));
  must(hv.create(fam, "Alert", "al-1", test::alert_fields()));
  yw.receive_all(hv.made());
  Op contact = must(yw.create(fam, "Contact", "c-1", test::contact_fields("2026-01-07T10:00:00Z", "Visit", "yw-1")));
  Op level = must(yw.set("ep-1", "level_of_need", "L4"));
  Op erased = must(hv.erase("al-1"));
  hv.receive(contact);
  hv.receive(level);

  access::FamilyFacts facts = family_facts(hv.mat(), fam);
  CHECK(facts.family == fam);
  CHECK(facts.organisation_of.empty());
  CHECK(facts.records.size() == 4);  // the alert was deleted
  CHECK(find(facts, "al-1") == nullptr);
  const auto* episode = find(facts, "ep-1");
  REQUIRE(episode);
  CHECK(episode->type == "EarlyHelpEpisode");
  CHECK(episode->created_by == "hv-1");
  CHECK(episode->fields.at("level_of_need") == Value("L4"));
  CHECK(episode->fields.at("status") == Value("OPEN_AWAITING_AGREEMENT"));  // the lifecycle's state is shown
  CHECK(episode->fields.at("subject_children") == Value(StringList{"child-1"}));
  const auto* visit = find(facts, "c-1");
  REQUIRE(visit);
  CHECK(visit->created_by == "yw-1");
  CHECK(find(facts, fam)->fields.at("display_name") == Value("Family F"));
  CHECK(family_facts(hv.mat(), "fam-none").records.empty());
  (void)erased;
}

TEST_CASE("Access intent: every op kind maps onto the policy's write", "[unit][access]") {
  using Kind = access::WriteIntent::Kind;
  test::FakeClock clock;
  test::Replica hv("dev-hv", "hv-1", clock);
  const std::string fam = "fam-1";
  Op root = must(hv.create(fam, "Family", fam, test::family_fields()));
  Op ep = must(hv.create(fam, "EarlyHelpEpisode", "ep-1", test::episode_fields()));
  Op set = must(hv.set("ep-1", "lead_professional", "yw-1"));
  Op add = must(hv.add("ep-1", "subject_children", "child-2"));
  Op rem = must(hv.remove("ep-1", "subject_children", "child-2"));
  Op moved = must(hv.transition("ep-1", "ASSESSMENT"));
  must(hv.create(fam, "Alert", "al-1", test::alert_fields()));
  Op del = must(hv.erase("al-1"));

  access::WriteIntent c = intent_of(ep);
  CHECK(c.kind == Kind::create);
  CHECK(c.entity_type == "EarlyHelpEpisode");
  CHECK(c.entity_id == "ep-1");
  CHECK(c.fields == ep.fields);
  CHECK(c.field.empty());
  access::WriteIntent s = intent_of(set);
  CHECK(s.kind == Kind::set);
  CHECK(s.field == "lead_professional");
  CHECK(s.value == Value("yw-1"));
  CHECK(intent_of(add).kind == Kind::add);
  CHECK(intent_of(add).value == Value("child-2"));
  CHECK(intent_of(rem).kind == Kind::remove);
  CHECK(intent_of(rem).field == "subject_children");
  access::WriteIntent t = intent_of(moved);
  CHECK(t.kind == Kind::transition);
  CHECK(t.field == "status");
  CHECK(t.value == Value("ASSESSMENT"));
  access::WriteIntent d = intent_of(del);
  CHECK(d.kind == Kind::remove_record);
  CHECK(d.entity_id == "al-1");
  Op ack = root;
  ack.kind = OpKind::Acknowledge;
  ack.text = "conflict-1";
  CHECK(intent_of(ack).kind == Kind::acknowledge);
  Op restamp = root;
  restamp.kind = OpKind::Restamp;
  restamp.value = Value(int64_t{1767225600000});
  access::WriteIntent r = intent_of(restamp);
  CHECK(r.kind == Kind::set);
  CHECK(r.field.empty());
  CHECK(r.value.is_null());

  // Through the policy: the lead may change the lead professional, a team member may not, and
  // a restamp is the office's alone.
  access::FamilyFacts facts = family_facts(hv.mat(), fam);
  facts.organisation_of = {{"hv-1", "org-eh"}, {"yw-1", "org-ys"}};
  facts.records.push_back({"TeamMember", fam + "/team/yw-1",
                           {{"practitioner", "yw-1"}, {"organisation", "org-ys"}, {"team_role", "TAF_MEMBER"},
                            {"access_scope", "FULL_EPISODE"}, {"joined_at", "2026-01-01T00:00:00Z"}},
                           "hv-1"});
  const int64_t now = 1767225600000 + 1000;
  access::Viewer lead{"yw-1", "org-ys", {}, false};  // after `set`, yw-1 is the lead professional
  CHECK(access::judge_write(Schema::v1(), facts, lead, intent_of(set), now).allowed());
  access::Viewer former{"hv-1", "org-eh", {}, false};
  access::WriteVerdict v = access::judge_write(Schema::v1(), facts, former, intent_of(set), now);
  CHECK(v.outcome == access::WriteVerdict::Outcome::hold);  // hv-1 is no longer on the team
  CHECK_FALSE(access::judge_write(Schema::v1(), facts, lead, r, now).allowed());
  access::Viewer office;
  office.office = true;
  CHECK(access::judge_write(Schema::v1(), facts, office, r, now).allowed());
  CHECK(access::view_of(Schema::v1(), facts, lead, now).standing == access::Standing::lead);
}
