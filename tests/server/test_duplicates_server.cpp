// Probable duplicates at the server and the person merge (usecases/duplicates.hpp,
// usecases/person_merge.hpp; DOMAIN.md G1, C-1, C-20, S5), in process over the service harness:
// a finding and one DUPLICATE_REVIEW task per pair, never a merge; a merge by a manager
// re-points every reference as server-authority ops; bad input gets a clear error.
#include <catch2/catch.hpp>

#include <algorithm>

#include "../support/db_count.hpp"
#include "hearth/core/civil_time.hpp"
#include "hearth/core/duplicates.hpp"
#include "service_harness.hpp"
#include "usecases/duplicates.hpp"
#include "usecases/person_merge.hpp"
#include "usecases/task_list.hpp"
#include "usecases/tasks.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using sync::protocol::OpStatus;

namespace {

FieldValues newborn(const std::string& family_name = "Okafor", const std::string& dob = "2026-11-20") {
  return {{"given_names", "Amelia"}, {"family_name", family_name}, {"person_status", "LIVING"},
          {"date_of_birth", dob},    {"sex", "FEMALE"}};
}

FieldValues membership(const std::string& person) {
  return {{"person", person}, {"member_role", "CHILD_SUBJECT"}, {"lives_in_household", true}};
}

struct World {
  ServiceHarness h;
  std::unique_ptr<Device> hv;

  World() {
    h.clock.set(static_cast<uint64_t>(*civil::parse_ms("2026-12-03T10:00:00Z")));
    must(h.store->caseload().add_practitioner("mgr-1", "org-hv", "Manager", "TEAM_MANAGER"));
    hv = std::make_unique<Device>(h, "dev-hv", "hv-1");
  }

  void family(Device& d, const std::string& fam) {
    REQUIRE(d.push_one(must(d.replica.create(fam, "Family", fam, family_fields()))).status == OpStatus::accepted);
  }
  void push(Device& d, Result<sync::Op> op) { REQUIRE(d.push_one(must(std::move(op))).status == OpStatus::accepted); }

  std::vector<server::DuplicateFinding> findings(const std::string& fam = "", bool all = false) {
    return must(h.service.with_context(
        [&](server::ServiceContext& ctx) { return server::list_duplicates(ctx, fam, all); }));
  }
  std::vector<server::TaskRow> tasks(const std::string& fam) {
    auto all = must(h.service.with_context(
        [&](server::ServiceContext& ctx) { return server::list_tasks(ctx, server::TaskQuery{fam, "", false}); }));
    std::vector<server::TaskRow> out;
    for (auto& t : all)
      if (t.type == server::task_type::kDuplicateReview) out.push_back(std::move(t));
    return out;
  }
  Result<server::PersonMergeOutcome> merge(const std::string& keep, const std::string& away, const std::string& by,
                                           const std::string& reason = "same newborn registered twice") {
    return h.service.with_context(
        [&](server::ServiceContext& ctx) { return server::merge_persons(ctx, keep, away, by, reason); });
  }
  Value value(const std::string& fam, const std::string& id, const std::string& field) {
    return must(h.service.with_context([&](server::ServiceContext& ctx) -> Result<Value> {
      auto m = ctx.cache.get(fam);
      if (!m) return m.error();
      const sync::EntityMerge* e = (*m)->entity(id);
      if (!e) return make_error(ErrorCode::not_found, id);
      return e->value(field);
    }));
  }
  bool deleted(const std::string& fam, const std::string& id) {
    return must(h.service.with_context([&](server::ServiceContext& ctx) -> Result<bool> {
      auto m = ctx.cache.get(fam);
      if (!m) return m.error();
      const sync::EntityMerge* e = (*m)->entity(id);
      return e && e->deleted();
    }));
  }
  int64_t audits(const std::string& action) {
    return db_count(h.db.location(), "SELECT count(*) FROM audit_events WHERE action = ?", {action});
  }
};

}  // namespace

TEST_CASE("Duplicates at the server: the same newborn twice in a family raises one review task and no merge",
          "[unit]") {
  World w;
  w.family(*w.hv, "fam-1");
  w.h.allocate("fam-1", "mgr-1");
  w.push(*w.hv, w.hv->replica.create("fam-1", "Person", "p-a", newborn()));
  CHECK(w.findings().empty());
  w.push(*w.hv, w.hv->replica.create("fam-1", "Person", "p-b", newborn("Okafur")));  // a typo
  auto found = w.findings();
  REQUIRE(found.size() == 1);
  CHECK(found[0].pair == "Person:p-a|p-b");
  CHECK(found[0].status == server::kFindingOpen);
  CHECK_THAT(found[0].reasons, Contains("date of birth"));
  auto tasks = w.tasks("fam-1");
  REQUIRE(tasks.size() == 1);
  CHECK(tasks[0].assignee == "mgr-1");
  CHECK(tasks[0].about == "Person:p-a|p-b");
  CHECK_THAT(tasks[0].detail, Contains("p-a") && Contains("p-b") && Contains("merge-person"));
  CHECK_THAT(tasks[0].detail, !Contains("Okaf"));  // ids and reasons, never a value
  CHECK(w.audits("duplicate-found") == 1);
  // Nothing merged automatically.
  CHECK(w.value("fam-1", "p-a", "merged_into").is_null());
  CHECK(w.value("fam-1", "p-b", "merged_into").is_null());
  // Further edits of either person raise nothing more: once per pair.
  w.push(*w.hv, w.hv->replica.set("p-b", "sex", Value("FEMALE")));
  w.push(*w.hv, w.hv->replica.set("p-a", "first_language", Value("en")));
  CHECK(w.findings().size() == 1);
  CHECK(w.tasks("fam-1").size() == 1);
  CHECK(w.audits("duplicate-found") == 1);
}

TEST_CASE("Duplicates at the server: two contacts by one practitioner of one type within minutes (C-1)", "[unit]") {
  World w;
  w.family(*w.hv, "fam-1");
  w.push(*w.hv, w.hv->replica.create("fam-1", "Contact", "c-1", contact_fields("2026-12-03T09:00:00Z", "Visit")));
  w.push(*w.hv, w.hv->replica.create("fam-1", "Contact", "c-2", contact_fields("2026-12-03T09:03:00Z", "Visit again")));
  w.push(*w.hv, w.hv->replica.create("fam-1", "Contact", "c-3", contact_fields("2026-12-03T14:00:00Z", "Later")));
  auto found = w.findings("fam-1");
  REQUIRE(found.size() == 1);
  CHECK(found[0].pair == "Contact:c-1|c-2");
  // No manager on the directory's lead agency is needed: the lead (hv-1) is named when none.
  REQUIRE(w.tasks("fam-1").size() == 1);
}

TEST_CASE("Duplicates at the server: the same newborn in two families on two tablets is found across families",
          "[unit]") {
  World w;
  Device yw(w.h, "dev-yw", "yw-1");
  w.family(*w.hv, "fam-a");
  w.family(yw, "fam-b");
  w.push(*w.hv, w.hv->replica.create("fam-a", "Person", "p-a", newborn()));
  w.push(yw, yw.replica.create("fam-b", "Person", "p-b", newborn()));
  w.push(yw, yw.replica.create("fam-b", "FamilyMembership", "m-b", membership("p-b")));
  auto found = w.findings();
  REQUIRE(found.size() == 1);
  CHECK(found[0].first_family == "fam-a");
  CHECK(found[0].second_family == "fam-b");
  // A task in each family, naming only that family's person.
  auto in_a = w.tasks("fam-a"), in_b = w.tasks("fam-b");
  REQUIRE(in_a.size() == 1);
  REQUIRE(in_b.size() == 1);
  CHECK_THAT(in_a[0].detail, Contains("p-a") && !Contains("p-b") && Contains("another family"));
  CHECK_THAT(in_b[0].detail, Contains("p-b") && !Contains("p-a"));
  // The index holds keyed hashes, never a date of birth or an NHS number in clear.
  CHECK(db_count(w.h.db.location(), "SELECT count(*) FROM duplicate_keys WHERE key_hash LIKE ?", {"%2026%"}) == 0);
  CHECK(db_count(w.h.db.location(), "SELECT count(*) FROM duplicate_keys", {}) >= 2);

  // A cross-family merge: both families' records name the kept person; the merged-away one is kept, marked.
  auto merged = must(w.merge("p-a", "p-b", "mgr-1"));
  CHECK(merged.families == std::vector<std::string>{"fam-a", "fam-b"});
  CHECK(w.value("fam-b", "m-b", "person") == Value("p-a"));
  CHECK(w.value("fam-b", "p-b", "merged_into") == Value("p-a"));
  CHECK_FALSE(w.deleted("fam-b", "p-b"));
  CHECK(w.findings().empty());
  CHECK(w.findings("", true).at(0).status == server::kFindingMerged);
  for (const char* fam : {"fam-a", "fam-b"}) {
    auto t = w.tasks(fam);
    REQUIRE(t.size() == 1);
    CHECK(t[0].status == "DONE");
  }

  // Erasing a family (step two, Storage::delete_family) deletes its rows from the index and the findings.
  must(w.h.store->transaction([&]() -> Result<void> {
    auto any = w.h.store->delete_family("fam-b");
    if (!any) return any.error();
    return {};
  }));
  const std::string db = w.h.db.location();
  CHECK(db_count(db, "SELECT count(*) FROM duplicate_keys WHERE family = ?", {"fam-b"}) == 0);
  CHECK(db_count(db, "SELECT count(*) FROM duplicate_persons WHERE family = ?", {"fam-b"}) == 0);
  CHECK(db_count(db, "SELECT count(*) FROM duplicate_findings WHERE first_family = ?1 OR second_family = ?1",
                 {"fam-b"}) == 0);
  CHECK(db_count(db, "SELECT count(*) FROM duplicate_persons WHERE family = ?", {"fam-a"}) == 1);
}

TEST_CASE("Person merge: every reference re-points, the merged-away person is kept and marked, append-only "
          "records keep what they recorded",
          "[unit]") {
  World w;
  w.family(*w.hv, "fam-1");
  w.h.allocate("fam-1", "mgr-1");
  auto& r = w.hv->replica;
  w.push(*w.hv, r.create("fam-1", "Person", "mum", person_fields("M", "1990-01-01")));
  w.push(*w.hv, r.create("fam-1", "Person", "p-a", newborn()));
  w.push(*w.hv, r.create("fam-1", "Person", "p-b", newborn()));
  w.push(*w.hv, r.create("fam-1", "FamilyMembership", "m-a", membership("p-a")));
  w.push(*w.hv, r.create("fam-1", "FamilyMembership", "m-b", membership("p-b")));
  w.push(*w.hv, r.create("fam-1", "Relationship", "rel-1",
                         {{"person_a", "mum"}, {"person_b", "p-b"}, {"type", "MOTHER"}}));
  FieldValues ep = episode_fields({"p-b"});
  ep["allocated_org"] = "org-hv";
  w.push(*w.hv, r.create("fam-1", "EarlyHelpEpisode", "ep-1", ep));
  FieldValues visit = contact_fields("2026-12-02T10:00:00Z", "Baby weighed");
  visit["persons_present"] = StringList{"mum", "p-b"};
  w.push(*w.hv, r.create("fam-1", "Contact", "c-1", visit));
  REQUIRE(w.findings().size() == 1);

  auto merged = must(w.merge("p-a", "p-b", "mgr-1"));
  CHECK(merged.families == std::vector<std::string>{"fam-1"});
  CHECK(w.value("fam-1", "p-b", "merged_into") == Value("p-a"));
  CHECK_FALSE(w.deleted("fam-1", "p-b"));  // kept, with what was recorded on it
  CHECK(w.value("fam-1", "p-b", "given_names") == Value("Amelia"));
  CHECK(w.value("fam-1", "rel-1", "person_b") == Value("p-a"));
  CHECK(w.value("fam-1", "ep-1", "subject_children") == Value(StringList{"p-a"}));
  CHECK(w.deleted("fam-1", "m-b"));  // p-a already a member: the duplicate membership goes (a tombstone)
  CHECK_FALSE(w.deleted("fam-1", "m-a"));
  CHECK(merged.memberships_removed == 1);
  // The visit note is evidence as written: it keeps p-b, which resolves through merged_into.
  CHECK(w.value("fam-1", "c-1", "persons_present") == Value(StringList{"mum", "p-b"}));
  CHECK(std::find(merged.kept_as_recorded.begin(), merged.kept_as_recorded.end(), "Contact c-1.persons_present") !=
        merged.kept_as_recorded.end());
  CHECK(w.audits("person-merge") == 1);
  CHECK(w.findings().empty());
  REQUIRE(w.tasks("fam-1").size() == 1);
  CHECK(w.tasks("fam-1")[0].status == "DONE");

  // The tablet receives the merge as ordinary ops and converges.
  w.hv->pull();
  const sync::EntityMerge* p = w.hv->replica.mat().entity("p-b");
  REQUIRE(p);
  CHECK(p->value(duplicates::kMergedIntoField) == Value("p-a"));
  CHECK(w.hv->replica.mat().entity("rel-1")->value("person_b") == Value("p-a"));

  // A device may not set the marker itself (server authority).
  auto own = w.hv->push_one(must(r.set("mum", "merged_into", Value("p-a"))));
  CHECK(own.status != OpStatus::accepted);
}

TEST_CASE("Person merge: bad input gets a clear error and writes nothing", "[unit]") {
  World w;
  w.family(*w.hv, "fam-1");
  w.push(*w.hv, w.hv->replica.create("fam-1", "Person", "p-a", newborn()));
  w.push(*w.hv, w.hv->replica.create("fam-1", "Person", "p-b", newborn()));
  auto unknown = w.merge("p-a", "p-zz", "mgr-1");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == ErrorCode::not_found);
  CHECK_THAT(unknown.error().message, Contains("p-zz"));
  auto self = w.merge("p-a", "p-a", "mgr-1");
  REQUIRE_FALSE(self.ok());
  CHECK(self.error().code == ErrorCode::invalid_argument);
  CHECK_THAT(self.error().message, Contains("itself"));
  auto not_manager = w.merge("p-a", "p-b", "hv-1");
  REQUIRE_FALSE(not_manager.ok());
  CHECK(not_manager.error().code == ErrorCode::forbidden);
  CHECK_THAT(not_manager.error().message, Contains("hv-1") && Contains("TEAM_MANAGER"));
  auto nobody = w.merge("p-a", "p-b", "ghost");
  REQUIRE_FALSE(nobody.ok());
  CHECK(nobody.error().code == ErrorCode::not_found);
  auto no_reason = w.merge("p-a", "p-b", "mgr-1", "");
  REQUIRE_FALSE(no_reason.ok());
  CHECK(no_reason.error().code == ErrorCode::invalid_argument);
  auto bad_id = w.merge("p-a", "p b\n", "mgr-1");
  REQUIRE_FALSE(bad_id.ok());
  CHECK(bad_id.error().code == ErrorCode::validation);
  CHECK(w.value("fam-1", "p-b", "merged_into").is_null());
  CHECK(w.audits("person-merge-refused") == 6);
  // The office may merge (the inbound endpoint calls merge_persons with by = "office").
  REQUIRE(w.merge("p-a", "p-b", server::kOfficeAuthor).ok());
  auto again = must(w.merge("p-a", "p-b", "mgr-1"));  // the same merge again (an office message resent)
  CHECK(again.already_merged);
  CHECK(again.ops.empty());
  w.push(*w.hv, w.hv->replica.create("fam-1", "Person", "p-c", newborn()));
  auto elsewhere = w.merge("p-c", "p-b", "mgr-1");
  REQUIRE_FALSE(elsewhere.ok());
  CHECK(elsewhere.error().code == ErrorCode::conflict);
  CHECK_THAT(elsewhere.error().message, Contains("already merged into p-a"));
  auto keep_merged = w.merge("p-b", "p-a", "mgr-1");
  REQUIRE_FALSE(keep_merged.ok());
  CHECK(keep_merged.error().code == ErrorCode::conflict);
}
