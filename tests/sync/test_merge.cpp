// One test per merge class of DOMAIN.md §8.2, with two replicas editing offline.
#include <catch2/catch.hpp>

#include "hearth/sync/clock_guard.hpp"
#include "../support/replica.hpp"
#include "../support/samples.hpp"

using namespace hearth;
using namespace hearth::sync;
using test::Replica;

namespace {

struct Pair {
  test::FakeClock clock;
  Replica a{"dev-a", "hv-1", clock};
  Replica b{"dev-b", "yw-1", clock};
  std::string fam;

  Pair() {
    fam = "fam-1";
    REQUIRE(a.create(fam, "Family", fam, test::family_fields()).ok());
    sync();
  }
  // Everything each has made reaches the other (both directions).
  void sync() {
    b.receive_all(a.made());
    a.receive_all(b.made());
  }
  template <typename T>
  static T ok(Result<T> r) {
    INFO((r.ok() ? std::string() : r.error().describe()));
    REQUIRE(r.ok());
    return std::move(r.value());
  }
  void same() { CHECK(a.mat().render_family(fam).value() == b.mat().render_family(fam).value()); }
};

}  // namespace

TEST_CASE("Merge LWW_SILENT: the later write wins, quietly, and the loser stays in history", "[unit][merge]") {
  Pair p;
  Pair::ok(p.a.set(p.fam, "phone", "07700 900002"));
  p.clock.advance(1000);
  Pair::ok(p.b.set(p.fam, "phone", "07700 900001"));
  p.sync();
  p.same();
  CHECK(p.a.mat().entity(p.fam)->value("phone") == Value("07700 900001"));
  CHECK(p.a.mat().open_conflicts(p.fam).empty());
  auto h = p.a.mat().history(p.fam, "phone");
  REQUIRE(h.size() == 3);
  CHECK(h[1].value == Value("07700 900002"));
}

TEST_CASE("Merge LWW_NOTIFY: the later write wins and a notice is raised until acknowledged", "[unit][merge]") {
  Pair p;
  Pair::ok(p.a.create(p.fam, "PlanAction", "act-1", test::action_fields()));
  p.sync();
  Pair::ok(p.a.set("act-1", "due_date", "2026-02-10"));
  p.clock.advance(10);
  Pair::ok(p.b.set("act-1", "due_date", "2026-02-20"));
  p.sync();
  p.same();
  CHECK(p.a.mat().entity("act-1")->value("due_date") == Value("2026-02-20"));
  auto cs = p.a.mat().open_conflicts(p.fam);
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].kind == ConflictKind::Notify);
  CHECK(cs[0].auto_applied == Value("2026-02-20"));
  Pair::ok(p.a.resolve("act-1", cs[0].id, std::nullopt));
  p.sync();
  p.same();
  CHECK(p.b.mat().open_conflicts(p.fam).empty());
  CHECK(p.b.mat().entity("act-1")->value("due_date") == Value("2026-02-20"));
}

TEST_CASE("Merge SAFETY_MAX: the protective value applies at once and a person confirms", "[unit][merge]") {
  Pair p;
  Pair::ok(p.a.create(p.fam, "EarlyHelpEpisode", "ep-1", test::episode_fields()));
  p.sync();
  Pair::ok(p.a.set("ep-1", "level_of_need", "L4"));  // HV raises, earlier
  p.clock.advance(60'000);
  Pair::ok(p.b.set("ep-1", "level_of_need", "L2"));  // manager lowers, later stamp
  p.sync();
  p.same();
  CHECK(p.a.mat().entity("ep-1")->value("level_of_need") == Value("L4"));
  auto cs = p.a.mat().open_conflicts(p.fam);
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].kind == ConflictKind::Confirm);
  CHECK(cs[0].assignee_role == "TEAM_MANAGER");
  CHECK(cs[0].values.size() == 2);

  SECTION("the manager confirms a lower level deliberately") {
    Pair::ok(p.b.resolve("ep-1", cs[0].id, Value("L3")));
    p.sync();
    p.same();
    CHECK(p.a.mat().entity("ep-1")->value("level_of_need") == Value("L3"));
    CHECK(p.a.mat().open_conflicts(p.fam).empty());
  }
  SECTION("boolean safety flags: true wins") {
    Pair::ok(p.a.create(p.fam, "Address", "addr-1",
                        {{"lines", "1 High St"}, {"postcode", "AB1 2CD"}, {"type", "REFUGE"}, {"confidential", false}}));
    p.sync();
    Pair::ok(p.a.set("addr-1", "confidential", true));
    p.clock.advance(1000);
    Pair::ok(p.b.set("addr-1", "confidential", false));
    p.sync();
    CHECK(p.b.mat().entity("addr-1")->value("confidential") == Value(true));
  }
}

TEST_CASE("Merge MULTI_VALUE_REVIEW: every concurrent value is kept until a person resolves", "[unit][merge]") {
  Pair p;
  std::string section = "as-1/finding/FEF_FAMILY_HISTORY_FUNCTIONING";
  Pair::ok(p.a.create(p.fam, "AssessmentFinding", section,
                      {{"assessment", "as-1"}, {"domain", "FEF_FAMILY_HISTORY_FUNCTIONING"}}));
  p.sync();
  Pair::ok(p.a.set(section, "needs_worries", "HV: mother disclosed an argument"));
  Pair::ok(p.b.set(section, "needs_worries", "YW: Y says home is tense"));
  p.sync();
  p.same();
  auto heads = p.a.mat().entity(section)->heads("needs_worries");
  REQUIRE(heads.size() == 2);
  auto cs = p.a.mat().open_conflicts(p.fam);
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].kind == ConflictKind::Review);
  CHECK(cs[0].assignee_role == "AUTHOR");
  CHECK_FALSE(cs[0].auto_applied.has_value());
  auto r = p.a.resolve(section, cs[0].id, std::nullopt);
  CHECK_FALSE(r.ok());  // a review needs a chosen or merged value

  SECTION("a resolution supersedes exactly the values it saw") {
    Pair::ok(p.a.resolve(section, cs[0].id, Value("Merged: both accounts")));
    p.sync();
    p.same();
    CHECK(p.b.mat().open_conflicts(p.fam).empty());
    CHECK(p.b.mat().entity(section)->value("needs_worries") == Value("Merged: both accounts"));
  }
  SECTION("a resolution racing a new edit leaves the conflict open with both") {
    Pair::ok(p.a.resolve(section, cs[0].id, Value("Merged")));
    Pair::ok(p.b.set(section, "needs_worries", "YW: new information"));
    p.sync();
    p.same();
    auto again = p.a.mat().open_conflicts(p.fam);
    REQUIRE(again.size() == 1);
    CHECK(again[0].values.size() == 2);
    CHECK(again[0].id != cs[0].id);
  }
}

TEST_CASE("Merge SET_ADD_WINS: add wins over a concurrent remove", "[unit][merge]") {
  Pair p;
  auto ref = test::referral_fields();
  ref["presenting_needs"] = StringList{"PARENTING_SUPPORT", "DOMESTIC_ABUSE"};
  Pair::ok(p.a.create(p.fam, "Referral", "ref-1", ref));
  p.sync();
  Pair::ok(p.a.remove("ref-1", "presenting_needs", "DOMESTIC_ABUSE"));
  Pair::ok(p.b.add("ref-1", "presenting_needs", "DOMESTIC_ABUSE"));
  Pair::ok(p.b.add("ref-1", "presenting_needs", "HOUSING_HOMELESSNESS"));
  p.sync();
  p.same();
  CHECK(p.a.mat().entity("ref-1")->value("presenting_needs") ==
        Value(StringList{"DOMESTIC_ABUSE", "HOUSING_HOMELESSNESS", "PARENTING_SUPPORT"}));
  // a remove that saw every add removes the element everywhere
  Pair::ok(p.a.remove("ref-1", "presenting_needs", "DOMESTIC_ABUSE"));
  p.sync();
  CHECK(p.b.mat().entity("ref-1")->value("presenting_needs") ==
        Value(StringList{"HOUSING_HOMELESSNESS", "PARENTING_SUPPORT"}));
  auto missing = p.a.remove("ref-1", "presenting_needs", "DOMESTIC_ABUSE");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code == ErrorCode::not_found);
}

TEST_CASE("Merge APPEND: both visit notes survive, in occurred_at order", "[unit][merge]") {
  Pair p;
  Pair::ok(p.b.create(p.fam, "Contact", "c-2", test::contact_fields("2026-01-07T15:00:00Z", "YW saw Y alone", "yw-1")));
  Pair::ok(p.a.create(p.fam, "Contact", "c-1", test::contact_fields("2026-01-07T10:00:00Z", "HV saw B")));
  p.sync();
  p.same();
  auto chron = p.a.mat().chronology(p.fam);
  REQUIRE(chron.size() == 2);
  CHECK(chron[0]->id() == "c-1");
  CHECK(chron[1]->id() == "c-2");
  auto edit = p.a.set("c-1", "narrative", "rewritten");
  REQUIRE_FALSE(edit.ok());
  CHECK_THAT(edit.error().message, Catch::Matchers::Contains("append-only"));
  CHECK_FALSE(p.a.erase("c-1").ok());
}

TEST_CASE("Merge SERVER_AUTHORITY: concurrent transitions replay, the loser becomes a conflict", "[unit][merge]") {
  Pair p;
  Pair::ok(p.a.create(p.fam, "Referral", "ref-1", test::referral_fields()));
  Pair::ok(p.a.transition("ref-1", "TRIAGE"));
  for (auto r : {&p.a, &p.b}) {
    Pair::ok(r->set("ref-1", "level_at_triage", "L2"));
    Pair::ok(r->set("ref-1", "decided_at", "2026-01-05T12:00:00Z"));
    Pair::ok(r->set("ref-1", "decided_by", "fd-1"));
    p.sync();
  }
  Pair::ok(p.a.set("ref-1", "decision", "SIGNPOST_IAG"));
  p.sync();
  Pair::ok(p.a.transition("ref-1", "DECIDED"));
  p.clock.advance(5);
  Pair::ok(p.b.transition("ref-1", "DECIDED"));  // the same decision made twice (C-24)
  p.sync();
  p.same();
  CHECK(p.a.mat().entity("ref-1")->status() == "DECIDED");
  auto cs = p.a.mat().open_conflicts(p.fam);
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].kind == ConflictKind::RejectedIntent);
  CHECK(cs[0].values[0].op.device == "dev-b");
  CHECK_FALSE(p.a.resolve("ref-1", cs[0].id, Value("x")).ok());
  Pair::ok(p.a.resolve("ref-1", cs[0].id, std::nullopt));
  p.sync();
  CHECK(p.b.mat().open_conflicts(p.fam).empty());
}

TEST_CASE("Merge: a delete racing an edit keeps the record and raises a conflict (C-21)", "[unit][merge]") {
  Pair p;
  Pair::ok(p.a.create(p.fam, "FamilyMembership", "m-1",
                      {{"person", "p-1"}, {"member_role", "CHILD_OTHER"}, {"lives_in_household", true}}));
  p.sync();
  Pair::ok(p.a.erase("m-1"));
  Pair::ok(p.b.set("m-1", "is_key_contact", true));
  p.sync();
  p.same();
  CHECK_FALSE(p.a.mat().entity("m-1")->deleted());
  auto cs = p.a.mat().open_conflicts(p.fam);
  REQUIRE(cs.size() == 1);
  CHECK(cs[0].kind == ConflictKind::DeleteCancelled);
  // a delete that has seen every edit removes it
  Pair::ok(p.a.erase("m-1"));
  p.sync();
  CHECK(p.b.mat().entity("m-1")->deleted());
  CHECK_FALSE(p.b.set("m-1", "is_key_contact", false).ok());
}

TEST_CASE("Merge: applying an op twice, or in any order, changes nothing more", "[unit][merge]") {
  Pair p;
  Pair::ok(p.a.set(p.fam, "phone", "1"));
  Pair::ok(p.a.set(p.fam, "phone", "2"));
  Pair::ok(p.a.set(p.fam, "phone", "3"));
  Replica c("dev-c", "x", p.clock);
  auto ops = p.a.made();
  std::reverse(ops.begin(), ops.end());
  c.receive_all(ops);
  c.receive_all(ops);
  CHECK(c.mat().render_family(p.fam).value() == p.a.mat().render_family(p.fam).value());
  CHECK(c.mat().op_count() == p.a.mat().op_count());
}

TEST_CASE("Merge: an authored assessment section conflict blocks completion (S1, C-7)", "[unit][merge]") {
  Pair p;
  Pair::ok(p.a.create(p.fam, "EarlyHelpEpisode", "ep-1", test::episode_fields({"child-1"})));
  Pair::ok(p.a.create(p.fam, "Assessment", "as-1", test::assessment_fields("ep-1")));
  Pair::ok(p.a.transition("as-1", "IN_PROGRESS"));
  for (auto [k, v] : std::vector<std::pair<std::string, Value>>{
           {"completed_at", "2026-01-10T10:00:00Z"}, {"analysis", "a"}, {"parent_carer_views", "v"},
           {"level_of_need_determined", "L3"}})
    Pair::ok(p.a.set("as-1", k, v));
  Pair::ok(p.a.add("as-1", "presenting_needs", "PARENTING_SUPPORT"));
  for (const char* d : {"CDN_HEALTH", "PC_BASIC_CARE", "FEF_FAMILY_HISTORY_FUNCTIONING"})
    Pair::ok(p.a.create(p.fam, "AssessmentFinding", std::string("as-1/finding/") + d, {{"assessment", "as-1"}, {"domain", d}}));
  auto no_voice = p.a.transition("as-1", "COMPLETED");
  REQUIRE_FALSE(no_voice.ok());
  CHECK_THAT(no_voice.error().message, Catch::Matchers::Contains("voice of the child child-1"));
  Pair::ok(p.a.create(p.fam, "ChildVoice", "as-1/voice/child-1",
                      {{"assessment", "as-1"}, {"child", "child-1"}, {"method", "DIRECT_CONVERSATION"}, {"date", "2026-01-08"}}));
  p.sync();
  std::string section = "as-1/finding/FEF_FAMILY_HISTORY_FUNCTIONING";
  Pair::ok(p.a.set(section, "needs_worries", "HV text"));
  Pair::ok(p.b.set(section, "needs_worries", "YW text"));
  p.sync();
  auto blocked = p.a.transition("as-1", "COMPLETED");
  REQUIRE_FALSE(blocked.ok());
  CHECK_THAT(blocked.error().message, Catch::Matchers::Contains("AssessmentFinding.needs_worries resolved first"));
  auto cs = p.a.mat().open_conflicts(p.fam);
  REQUIRE(cs.size() == 1);
  Pair::ok(p.a.resolve(section, cs[0].id, Value("Both texts, merged by the author")));
  Pair::ok(p.a.transition("as-1", "COMPLETED"));
  Pair::ok(p.a.set("as-1", "authorised_by", "tm-1"));
  Pair::ok(p.a.set("as-1", "authorised_at", "2026-01-11T10:00:00Z"));
  Pair::ok(p.a.transition("as-1", "AUTHORISED"));
  auto locked = p.a.set("as-1", "analysis", "changed later");
  REQUIRE_FALSE(locked.ok());
  CHECK_THAT(locked.error().message, Catch::Matchers::Contains("AUTHORISED and can no longer be edited"));
}

TEST_CASE("Merge: ops that do not fit the schema are refused with the reason", "[unit][merge]") {
  Pair p;
  Op op;
  op.id = OpId{"dev-x", 1};
  op.family = p.fam;
  op.entity_type = "Family";
  op.entity_id = p.fam;
  op.kind = OpKind::Set;
  op.field = "display_name";
  op.value = Value(int64_t{5});
  auto r = p.a.mat().apply(op);
  REQUIRE_FALSE(r.ok());
  CHECK_THAT(r.error().message, Catch::Matchers::Contains("Family.display_name") && Catch::Matchers::Contains("expected String"));
  op.entity_type = "Person";
  op.value = Value("x");
  auto wrong_type = p.a.mat().apply(op);
  REQUIRE_FALSE(wrong_type.ok());
  CHECK_THAT(wrong_type.error().message, Catch::Matchers::Contains("is a Family, not a Person"));
  op.entity_type = "Spaceship";
  CHECK_THAT(p.a.mat().apply(op).error().message, Catch::Matchers::Contains("unknown entity type 'Spaceship'"));
  CHECK_FALSE(p.a.mat().contains(op.id));
}
