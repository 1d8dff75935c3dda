// The sync service in process (no sockets): who may create a family (fault 7) and recording is
// not sharing (fault 2 server side, DOMAIN.md §6.6), from the inputs issue 7 describes.
#include <catch2/catch.hpp>

#include "../support/db_count.hpp"
#include <sqlite3.h>

#include "service_harness.hpp"
#include "usecases/device_wipe.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using sync::protocol::OpStatus;

namespace {

// Audit events of an action for a family, read from the server database.
int64_t audit_count(const ServiceHarness& h, const std::string& action, const std::string& family) {
  return db_count(h.db.location(), "SELECT count(*) FROM audit_events WHERE action = ? AND family = ?",
                  {action, family});
}

}  // namespace

TEST_CASE("Fault 7: a family id the office allocated before its first op exists cannot be created by another "
          "practitioner", "[fault][security]") {
  ServiceHarness h;
  // The office allocates fam-7 to hv-1 as lead; no tablet has created it yet.
  h.allocate("fam-7", "hv-1", true);
  Device hv(h, "dev-hv", "hv-1"), yw(h, "dev-yw", "yw-1");
  // yw-1's tablet creates a family with that id first, offline, and syncs.
  auto squatter = must(yw.replica.create("fam-7", "Family", "fam-7", family_fields("Squatter")));
  auto res = yw.push_one(squatter);
  CHECK(res.status == OpStatus::rejected);
  CHECK_THAT(res.reason, Contains("no access to family fam-7"));
  // yw-1 is not on the team, let alone a second lead
  CHECK(must(h.store->caseload().team_of("fam-7")) == std::vector<std::string>{"hv-1"});
  CHECK_FALSE(must(h.store->caseload().membership("fam-7", "yw-1")));
  CHECK(must(h.store->ops().ops_after("fam-7", 0, SIZE_MAX)).size() == 1);  // the office's TeamMember record only
  CHECK(audit_count(h, "denied", "fam-7") == 1);
  // the practitioner it was allocated to creates it; yw-1 receives nothing of it
  h.clock.advance(1000);
  auto real = must(hv.replica.create("fam-7", "Family", "fam-7", family_fields("Allocated")));
  CHECK(hv.push_one(real).status == OpStatus::accepted);
  CHECK(must(h.store->caseload().team_of("fam-7")) == std::vector<std::string>{"hv-1"});
  CHECK(must(h.store->caseload().membership("fam-7", "hv-1"))->lead);
  yw.pull();
  CHECK(yw.cursors.empty());
  // a brand-new family id still makes its creator the lead
  auto own = must(yw.replica.create("fam-yw", "Family", "fam-yw", family_fields("New")));
  CHECK(yw.push_one(own).status == OpStatus::accepted);
  CHECK(must(h.store->caseload().membership("fam-yw", "yw-1"))->lead);
}

TEST_CASE("Fault 2: a visit recorded offline after being taken off the team is accepted and flagged for the lead",
          "[fault]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1"), yw(h, "dev-yw", "yw-1");
  auto fam = must(hv.replica.create("fam-2", "Family", "fam-2", family_fields()));
  REQUIRE(hv.push_one(fam).status == OpStatus::accepted);
  h.allocate("fam-2", "yw-1");
  h.clock.advance(1000);
  CHECK(yw.pull().empty());  // yw-1's tablet holds the family: its last sync was while on the team
  REQUIRE(yw.cursors.count("fam-2") == 1);

  // The office takes yw-1 off the team; the tablet, offline, records a visit note.
  h.clock.advance(60'000);
  must(h.store->caseload().deallocate("fam-2", "yw-1", static_cast<int64_t>(h.clock.now())));
  h.clock.advance(60'000);
  auto note = must(yw.replica.create("fam-2", "Contact", "contact-yw-1",
                                     contact_fields("2026-11-20T10:00:00Z", "visit recorded offline", "yw-1")));
  auto res = yw.push_one(note);
  CHECK(res.status == OpStatus::accepted);
  CHECK_THAT(res.reason, Contains("flagged for the lead professional"));
  auto flags = must(h.store->flags().list(std::string("fam-2")));
  REQUIRE(flags.size() == 1);
  CHECK(flags[0].kind == server::kFlagRecordedAfterRemoval);
  CHECK(flags[0].op_id == note.id.to_string());
  CHECK(flags[0].practitioner == "yw-1");
  // the note is in the family's record: the lead receives it
  hv.pull();
  CHECK(hv.replica.mat().contains(note.id));
  // pushed again (an answer lost on the way): a duplicate, not a second flag
  CHECK(yw.push_one(note).status == OpStatus::duplicate);
  CHECK(must(h.store->flags().list(std::string("fam-2"))).size() == 1);

  // Once the tablet has pulled (and was told to purge the family), new work is refused.
  h.clock.advance(1000);
  CHECK(yw.pull() == std::vector<std::string>{"fam-2"});
  CHECK(audit_count(h, "purge-instruction", "fam-2") == 1);
  h.clock.advance(1000);
  auto late = must(yw.replica.create("fam-2", "Contact", "contact-yw-2",
                                     contact_fields("2026-11-21T10:00:00Z", "recorded after being told", "yw-1")));
  auto refused = yw.push_one(late);
  CHECK(refused.status == OpStatus::rejected);
  CHECK_THAT(refused.reason, Contains("taken off its team before this device's last sync"));
  CHECK(refused.code == sync::protocol::WireError::forbidden);
  CHECK(must(h.store->flags().list(std::string("fam-2"))).size() == 1);
  CHECK(audit_count(h, "flag", "fam-2") == 1);

  // The tablet keeps the refused note in quarantine and reports it: the lead sees it exists.
  sync::protocol::PushRequest report;
  report.quarantined = {{late.id.to_string(), "fam-2", refused.reason}, {"dev-hv:1", "fam-2", "not this device's"}};
  auto r = h.post("/v1/push", sync::protocol::encode(report), yw.token);
  REQUIRE(r.status == 200);
  auto reply = must(sync::protocol::decode_push_reply(r.body));
  CHECK(reply.quarantine_acknowledged == std::vector<std::string>{late.id.to_string()});
  auto all = must(h.store->flags().list(std::string("fam-2")));
  REQUIRE(all.size() == 2);
  CHECK(all[1].kind == server::kFlagQuarantinedOnDevice);
  CHECK(all[1].op_id == late.id.to_string());
  // reported again (the acknowledgement was lost): acknowledged again, flagged once
  r = h.post("/v1/push", sync::protocol::encode(report), yw.token);
  CHECK(must(sync::protocol::decode_push_reply(r.body)).quarantine_acknowledged.size() == 1);
  CHECK(must(h.store->flags().list(std::string("fam-2"))).size() == 2);
  CHECK(audit_count(h, "flag", "fam-2") == 2);
  CHECK(audit_count(h, "denied", "fam-2") == 1);
}

TEST_CASE("History epoch: every answer carries it, and a history that went back gets a new one", "[fault]") {
  ServiceHarness h;
  Device hv(h, "dev-hv", "hv-1");
  auto fam = must(hv.replica.create("fam-3", "Family", "fam-3", family_fields()));
  auto edit = must(hv.replica.set("fam-3", "phone", std::string("07700 900333")));
  REQUIRE(hv.push({fam, edit}).size() == 2);
  hv.pull();
  std::string epoch = must(h.store->ops().history_epoch());
  CHECK_FALSE(epoch.empty());
  auto push_as_told = [&](uint64_t delivered) {
    sync::protocol::PushRequest request;
    request.history_epoch = epoch;
    request.delivered_counter = delivered;
    auto r = h.post("/v1/push", sync::protocol::encode(request), hv.token);
    REQUIRE(r.status == 200);
    return must(sync::protocol::decode_push_reply(r.body)).history.epoch;
  };
  CHECK(push_as_told(2) == epoch);  // the server holds both ops: the same history

  // The data directory is put back by hand to before the edit (same epoch in it).
  db_exec(h.db.location(), "DELETE FROM ops WHERE device = 'dev-hv' AND counter = 2");
  std::string renewed = push_as_told(2);
  CHECK(renewed != epoch);
  CHECK(renewed == must(h.store->ops().history_epoch()));
  CHECK(audit_count(h, "history-epoch", "") == 1);

  // A pull whose cursor is ahead of the family's log, under the current epoch, is the same sign.
  epoch = renewed;
  sync::protocol::PullRequest pull;
  pull.history_epoch = epoch;
  pull.cursors = {{"fam-3", 1000}};
  auto r = h.post("/v1/pull", sync::protocol::encode(pull), hv.token);
  REQUIRE(r.status == 200);
  CHECK(must(sync::protocol::decode_pull_reply(r.body)).history.epoch != epoch);
  // health answers carry it too
  server::HttpRequest health;
  health.method = "GET";
  health.path = "/v1/health";
  auto hr = h.service.handle(health);
  CHECK(must(sync::protocol::decode_health_reply(hr.body)).history.epoch == must(h.store->ops().history_epoch()));
}

TEST_CASE("Pull: cursors of families never on the caseload are purged with one audit event", "[security]") {
  ServiceHarness h;
  Device yw(h, "dev-yw", "yw-1");
  for (int i = 0; i < 200; ++i) yw.cursors["forged-" + std::to_string(i)] = 1;
  CHECK(yw.pull().size() == 200);
  CHECK(audit_count(h, "purge-instruction", "") == 1);
}

TEST_CASE("Service: a wipe rides on every answer with nothing more pulled and the acknowledgement revokes",
          "[unit][security]") {
  ServiceHarness h;
  Device dev(h, "dev-w", "hv-1");
  Device other(h, "dev-o", "hv-1");
  auto family = must(dev.replica.create("fam-w", "Family", "fam-w", family_fields("Wiped")));
  REQUIRE(dev.push_one(family).status == OpStatus::accepted);
  namespace wire = sync::protocol;
  auto ack = [&](Device& d) { return h.post("/v1/wipe/ack", wire::encode(wire::WipeAck{2, 0}), d.token); };
  auto pull_reply = [&](Device& d) {
    auto r = h.post("/v1/pull", wire::encode(wire::PullRequest{}), d.token);
    REQUIRE(r.status == 200);
    return must(wire::decode_pull_reply(r.body));
  };

  // no wipe requested: an acknowledgement is refused and changes nothing; a malformed one is a 400
  auto early = ack(other);
  CHECK(early.status == 409);
  auto malformed = h.post("/v1/wipe/ack", R"({"unsynced_lost":"three","quarantined_lost":0})", other.token);
  CHECK(malformed.status == 400);
  CHECK_THAT(malformed.body, Contains("unsynced_lost"));
  CHECK(h.post("/v1/wipe/ack", wire::encode(wire::WipeAck{}), "").status == 401);  // the device credential only
  CHECK(must(wire::decode_pull_reply(h.post("/v1/pull", wire::encode(wire::PullRequest{}), other.token).body)).policy);

  auto said = h.service.with_context([](server::ServiceContext& ctx) { return server::request_wipe(ctx, "dev-w", true); });
  REQUIRE(said);
  CHECK_FALSE(h.service.with_context([](server::ServiceContext& ctx) { return server::request_wipe(ctx, "dev-none", false); }).ok());
  // the push is taken (the device pushes first) and its answer carries the order
  auto pushed = h.post("/v1/push", wire::encode(wire::PushRequest{}), dev.token);
  REQUIRE(pushed.status == 200);
  auto push_reply = must(wire::decode_push_reply(pushed.body));
  REQUIRE(push_reply.wipe);
  CHECK(push_reply.wipe->discard_unsynced);
  // the pull answer carries the order alone: no family, no policy (no key lease renewed)
  auto pulled = pull_reply(dev);
  REQUIRE(pulled.wipe);
  CHECK(pulled.families.empty());
  CHECK_FALSE(pulled.policy);
  CHECK_FALSE(pull_reply(other).wipe);  // only the device named

  auto first = ack(dev);
  REQUIRE(first.status == 200);
  const uint64_t at = must(wire::decode_wipe_ack_reply(first.body)).acknowledged_at_ms;
  CHECK(at == h.clock.now());
  // revoked from now on; a repeated acknowledgement (its answer lost) hears the same answer
  CHECK(h.post("/v1/pull", wire::encode(wire::PullRequest{}), dev.token).status == 403);
  auto again = ack(dev);
  REQUIRE(again.status == 200);
  CHECK(must(wire::decode_wipe_ack_reply(again.body)).acknowledged_at_ms == at);
  CHECK(db_count(h.db.location(), "SELECT count(*) FROM audit_events WHERE action = 'wipe-requested'") == 1);
  CHECK(db_count(h.db.location(), "SELECT count(*) FROM audit_events WHERE action = 'wipe-acknowledged'") == 1);
  auto lines = must(h.service.with_context([](server::ServiceContext& ctx) { return server::device_lines(ctx); }));
  REQUIRE(lines.size() == 2);
  if (lines[0].find("dev-w") == std::string::npos) std::swap(lines[0], lines[1]);
  CHECK_THAT(lines[0], Contains("dev-w") && Contains("REVOKED") && Contains("(discard unsynced)") &&
                           Contains("wipe acknowledged") && Contains("2 unsynced ops lost"));
  CHECK_THAT(lines[1], Contains("dev-o") && Contains("lease until") && !Contains("wipe"));
}
