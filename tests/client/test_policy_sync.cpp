// The tablet's side of issue 8 through the real sync engine, against a server played by hand:
// pages that withhold fields, the view digest the device sends back, purge-then-refetch in
// one answer (with and without unsent work), ops the server holds for a decision, and the
// offline periods of the policy snapshot (DOMAIN.md §6.8, S2c) on an injected clock.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include <functional>
#include <map>

#include "hearth/client/store.hpp"
#include "hearth/client/sync_client.hpp"
#include "hearth/sync/encoding.hpp"
#include "hearth/sync/protocol.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "../support/fake_clock.hpp"
#include "../support/process.hpp"
#include "../support/must.hpp"
#include "../support/samples.hpp"
#include "../support/temp_dir.hpp"

using namespace hearth;
using namespace hearth::client;
using Catch::Matchers::Contains;
using hearth::test::must;
namespace wire = hearth::sync::protocol;

namespace {

constexpr uint64_t kHour = 3600ull * 1000;
constexpr uint64_t kDay = 24 * kHour;

std::unique_ptr<Store> open_store(const std::string& path, const test::FakeClock& clock, const std::string& who = "yw-1") {
  StoreOptions o;
  o.practitioner_id = who;
  o.pin = "2468";
  o.kdf = KdfParams{1u << 10, 8, 1};
  o.clock = clock.fn();
  auto s = Store::open(path, std::move(o));
  INFO((s.ok() ? std::string() : s.error().describe()));
  REQUIRE(s.ok());
  return std::move(s.value());
}

// The server, played by the test: each request is decoded with the codec and answered by a
// handler; every pull request is kept.
class ScriptedServer final : public Transport {
 public:
  std::function<wire::PushReply(const wire::PushRequest&)> on_push = [](const wire::PushRequest& q) {
    wire::PushReply r;
    for (const auto& bytes : q.ops) r.results.push_back({must(sync::decode(bytes)).id.to_string(), wire::OpStatus::accepted, "", std::nullopt, ""});
    return r;
  };
  std::function<wire::PullReply(const wire::PullRequest&)> on_pull = [](const wire::PullRequest&) {
    wire::PullReply r;
    r.feed_version = 1;
    return r;
  };
  bool push_fails = false;
  std::vector<wire::PullRequest> pulls;
  std::vector<wire::PushRequest> pushes;

  Result<HttpReply> post(const std::string& path, const std::string& body, const std::string&) override {
    if (path == "/v1/push") {
      if (push_fails) return HttpReply{500, R"({"error":"down for maintenance","code":"server"})"};
      pushes.push_back(must(wire::decode_push_request(body)));
      return HttpReply{200, wire::encode(on_push(pushes.back()))};
    }
    auto q = must(wire::decode_pull_request(body));
    if (!q.probe) pulls.push_back(q);
    return HttpReply{200, wire::encode(on_pull(q))};
  }
  uint64_t bytes_sent() const override { return 0; }
  uint64_t bytes_received() const override { return 0; }
};

template <typename T>
Error error_of(const Result<T>& r) {
  REQUIRE_FALSE(r.ok());
  return r.error();
}

SyncOptions quick() {
  SyncOptions o;
  o.max_attempts = 1;
  o.backoff_ms = 1;
  return o;
}

void enrolled(Store& s) { must(sync_port(s).put_secret("device_token", std::string(64, 'a'))); }

wire::PolicySnapshot policy_at(uint64_t issued_at) {
  wire::PolicySnapshot p;
  p.issued_at_ms = issued_at;
  p.practitioner = "yw-1";
  p.organisation = "org-ys";
  p.system_roles = {"PRACTITIONER"};
  // The key lease (N5, test_key_lease.cpp) past the purge period, so these tests see the offline
  // periods alone.
  p.key_lease_ms = 30 * kDay;
  return p;  // the default periods: 24 hours, 7 days, 14 days
}

// A family made by the lead professional's tablet: the family and one visit note.
struct LeadFamily {
  std::string family;
  std::string contact;
  std::vector<std::string> ops;  // as the server holds them, whole
};

LeadFamily lead_family(const std::string& path, const test::FakeClock& clock) {
  auto lead = open_store(path, clock, "hv-1");
  LeadFamily f;
  f.family = must(lead->create_family(test::family_fields()));
  f.contact = must(lead->create(f.family, "Contact", test::contact_fields("2026-01-02T10:00:00Z", "Father disclosed debts")));
  f.ops = must(sync_port(*lead).encoded_ops(f.family));
  return f;
}

// The ops with one field of one record left out, as a pull under a narrower view sends them.
std::vector<std::string> without_field(const std::vector<std::string>& ops, const std::string& record, const std::string& field) {
  std::vector<std::string> out;
  for (const auto& bytes : ops) {
    sync::Op op = must(sync::decode(bytes));
    if (op.entity_id == record) op.fields.erase(field);
    out.push_back(sync::encode(op));
  }
  return out;
}

wire::FamilyPage page_of(const std::string& family, std::vector<std::string> ops, int64_t cursor, std::string view,
                         std::vector<std::string> withheld) {
  wire::FamilyPage p;
  p.family = family;
  p.ops = std::move(ops);
  p.cursor = cursor;
  p.view = std::move(view);
  p.withheld = std::move(withheld);
  return p;
}


// The tablet changes the family's phone (an edit only the lead makes); returns the op's id.
std::string edit_phone(Store& tablet, const std::string& family) {
  must(tablet.update(family, "phone", Value(std::string("07700 900999"))));
  return must(sync_port(tablet).outbox()).front().id.to_string();
}

// The server holds every op pushed to it for hv-1 to decide, with `reason`.
void hold_every_push(ScriptedServer& server, const std::string& reason) {
  server.on_push = [reason](const wire::PushRequest& q) {
    wire::PushReply r;
    for (const auto& bytes : q.ops)
      r.results.push_back({must(sync::decode(bytes)).id.to_string(), wire::OpStatus::held, reason, std::nullopt, "hv-1"});
    return r;
  };
}

}  // namespace

TEST_CASE("Tablet: a page withholding a required field applies, and the store says what is withheld", "[unit][sync][store]") {
  test::TempDir dir;
  test::FakeClock clock;
  LeadFamily lead = lead_family(dir.file("lead.db"), clock);
  auto tablet = open_store(dir.file("tablet.db"), clock);
  enrolled(*tablet);
  const std::string withheld_field = lead.contact + "#narrative";

  ScriptedServer server;
  server.on_pull = [&](const wire::PullRequest& q) {
    wire::PullReply r;
    if (!q.cursors.count(lead.family))
      r.families = {page_of(lead.family, without_field(lead.ops, lead.contact, "narrative"), 2, "view-A", {withheld_field})};
    r.feed_version = 1;
    r.policy = policy_at(clock.now());
    return r;
  };
  auto report = must(client::sync(*tablet, server, quick()));
  CHECK(report.pulled == 2);

  auto contact = must(tablet->get(lead.contact));
  CHECK_THAT(contact.json, !Contains("narrative") && !Contains("debts") && Contains("HOME_VISIT"));
  CHECK(must(tablet->withheld(lead.family)) == std::vector<std::string>{withheld_field});
  CHECK(must(sync_port(*tablet).cursors()).views.at(lead.family) == "view-A");
  // the view goes back with every later pull
  must(sync_port(*tablet).finish_pull(std::nullopt, 0));  // no probe: pull in full
  must(client::sync(*tablet, server, quick()));
  REQUIRE(server.pulls.size() == 2);
  CHECK(server.pulls.back().views == std::map<std::string, std::string>{{lead.family, "view-A"}});
  CHECK(server.pulls.back().cursors.at(lead.family) == 2);

  // local edits keep the full check: a visit note without its narrative is refused here
  auto missing = tablet->create(lead.family, "Contact",
                                {{"practitioner", "yw-1"}, {"occurred_at", "2026-01-03T10:00:00Z"},
                                 {"contact_type", "HOME_VISIT"}, {"concern_raised", false}});
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == ErrorCode::validation);
  CHECK_THAT(missing.error().message, Contains("narrative"));
  // a family the store does not hold is not found, not "nothing withheld"
  CHECK(tablet->withheld("no-such-family").error().code == ErrorCode::not_found);
}

TEST_CASE("Tablet: purge and refetch under a new view in one answer removes what the new view withholds",
          "[unit][sync][store]") {
  test::TempDir dir;
  test::FakeClock clock;
  LeadFamily lead = lead_family(dir.file("lead.db"), clock);
  auto tablet = open_store(dir.file("tablet.db"), clock);
  enrolled(*tablet);
  must(sync_port(*tablet).apply_page(lead.family, lead.ops, 2, FamilyViewInfo{"view-full", {}}));
  REQUIRE_THAT(must(tablet->get(lead.contact)).json, Contains("debts"));

  const std::string withheld_field = lead.contact + "#narrative";
  ScriptedServer server;
  server.on_pull = [&](const wire::PullRequest& q) {
    wire::PullReply r;
    auto known = q.views.find(lead.family);
    if (known == q.views.end() || known->second != "view-narrow") {
      r.purge = {lead.family};
      r.families = {page_of(lead.family, without_field(lead.ops, lead.contact, "narrative"), 2, "view-narrow", {withheld_field})};
    }
    r.feed_version = 2;
    r.policy = policy_at(clock.now());
    return r;
  };

  SECTION("nothing unsent: the family is purged and arrives again under the new view") {
    auto report = must(client::sync(*tablet, server, quick()));
    CHECK(report.families_purged == 1);
    CHECK(report.purges_deferred == 0);
    CHECK(server.pulls.front().views.at(lead.family) == "view-full");
    auto contact = must(tablet->get(lead.contact));
    CHECK_THAT(contact.json, !Contains("debts"));
    CHECK(must(tablet->withheld(lead.family)) == std::vector<std::string>{withheld_field});
    CHECK(must(sync_port(*tablet).cursors()).views.at(lead.family) == "view-narrow");
    // no op body on the device carries the withheld value any more
    for (const auto& bytes : must(sync_port(*tablet).encoded_ops(lead.family))) CHECK(bytes.find("debts") == std::string::npos);
    CHECK(must(sync_port(*tablet).cursors()).feed_version == 2);
  }

  SECTION("unsent work: the purge is put off, nothing is lost, and the next sync carries it out") {
    must(tablet->update(lead.family, "phone", Value(std::string("07700 900123"))));
    server.push_fails = true;
    auto failed = client::sync(*tablet, server, quick());
    REQUIRE_FALSE(failed);
    CHECK_THAT(failed.error().message, Contains("the pull completed"));
    // kept whole: the old view, the unsent edit, the values the device held
    CHECK(sync_port(*tablet).unsynced() == 1);
    CHECK_THAT(must(tablet->get(lead.contact)).json, Contains("debts"));
    CHECK(must(sync_port(*tablet).cursors()).views.at(lead.family) == "view-full");
    CHECK(must(tablet->withheld(lead.family)).empty());
    CHECK_FALSE(must(sync_port(*tablet).cursors()).feed_version);  // the next sync pulls in full

    server.push_fails = false;
    auto report = must(client::sync(*tablet, server, quick()));
    CHECK(report.pushed == 1);
    CHECK(report.families_purged == 1);
    CHECK(sync_port(*tablet).unsynced() == 0);
    CHECK_THAT(must(tablet->get(lead.contact)).json, !Contains("debts"));
    CHECK(must(sync_port(*tablet).cursors()).views.at(lead.family) == "view-narrow");
  }

  SECTION("unsent work and a long pull: later pages of the same sync name the announced view") {
    must(tablet->update(lead.family, "phone", Value(std::string("07700 900123"))));
    server.push_fails = true;
    int answers = 0;
    server.on_pull = [&](const wire::PullRequest& q) {
      wire::PullReply r;
      if (q.views.at(lead.family) != "view-narrow") {
        r.purge = {lead.family};
        r.families = {page_of(lead.family, without_field(lead.ops, lead.contact, "narrative"), 2, "view-narrow", {withheld_field})};
      }
      r.more = ++answers < 2;
      r.feed_version = 3;
      return r;
    };
    REQUIRE_FALSE(client::sync(*tablet, server, quick()));
    REQUIRE(server.pulls.size() == 2);
    CHECK(server.pulls[1].views.at(lead.family) == "view-narrow");
    CHECK(server.pulls[1].cursors.at(lead.family) == 2);  // the cursor the device holds
    CHECK(must(sync_port(*tablet).cursors()).views.at(lead.family) == "view-full");
    CHECK(sync_port(*tablet).unsynced() == 1);
  }
}

TEST_CASE("Tablet: an op the server holds for a decision leaves the outbox and is shown with its reason",
          "[unit][sync][store]") {
  test::TempDir dir;
  test::FakeClock clock;
  LeadFamily lead = lead_family(dir.file("lead.db"), clock);
  auto tablet = open_store(dir.file("tablet.db"), clock);
  enrolled(*tablet);
  must(sync_port(*tablet).apply_page(lead.family, lead.ops, 2, FamilyViewInfo{"view-A", {}}));
  const std::string op_id = edit_phone(*tablet, lead.family);

  ScriptedServer server;
  hold_every_push(server, "only the lead professional changes this; kept for them to decide");
  auto report = must(client::sync(*tablet, server, quick()));
  CHECK(report.held == 1);
  CHECK(report.pushed == 0);
  CHECK(report.rejected == 0);
  CHECK(sync_port(*tablet).unsynced() == 0);
  CHECK(must(sync_port(*tablet).delivered_counter()) > 0);  // the server has it
  auto held = must(tablet->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].op_id == op_id);
  CHECK(held[0].family == lead.family);
  CHECK(held[0].route_to == "hv-1");
  CHECK_THAT(held[0].reason, Contains("lead professional"));
  CHECK(must(tablet->status()).held == 1);
  CHECK(must(tablet->quarantine()).empty());
  // kept in the op log but out of the local view: the record shows what the server holds
  CHECK_THAT(must(tablet->get(lead.family)).json, !Contains("07700 900999") && Contains("07700 900000"));
  CHECK_THAT(held[0].what, Contains("phone") && Contains("07700 900999"));
  CHECK(held[0].outcome.empty());
  // never sent again; the device asks whether it was decided
  must(client::sync(*tablet, server, quick()));
  CHECK(must(tablet->held()).size() == 1);
  CHECK(server.pushes.back().held_waiting == std::vector<std::string>{op_id});

  // The server says the lead dismissed it: the tablet records who and why, keeps the op, and
  // asks no more.
  server.on_push = [&](const wire::PushRequest& q) {
    wire::PushReply r;
    for (const auto& id : q.held_waiting) r.held_decided.push_back({id, "dismissed", "hv-1", "the number is not hers", 1234});
    return r;
  };
  report = must(client::sync(*tablet, server, quick()));
  CHECK(report.held_decided == 1);
  held = must(tablet->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].outcome == "dismissed");
  CHECK(held[0].decided_by == "hv-1");
  CHECK(held[0].decision_note == "the number is not hers");
  CHECK(held[0].decided_at_ms == 1234);
  CHECK(must(tablet->status()).held == 0);
  CHECK_THAT(must(tablet->get(lead.family)).json, !Contains("07700 900999"));
  const size_t pushes = server.pushes.size();
  must(client::sync(*tablet, server, quick()));
  CHECK(server.pushes.size() == pushes);  // nothing to send, nothing to ask
  // the server holds it: a purge of the family is not refused for it, and the tablet keeps
  // the entry and its decision (without the value)
  must(tablet->purge_family(lead.family));
  held = must(tablet->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].op_id == op_id);
  CHECK(held[0].family_purged);
  CHECK(held[0].outcome == "dismissed");
  CHECK(held[0].decided_by == "hv-1");
  CHECK(held[0].decision_note == "the number is not hers");
  CHECK_THAT(held[0].what, Contains("phone") && !Contains("07700"));
  CHECK(must(tablet->status()).held == 0);
}

TEST_CASE("Tablet: a held edit outlives a purge of its family and its decision still reaches the practitioner",
          "[unit][sync][store]") {
  test::TempDir dir;
  test::FakeClock clock;
  LeadFamily lead = lead_family(dir.file("lead.db"), clock);
  auto tablet = open_store(dir.file("tablet.db"), clock);
  enrolled(*tablet);
  must(sync_port(*tablet).apply_page(lead.family, lead.ops, 2, FamilyViewInfo{"view-A", {}}));
  const std::string op_id = edit_phone(*tablet, lead.family);

  ScriptedServer server;
  hold_every_push(server, "only the lead professional changes this; kept for them to decide");
  REQUIRE(must(client::sync(*tablet, server, quick())).held == 1);

  SECTION("a view change: purged and sent again under the new view") {
    server.on_pull = [&](const wire::PullRequest& q) {
      wire::PullReply r;
      auto known = q.views.find(lead.family);
      if (known == q.views.end() || known->second != "view-B") {
        r.purge = {lead.family};
        r.families = {page_of(lead.family, lead.ops, 2, "view-B", {})};
      }
      r.feed_version = 2;
      return r;
    };
  }
  SECTION("a removal: purged and not sent again") {
    server.on_pull = [&](const wire::PullRequest& q) {
      wire::PullReply r;
      if (!q.probe && q.cursors.count(lead.family)) r.purge = {lead.family};
      r.feed_version = 2;
      return r;
    };
  }
  REQUIRE(must(client::sync(*tablet, server, quick())).families_purged == 1);

  // still listed, marked as of a purged family, described without the value
  auto held = must(tablet->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].op_id == op_id);
  CHECK(held[0].family == lead.family);
  CHECK(held[0].family_purged);
  CHECK(held[0].route_to == "hv-1");
  CHECK_THAT(held[0].reason, Contains("lead professional"));
  CHECK(held[0].entity_id == lead.family);
  CHECK(held[0].what == "set " + held[0].entity_type + " " + lead.family + " phone");
  CHECK(held[0].outcome.empty());
  CHECK(must(tablet->status()).held == 1);
  CHECK(must(sync_port(*tablet).held_waiting(10)) == std::vector<std::string>{op_id});

  // the next push asks about it, and the lead's decision is recorded
  server.on_push = [&](const wire::PushRequest& q) {
    wire::PushReply r;
    for (const auto& id : q.held_waiting) r.held_decided.push_back({id, "applied", "hv-1", "checked with her", 4321});
    return r;
  };
  auto report = must(client::sync(*tablet, server, quick()));
  CHECK(server.pushes.back().held_waiting == std::vector<std::string>{op_id});
  CHECK(report.held_decided == 1);
  held = must(tablet->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].family_purged);
  CHECK(held[0].outcome == "applied");
  CHECK(held[0].decided_by == "hv-1");
  CHECK(held[0].decision_note == "checked with her");
  CHECK(held[0].decided_at_ms == 4321);
  CHECK(must(tablet->status()).held == 0);
  CHECK(must(sync_port(*tablet).held_waiting(10)).empty());
  // kept across a reopen, and asked about no more
  tablet.reset();
  tablet = open_store(dir.file("tablet.db"), clock);
  held = must(tablet->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].outcome == "applied");
  const size_t pushes = server.pushes.size();
  must(client::sync(*tablet, server, quick()));
  CHECK(server.pushes.size() == pushes);
}

TEST_CASE("Tablet: the offline purge past 14 days keeps the practitioner's held edits in sight", "[unit][sync][store][security]") {
  test::TempDir dir;
  test::FakeClock clock;
  LeadFamily lead = lead_family(dir.file("lead.db"), clock);
  const std::string path = dir.file("tablet.db");
  auto tablet = open_store(path, clock);
  enrolled(*tablet);
  ScriptedServer server;
  server.on_pull = [&](const wire::PullRequest& q) {
    wire::PullReply r;
    if (!q.cursors.count(lead.family)) r.families = {page_of(lead.family, lead.ops, 2, "view-A", {})};
    r.policy = policy_at(clock.now());
    return r;
  };
  must(client::sync(*tablet, server, quick()));
  const std::string op_id = edit_phone(*tablet, lead.family);
  hold_every_push(server, "for the lead");
  REQUIRE(must(client::sync(*tablet, server, quick())).held == 1);

  SECTION("with unsent work: the synced part is purged, the held edit stays listed") {
    must(tablet->create(lead.family, "Contact", test::contact_fields("2026-01-03T10:00:00Z", "Visit one", "yw-1")));
  }
  SECTION("with nothing unsent: the family is purged whole, the held edit stays listed") {}
  clock.advance(15 * kDay);
  tablet.reset();
  tablet = open_store(path, clock);
  CHECK(tablet->get(lead.contact).error().code == ErrorCode::not_found);  // purged
  auto held = must(tablet->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].op_id == op_id);
  CHECK(held[0].family_purged);
  CHECK_THAT(held[0].what, Contains("phone") && !Contains("07700"));
  CHECK(must(tablet->status()).held == 1);
  CHECK(must(sync_port(*tablet).held_waiting(10)) == std::vector<std::string>{op_id});
}

TEST_CASE("Tablet: offline periods block sharing after 24 hours, lock after 7 days, purge synced records after 14",
          "[unit][sync][store][security]") {
  test::TempDir dir;
  test::FakeClock clock;
  LeadFamily lead = lead_family(dir.file("lead.db"), clock);
  const std::string path = dir.file("tablet.db");
  auto tablet = open_store(path, clock);
  enrolled(*tablet);

  // before any policy: nothing locked, sharing blocked
  must(sync_port(*tablet).apply_page(lead.family, lead.ops, 2, FamilyViewInfo{"view-A", {}}));
  CHECK(must(tablet->offline_status()).state == OfflineState::no_policy);
  CHECK(tablet->may_share(lead.family).error().code == ErrorCode::forbidden);
  CHECK(must(tablet->get(lead.contact)).json.size() > 0);

  ScriptedServer server;
  int64_t cursor_asked = -1;
  server.on_pull = [&](const wire::PullRequest& q) {
    wire::PullReply r;
    auto c = q.cursors.find(lead.family);
    cursor_asked = c == q.cursors.end() ? -1 : c->second;
    if (c == q.cursors.end()) r.families = {page_of(lead.family, lead.ops, 2, "view-A", {})};
    r.policy = policy_at(clock.now());
    return r;
  };
  must(client::sync(*tablet, server, quick()));
  CHECK(must(tablet->offline_status()).state == OfflineState::fresh);
  must(tablet->may_share(lead.family));
  CHECK(tablet->may_share("no-such-family").error().code == ErrorCode::not_found);

  clock.advance(25 * kHour);
  auto share = tablet->may_share(lead.family);
  REQUIRE_FALSE(share);
  CHECK(share.error().code == ErrorCode::forbidden);
  CHECK_THAT(share.error().message, Contains("1 day 1 hour old") && Contains("Recording still works"));
  CHECK(must(tablet->offline_status()).state == OfflineState::sharing_blocked);
  CHECK_THAT(must(tablet->get(lead.contact)).json, Contains("debts"));  // reading still works
  must(tablet->create(lead.family, "Contact", test::contact_fields("2026-01-03T10:00:00Z", "Visit one", "yw-1")));

  clock.advance(7 * kDay);
  CHECK(must(tablet->offline_status()).state == OfflineState::locked);
  for (const Error& e : {error_of(tablet->get(lead.contact)), error_of(tablet->family(lead.family)),
                        error_of(tablet->export_family(lead.family)), error_of(tablet->open_conflicts()),
                        error_of(tablet->chronology(lead.family)), error_of(tablet->withheld(lead.family)),
                        error_of(tablet->history(lead.contact, "narrative"))}) {
    CHECK(e.code == ErrorCode::locked);
    CHECK_THAT(e.message, Contains(lead.family) && Contains("hearth sync"));
  }
  CHECK(must(tablet->status()).families == 1);  // the store itself answers
  // recording is never blocked, and the store still opens and answers its status
  must(tablet->create(lead.family, "Contact", test::contact_fields("2026-01-10T10:00:00Z", "Visit two", "yw-1")));
  CHECK(must(tablet->status()).unsynced == 2);
  tablet.reset();
  tablet = open_store(path, clock);
  CHECK(must(tablet->families()).size() == 1);

  SECTION("a sync unlocks it") {
    must(client::sync(*tablet, server, quick()));
    CHECK(must(tablet->offline_status()).state == OfflineState::fresh);
    CHECK_THAT(must(tablet->get(lead.contact)).json, Contains("debts"));
    must(tablet->may_share(lead.family));
  }

  SECTION("past 14 days the synced records are purged at the next open, unsent work is kept sealed") {
    clock.advance(7 * kDay);
    tablet.reset();
    tablet = open_store(path, clock);
    CHECK(must(tablet->offline_status()).state == OfflineState::purge_due);
    // every op left is the practitioner's own unsent work
    CHECK(sync_port(*tablet).unsynced() == 2);
    auto ids = must(sync_port(*tablet).op_ids());
    CHECK(ids.size() == 2);
    for (const auto& id : ids) CHECK(id.device == tablet->device_id());
    for (const auto& bytes : must(sync_port(*tablet).encoded_ops(lead.family))) CHECK(bytes.find("debts") == std::string::npos);
    CHECK(must(sync_port(*tablet).cursors()).families.count(lead.family) == 0);
    CHECK(must(sync_port(*tablet).cursors()).views.count(lead.family) == 0);
    CHECK(tablet->family(lead.family).error().code == ErrorCode::locked);
    CHECK(tablet->get(lead.contact).error().code == ErrorCode::not_found);  // purged
    // a sync delivers the unsent work and brings the family back whole
    auto report = must(client::sync(*tablet, server, quick()));
    CHECK(report.pushed == 2);
    CHECK(cursor_asked == -1);
    CHECK_THAT(must(tablet->get(lead.contact)).json, Contains("debts"));
    CHECK(must(tablet->chronology(lead.family)).size() == 3);
  }

  SECTION("past 14 days a family with nothing unsent is purged whole") {
    must(client::sync(*tablet, server, quick()));  // delivers the two visits
    clock.advance(15 * kDay);
    tablet.reset();
    tablet = open_store(path, clock);
    CHECK(must(tablet->families()).empty());
    CHECK(must(sync_port(*tablet).op_ids()).empty());
  }
}

TEST_CASE("Tablet: a held new record is kept in the log but not shown until the server decides", "[unit][sync][store]") {
  test::TempDir dir;
  test::FakeClock clock;
  LeadFamily lead = lead_family(dir.file("lead.db"), clock);
  auto tablet = open_store(dir.file("tablet.db"), clock);
  enrolled(*tablet);
  must(sync_port(*tablet).apply_page(lead.family, lead.ops, 2, FamilyViewInfo{"view-A", {}}));
  std::string contact = must(tablet->create(lead.family, "Contact", test::contact_fields("2026-01-02T10:00:00Z", "marker-held", "hv-1")));
  REQUIRE(tablet->get(contact).ok());
  ScriptedServer server;
  server.on_push = [&](const wire::PushRequest& q) {
    wire::PushReply r;
    for (const auto& bytes : q.ops)
      r.results.push_back({must(sync::decode(bytes)).id.to_string(), wire::OpStatus::held, "kept for the lead", std::nullopt, "hv-1"});
    return r;
  };
  must(client::sync(*tablet, server, quick()));
  CHECK(tablet->get(contact).error().code == ErrorCode::not_found);
  CHECK_THAT(must(tablet->export_family(lead.family)), !Contains("marker-held"));
  auto held = must(tablet->held());
  REQUIRE(held.size() == 1);
  CHECK(held[0].entity_id == contact);
  CHECK_THAT(held[0].what, Contains("create Contact"));
  CHECK(must(sync_port(*tablet).encoded_ops(lead.family)).size() == lead.ops.size() + 1);  // kept in the log
}

TEST_CASE("CLI: hearth family and show say what is withheld, status lists held ops, a locked family says to sync",
          "[unit][cli]") {
  test::TempDir dir;
  const std::map<std::string, std::string> pin = {{"HEARTH_PIN", "2468"}};
  auto hearth = [&](std::vector<std::string> args) {
    return test::run_process(test::build_binary("client/hearth"), std::move(args), dir.path().string(), pin);
  };
  std::string family, contact;
  {
    StoreOptions o;
    o.practitioner_id = "yw-1";
    o.pin = "2468";
    auto s = must(Store::open(dir.file("hearth.db"), std::move(o)));
    family = must(s->create_family(test::family_fields()));
    contact = must(s->create(family, "Contact", test::contact_fields("2026-01-02T10:00:00Z", "Visit", "yw-1")));
    must(sync_port(*s).apply_page(family, {}, 5, FamilyViewInfo{"view-A", {contact + "#concern_raised", family + "/alert/x"}}));
    must(s->update(family, "phone", Value(std::string("07700 900111"))));
    auto queued = must(sync_port(*s).outbox());
    must(sync_port(*s).record_push({queued[0].seq, queued[1].seq}, {}, 1,
                                   {HeldResult{queued[2].seq, "only the lead professional records this", "hv-1"}}));
  }
  auto shown = hearth({"family", family, "--json"});
  INFO(shown.err);
  REQUIRE(shown.code == 0);
  auto j = nlohmann::json::parse(shown.out);
  CHECK(j["withheld"] == nlohmann::json::array({contact + "#concern_raised", family + "/alert/x"}));
  auto human = hearth({"family", family});
  CHECK_THAT(human.out, Contains("concern_raised: (withheld)") && Contains("1 records withheld from you"));
  CHECK_THAT(hearth({"show", contact}).out, Contains("concern_raised: (withheld)"));
  auto status = hearth({"status"});
  CHECK_THAT(status.out, Contains("held for hv-1: only the lead professional records this"));
  CHECK(nlohmann::json::parse(hearth({"status", "--json"}).out)["held"].size() == 1);
  auto held = hearth({"held"});
  CHECK(held.code == 0);
  CHECK_THAT(held.out, Contains("set Family " + family + " phone to") && Contains("07700 900111") &&
                           Contains("held for hv-1: only the lead professional records this") &&
                           Contains("waiting for a decision"));
  auto held_json = nlohmann::json::parse(hearth({"held", "--json"}).out);
  REQUIRE(held_json["held"].size() == 1);
  CHECK(held_json["held"][0]["outcome"] == "waiting");
  CHECK(held_json["held"][0]["record"] == family);
  // the held value is not shown as the family's phone
  CHECK_THAT(hearth({"show", family}).out, !Contains("07700 900111"));

  {  // a policy received ten days ago: the family is locked
    StoreOptions o;
    o.pin = "2468";
    auto s = must(Store::open(dir.file("hearth.db"), std::move(o)));
    PolicySnapshot p;
    p.issued_at_ms = test::wall_now_ms() - 10 * kDay;
    p.practitioner = "yw-1";
    p.sharing_block_after_ms = kDay;
    p.lock_after_ms = 7 * kDay;
    p.purge_after_ms = 14 * kDay;
    must(sync_port(*s).record_policy(p));
  }
  auto locked = hearth({"family", family});
  CHECK(locked.code == 2);
  CHECK_THAT(locked.err, Contains("is locked") && Contains("hearth sync"));
  auto still = hearth({"status"});
  CHECK(still.code == 0);
  CHECK_THAT(still.out, Contains("locked"));
}

TEST_CASE("CLI: hearth share queues a sharing act while consent status is fresh and refuses it once stale, and "
          "recording still works",
          "[unit][cli]") {
  const std::map<std::string, std::string> pin = {{"HEARTH_PIN", "2468"}};
  // A store with one family whose policy was received `ago_ms` ago (none: never).
  struct Tablet {
    test::TempDir dir;
    std::string family;
  };
  auto tablet = [&](std::optional<uint64_t> ago_ms) {
    auto t = std::make_unique<Tablet>();
    StoreOptions o;
    o.practitioner_id = "yw-1";
    o.pin = "2468";
    auto s = must(Store::open(t->dir.file("hearth.db"), std::move(o)));
    t->family = must(s->create_family(test::family_fields()));
    if (ago_ms) {
      PolicySnapshot p;
      p.issued_at_ms = test::wall_now_ms() - *ago_ms;
      p.practitioner = "yw-1";
      p.sharing_block_after_ms = kDay;
      p.lock_after_ms = 7 * kDay;
      p.purge_after_ms = 14 * kDay;
      must(sync_port(*s).record_policy(p));
    }
    return t;
  };
  auto hearth = [&](const Tablet& t, std::vector<std::string> args) {
    return test::run_process(test::build_binary("client/hearth"), std::move(args), t.dir.path().string(), pin);
  };

  // No policy yet: no consent status is known, so nothing is shared.
  auto none = tablet(std::nullopt);
  auto never = hearth(*none, {"share", "invite-to-taf", "--family", none->family, "--to", "org-school"});
  CHECK(never.code == 4);
  CHECK_THAT(never.err, Contains("sync first"));

  auto fresh = tablet(2 * kHour);
  const std::string& family = fresh->family;
  auto queued = hearth(*fresh, {"share", "invite-to-taf", "--family", family, "--to", "org-school", "--json"});
  INFO(queued.err);
  REQUIRE(queued.code == 0);
  auto j = nlohmann::json::parse(queued.out);
  std::string id = j["id"];
  CHECK_FALSE(j["consent_status_as_of"].get<std::string>().empty());
  auto listed = nlohmann::json::parse(hearth(*fresh, {"shares", family, "--json"}).out);
  REQUIRE(listed["shares"].size() == 1);
  CHECK(listed["shares"][0]["id"] == id);
  CHECK(listed["shares"][0]["kind"] == "INVITE_TO_TAF");
  CHECK(listed["shares"][0]["status"] == "REQUESTED");
  CHECK_THAT(hearth(*fresh, {"shares", family}).out, Contains("the server decides it at the next sync"));
  CHECK_THAT(hearth(*fresh, {"status"}).out, Contains("consent status as of"));

  auto stale = tablet(30 * kHour);  // a day and six hours: sharing blocked
  auto refused = hearth(*stale, {"share", "send-plan", "--family", stale->family, "--to", "org-school", "--plan", "plan-1"});
  CHECK(refused.code == 4);
  CHECK_THAT(refused.err, Contains("consent status as of") && Contains("sync first") && Contains("Recording still works"));
  auto visit = hearth(*stale, {"create", "Contact", "--family", stale->family,
                               R"({"practitioner": "yw-1", "occurred_at": "2026-11-23T10:00:00Z", "contact_type": "HOME_VISIT",
                                   "narrative": "recorded while sharing is blocked", "concern_raised": false})"});
  CHECK(visit.code == 0);
  CHECK(nlohmann::json::parse(hearth(*stale, {"shares", stale->family, "--json"}).out)["shares"].empty());
}

TEST_CASE("Tablet: a clock set back does not make the policy younger, and a sync resets the highest time seen",
          "[unit][sync][store][security]") {
  test::TempDir dir;
  test::FakeClock clock;
  LeadFamily lead = lead_family(dir.file("lead.db"), clock);
  const std::string path = dir.file("tablet.db");
  auto tablet = open_store(path, clock);
  enrolled(*tablet);
  ScriptedServer server;
  uint64_t server_time = clock.now();
  server.on_pull = [&](const wire::PullRequest& q) {
    wire::PullReply r;
    if (!q.cursors.count(lead.family)) r.families = {page_of(lead.family, lead.ops, 2, "view-A", {})};
    r.policy = policy_at(server_time);
    return r;
  };
  must(client::sync(*tablet, server, quick()));
  REQUIRE(must(tablet->offline_status()).state == OfflineState::fresh);

  // Eight days on, an edit records the time; the clock set back a week changes nothing.
  clock.advance(8 * kDay);
  must(tablet->create(lead.family, "Contact", test::contact_fields("2026-01-09T10:00:00Z", "Visit", "yw-1")));
  clock.set(clock.now() - 7 * kDay);
  auto st = must(tablet->offline_status());
  CHECK(st.state == OfflineState::locked);
  CHECK(st.age_ms >= static_cast<int64_t>(8 * kDay));
  CHECK(tablet->get(lead.contact).error().code == ErrorCode::locked);
  auto sharing = tablet->create(lead.family, "SharingRequest",
                                {{"kind", "INVITE_TO_TAF"}, {"recipient", "org-school"}, {"requested_by", "yw-1"},
                                 {"requested_at", "2026-01-02T10:00:00Z"}});
  REQUIRE_FALSE(sharing);
  CHECK_THAT(sharing.error().message, Contains("consent status as of"));
  // Reopened on the set-back clock (the open records its own time): still locked.
  tablet.reset();
  tablet = open_store(path, clock);
  CHECK(must(tablet->offline_status()).state == OfflineState::locked);

  // A sync brings the server's time: fresh again, whatever the store had seen.
  server_time = clock.now();
  must(client::sync(*tablet, server, quick()));
  CHECK(must(tablet->offline_status()).state == OfflineState::fresh);
  must(tablet->get(lead.contact));
  must(tablet->create(lead.family, "SharingRequest",
                      {{"kind", "INVITE_TO_TAF"}, {"recipient", "org-school"}, {"requested_by", "yw-1"},
                       {"requested_at", "2026-01-02T10:00:00Z"}}));
}
