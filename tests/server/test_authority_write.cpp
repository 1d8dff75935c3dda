// Ops the server writes as the office (usecases/authority_write.hpp): the team as TeamMember
// records with the caseload index derived from them, a new family's creator, and a consent
// withdrawal recorded at the office (issue 8; DOMAIN.md §6.6, §7). In process, over the
// service harness.
#include <catch2/catch.hpp>

#include "../support/db_count.hpp"
#include "service_harness.hpp"
#include "usecases/consent.hpp"
#include "usecases/team.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using Catch::Matchers::StartsWith;
using sync::protocol::OpStatus;

namespace {

// A number the server database answers (one integer), with one text argument.
int64_t count(const std::string& db_path, const char* sql, const std::string& arg) {
  return db_count(db_path, sql, {arg});
}
int64_t ops_of(const ServiceHarness& h, const std::string& family) {
  return count(h.db.location(), "SELECT count(*) FROM ops WHERE family = ?", family);
}
int64_t authority_ops(const ServiceHarness& h, const std::string& family) {
  return count(h.db.location(), "SELECT count(*) FROM ops WHERE device = 'hearth-server' AND family = ?", family);
}
int64_t audits(const ServiceHarness& h, const std::string& action) {
  return count(h.db.location(), "SELECT count(*) FROM audit_events WHERE action = ?", action);
}

Result<std::vector<std::string>> office(ServiceHarness& h, server::AuthorityWrite w) {
  return h.service.with_context([&](server::ServiceContext& ctx) { return server::authority_write(ctx, {w}); });
}

Value field(const Device& d, const std::string& id, const std::string& name) {
  const sync::EntityMerge* e = d.replica.mat().entity(id);
  return e ? e->value(name) : Value();
}

// A family created on hv-1's tablet with a mother and her consent to share with the team.
struct Family {
  std::string id = "fam-a", mother = "mother-a", consent = "consent-a";
  explicit Family(Device& hv) {
    std::vector<sync::Op> ops{must(hv.replica.create(id, "Family", id, family_fields())),
                              must(hv.replica.create(id, "Person", mother, person_fields("M", "1990-01-01")))};
    FieldValues c = consent_fields();
    c["covers_persons"] = StringList{mother};
    c["given_by"] = mother;
    c["recipients"] = StringList{"org-hv", "org-ys"};
    ops.push_back(must(hv.replica.create(id, "ConsentRecord", consent, c)));
    for (const auto& r : hv.push(ops)) REQUIRE(r.status == OpStatus::accepted);
  }
};

}  // namespace

TEST_CASE("Authority: a pushed new family gets its creator's TeamMember record exactly once", "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  auto root = must(hv.replica.create("fam-n", "Family", "fam-n", family_fields()));
  REQUIRE(hv.push_one(root).status == OpStatus::accepted);
  CHECK(hv.push_one(root).status == OpStatus::duplicate);  // the same batch again
  CHECK(hv.push({root}).at(0).status == OpStatus::duplicate);
  CHECK(authority_ops(h, "fam-n") == 1);
  CHECK(ops_of(h, "fam-n") == 2);
  // the index follows the record: the creator leads
  auto m = must(h.store->caseload().membership("fam-n", "hv-1"));
  REQUIRE(m);
  CHECK(m->lead);
  CHECK_FALSE(m->removed_at);
  // the creator's tablet receives it at its pull
  hv.pull();
  std::string id = server::team_member_id("fam-n", "hv-1");
  CHECK(field(hv, id, "team_role") == Value("LEAD_PROFESSIONAL"));
  CHECK(field(hv, id, "access_scope") == Value("FULL_EPISODE"));
  CHECK(field(hv, id, "organisation") == Value("org-hv"));
  const sync::EntityMerge* e = hv.replica.mat().entity(id);
  REQUIRE(e);
  auto ops = hv.replica.mat().ops("fam-n");
  size_t from_server = 0;
  for (const auto* op : ops) from_server += op->id.device == server::kAuthorityDevice;
  CHECK(from_server == 1);
  CHECK(audits(h, "team-member") == 1);
}

TEST_CASE("Authority: an allocate writes a TeamMember op a tablet receives at its next sync, and the index follows",
          "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1"), yw(h, "dev-yw", "yw-1");
  Family f(hv);
  hv.pull();
  yw.pull();
  CHECK(yw.cursors.empty());  // not on the team yet

  h.clock.advance(1000);
  auto ids = must(office(h, server::allocation({f.id, "yw-1", false, "PLAN_AND_OWN_ACTIONS", "office"})));
  REQUIRE(ids.size() == 1);
  CHECK_THAT(ids[0], StartsWith("hearth-server:"));
  CHECK(must(h.store->caseload().families_of("yw-1")) == std::vector<std::string>{f.id});
  CHECK_FALSE(must(h.store->caseload().membership(f.id, "yw-1"))->lead);

  yw.pull();  // the whole family arrives, with the record that put yw-1 on its team
  std::string id = server::team_member_id(f.id, "yw-1");
  CHECK(field(yw, id, "practitioner") == Value("yw-1"));
  CHECK(field(yw, id, "team_role") == Value("TAF_MEMBER"));
  CHECK(field(yw, id, "access_scope") == Value("PLAN_AND_OWN_ACTIONS"));
  CHECK(yw.replica.mat().entity(f.consent) == nullptr);  // a plan-only member gets no consent records (§7)
  hv.pull();  // and the lead's tablet learns of it too
  CHECK(field(hv, id, "team_role") == Value("TAF_MEMBER"));
  CHECK(must(hv.replica.mat().entity(id)->render()) == must(yw.replica.mat().entity(id)->render()));

  // allocating again as before writes nothing; a scope change is one Set
  CHECK(must(office(h, server::allocation({f.id, "yw-1", false, "PLAN_AND_OWN_ACTIONS", "office"}))).empty());
  CHECK(must(office(h, server::allocation({f.id, "yw-1", false, "FULL_EPISODE", "office"}))).size() == 1);
  // scope NONE takes the practitioner off the index (the record stays)
  CHECK(must(office(h, server::allocation({f.id, "yw-1", false, "NONE", "office"}))).size() == 1);
  CHECK(must(h.store->caseload().families_of("yw-1")).empty());
  CHECK(yw.pull() == std::vector<std::string>{f.id});
  CHECK(audits(h, "allocate") == 3);

  // a scope that does not exist, or an unknown practitioner, is a clear error writing nothing
  int64_t before = ops_of(h, f.id);
  auto bad = office(h, server::allocation({f.id, "yw-1", false, "EVERYTHING", "office"}));
  REQUIRE_FALSE(bad);
  CHECK_THAT(bad.error().message, Contains("--scope 'EVERYTHING'") && Contains("PLAN_AND_OWN_ACTIONS"));
  auto nobody = office(h, server::allocation({f.id, "xx-9", false, std::nullopt, "office"}));
  REQUIRE_FALSE(nobody);
  CHECK(nobody.error().code == ErrorCode::not_found);
  CHECK(ops_of(h, f.id) == before);
}

TEST_CASE("Authority: a lead allocation names the new lead on the episode and the index follows the records",
          "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1"), yw(h, "dev-yw", "yw-1");
  Family f(hv);
  auto episode = must(hv.replica.create(f.id, "EarlyHelpEpisode", "ep-a", episode_fields({f.mother})));
  REQUIRE(hv.push_one(episode).status == OpStatus::accepted);
  CHECK(must(h.store->caseload().membership(f.id, "hv-1"))->lead);  // the episode names hv-1

  must(office(h, server::allocation({f.id, "yw-1", true, std::nullopt, "office"})));
  CHECK(must(h.store->caseload().membership(f.id, "yw-1"))->lead);
  CHECK_FALSE(must(h.store->caseload().membership(f.id, "hv-1"))->lead);
  hv.pull();
  CHECK(field(hv, "ep-a", "lead_professional") == Value("yw-1"));
  CHECK(field(hv, server::team_member_id(f.id, "hv-1"), "team_role") == Value("TAF_MEMBER"));

  // a TeamMember op pushed from a tablet moves the index too, in the push's transaction
  auto leaves = must(hv.replica.set(server::team_member_id(f.id, "hv-1"), "left_at", "2026-11-30T10:00:00Z"));
  REQUIRE(hv.push_one(leaves).status == OpStatus::accepted);
  CHECK(must(h.store->caseload().membership(f.id, "hv-1"))->removed_at);
  CHECK(must(h.store->caseload().team_of(f.id)) == std::vector<std::string>{"yw-1"});
}

TEST_CASE("Authority: deallocate sets left_at and the practitioner's caseload no longer lists the family", "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1"), yw(h, "dev-yw", "yw-1");
  Family f(hv);
  must(office(h, server::allocation({f.id, "yw-1", false, std::nullopt, "office"})));
  yw.pull();
  REQUIRE(yw.cursors.count(f.id) == 1);

  h.clock.advance(60'000);
  auto ids = must(office(h, server::deallocation(f.id, "yw-1")));
  REQUIRE(ids.size() == 1);
  CHECK(must(h.store->caseload().families_of("yw-1")).empty());
  auto m = must(h.store->caseload().membership(f.id, "yw-1"));
  REQUIRE(m);
  CHECK(m->removed_at == static_cast<int64_t>(h.clock.now()));
  CHECK(yw.pull() == std::vector<std::string>{f.id});  // told to purge it
  hv.pull();
  CHECK(field(hv, server::team_member_id(f.id, "yw-1"), "left_at").is_string());
  // not on the team any more: a clear error, nothing written
  int64_t before = ops_of(h, f.id);
  auto again = office(h, server::deallocation(f.id, "yw-1"));
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ErrorCode::not_found);
  CHECK_THAT(again.error().message, Contains("'yw-1' is not on the team of family 'fam-a'"));
  CHECK(ops_of(h, f.id) == before);
  // allocated again: left_at cleared, back on the caseload
  must(office(h, server::allocation({f.id, "yw-1", false, std::nullopt, "office"})));
  CHECK(must(h.store->caseload().families_of("yw-1")) == std::vector<std::string>{f.id});
}

TEST_CASE("Authority: a withdrawal recorded at the office lands as ops every team member's tablet receives",
          "[unit][security]") {
  ServiceHarness h;
  must(h.store->caseload().add_organisation("org-ys", "Youth Service", "LA_YOUTH_SERVICE"));
  Device hv(h, "dev-hv", "hv-1"), yw(h, "dev-yw", "yw-1");
  Family f(hv);
  must(office(h, server::allocation({f.id, "yw-1", false, std::nullopt, "office"})));
  hv.pull();
  yw.pull();

  h.clock.advance(5000);
  server::Withdrawal w;
  w.family = f.id;
  w.consent = f.consent;
  w.scope = server::Withdrawal::Scope::recipients;
  w.items = {"org-ys"};
  w.withdrawn_by = f.mother;
  w.recorded_by = "tm-1";
  w.channel = "PHONE";
  w.reason = "does not want the school told";
  auto ids = must(office(h, server::consent_withdrawal(w)));
  CHECK(ids.size() == 7);  // the Add and six Sets
  for (Device* d : {&hv, &yw}) {
    d->pull();
    INFO(d->replica.device());
    CHECK(field(*d, f.consent, "withdrawn_recipients") == Value(StringList{"org-ys"}));
    CHECK(field(*d, f.consent, "withdrawal_scope") == Value("RECIPIENTS"));
    CHECK(field(*d, f.consent, "withdrawn_by") == Value(f.mother));
    CHECK(field(*d, f.consent, "withdrawal_recorded_by") == Value("tm-1"));
    CHECK(field(*d, f.consent, "withdrawal_channel") == Value("PHONE"));
    CHECK(field(*d, f.consent, "withdrawn_at") == Value(server::datetime_of(static_cast<int64_t>(h.clock.now()))));
    CHECK(field(*d, f.consent, "status") == Value("ACTIVE"));
  }
  // the same recipients again: nothing new to withdraw
  auto again = office(h, server::consent_withdrawal(w));
  REQUIRE_FALSE(again);
  CHECK(again.error().code == ErrorCode::conflict);

  // in full
  w.scope = server::Withdrawal::Scope::full;
  w.items.clear();
  must(office(h, server::consent_withdrawal(w)));
  hv.pull();
  yw.pull();
  CHECK(field(hv, f.consent, "status") == Value("WITHDRAWN"));
  CHECK(field(yw, f.consent, "status") == Value("WITHDRAWN"));
  CHECK(field(yw, f.consent, "withdrawal_scope") == Value("FULL"));
  CHECK(must(hv.replica.mat().render_family(f.id)) == must(yw.replica.mat().render_family(f.id)));
  CHECK(audits(h, "consent-withdraw") == 2);
  auto listed = must(h.service.with_context([&](server::ServiceContext& ctx) { return server::consent_records(ctx, f.id); }));
  REQUIRE(listed.size() == 1);
  CHECK(listed[0].status == "WITHDRAWN");
  CHECK(listed[0].given_by == f.mother + " (M F)");
  CHECK(listed[0].withdrawn_recipients == std::vector<std::string>{"org-ys"});
}

TEST_CASE("Authority: a withdrawal naming an unknown family, consent, person or value is a clear error and writes "
          "nothing", "[unit][security]") {
  ServiceHarness h;
  must(h.store->caseload().add_organisation("org-ys", "Youth Service", "LA_YOUTH_SERVICE"));
  must(h.store->caseload().add_organisation("org-sch", "School", "SCHOOL"));
  Device hv(h, "dev-hv", "hv-1");
  Family f(hv);
  // another adult of the family, who neither gave the mother's consent nor is covered by it
  REQUIRE(hv.push_one(must(hv.replica.create(f.id, "Person", "father-a", person_fields("F", "1988-01-01")))).status ==
          OpStatus::accepted);
  int64_t before = ops_of(h, f.id);
  auto good = [&] {
    server::Withdrawal w;
    w.family = f.id;
    w.consent = f.consent;
    w.scope = server::Withdrawal::Scope::purposes;
    w.items = {"SHARE_WITH_TAF"};
    w.withdrawn_by = f.mother;
    w.recorded_by = "hv-1";
    w.channel = "IN_PERSON";
    return w;
  };
  struct Case {
    const char* what;
    std::function<void(server::Withdrawal&)> spoil;
    ErrorCode code;
    const char* names;
  };
  std::vector<Case> cases{
      {"family", [](server::Withdrawal& w) { w.family = "fam-none"; }, ErrorCode::not_found, "--family"},
      {"consent", [](server::Withdrawal& w) { w.consent = "consent-none"; }, ErrorCode::not_found, "--consent"},
      {"consent of another type", [&](server::Withdrawal& w) { w.consent = f.mother; }, ErrorCode::not_found, "--consent"},
      {"person", [](server::Withdrawal& w) { w.withdrawn_by = "father-x"; }, ErrorCode::not_found, "--withdrawn-by"},
      {"recorder", [](server::Withdrawal& w) { w.recorded_by = "xx-9"; }, ErrorCode::not_found, "--recorded-by"},
      {"channel", [](server::Withdrawal& w) { w.channel = "FAX"; }, ErrorCode::invalid_argument, "--channel 'FAX'"},
      {"purpose", [](server::Withdrawal& w) { w.items = {"SHARE_WITH_TAF", "GOSSIP"}; }, ErrorCode::invalid_argument,
       "--purposes 'GOSSIP'"},
      {"recipient",
       [](server::Withdrawal& w) {
         w.scope = server::Withdrawal::Scope::recipients;
         w.items = {"org-ys", "org-none"};
       },
       ErrorCode::not_found, "--recipients: no organisation 'org-none'"},
      {"empty list", [](server::Withdrawal& w) { w.items.clear(); }, ErrorCode::invalid_argument, "--purposes"},
      {"someone else's consent (§6.4)", [](server::Withdrawal& w) { w.withdrawn_by = "father-a"; },
       ErrorCode::invalid_argument, "neither gave consent record"},
      {"a recipient the consent never named",
       [](server::Withdrawal& w) {
         w.scope = server::Withdrawal::Scope::recipients;
         w.items = {"org-sch"};
       },
       ErrorCode::invalid_argument, "does not name org-sch as a recipient"},
  };
  for (const auto& c : cases) {
    INFO(c.what);
    server::Withdrawal w = good();
    c.spoil(w);
    auto r = office(h, server::consent_withdrawal(w));
    REQUIRE_FALSE(r);
    CHECK(r.error().code == c.code);
    CHECK_THAT(r.error().message, Contains(c.names));
  }
  CHECK(ops_of(h, f.id) == before);
  CHECK(audits(h, "consent-withdraw") == 0);
  // and the good one still goes through on the same (rolled back, forgotten) cache
  CHECK(must(office(h, server::consent_withdrawal(good()))).size() == 6);  // the Add and five Sets (no reason)
}

TEST_CASE("Authority: authority ops survive a restart and are counted exactly once", "[unit]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  Family f(hv);
  auto first = must(office(h, server::allocation({f.id, "yw-1", false, std::nullopt, "office"})));
  REQUIRE(first.size() == 1);
  const int64_t held = authority_ops(h, f.id);  // the creator's record and yw-1's
  REQUIRE(held == 2);

  // a server started again on the same database: a new cache, a new clock, counters from the database
  {
    auto store = must(server::open_storage(h.db.location(), hearth::test::audit_key()));
    server::SyncService again(*store, h.clock.fn());
    auto next = must(again.with_context([&](server::ServiceContext& ctx) {
      return server::authority_write(ctx, {server::allocation({f.id, "tm-1", false, std::nullopt, "office"})});
    }));
    REQUIRE(next.size() == 1);
    CHECK(next[0] != first[0]);
    CHECK(must(store->caseload().team_of(f.id)) == std::vector<std::string>{"hv-1", "tm-1", "yw-1"});
  }
  CHECK(authority_ops(h, f.id) == held + 1);
  CHECK(count(h.db.location(),
              "SELECT count(DISTINCT counter) FROM ops WHERE device = ?", server::kAuthorityDevice) == held + 1);
  // the first service (its cache now behind the log) sees the other's op once and carries on
  auto third = must(office(h, server::deallocation(f.id, "tm-1")));
  REQUIRE(third.size() == 1);
  Device tm(h, "dev-tm", "tm-1");
  hv.pull();
  hv.pull();
  size_t from_server = 0;
  for (const auto* op : hv.replica.mat().ops(f.id)) from_server += op->id.device == server::kAuthorityDevice;
  CHECK(from_server == static_cast<size_t>(held + 2));
  CHECK(must(h.store->caseload().families_of("tm-1")).empty());
}

TEST_CASE("Authority: no device may enrol with the server's own device ids", "[unit][security]") {
  ServiceHarness h;
  for (const char* id : {"hearth-server", "server"}) {
    std::string code = must(h.service.issue_enrol_code("hv-1"));
    auto r = h.post("/v1/enrol", sync::protocol::encode(sync::protocol::EnrolRequest{code, id, ""}));
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Contains("reserved"));
  }
}
