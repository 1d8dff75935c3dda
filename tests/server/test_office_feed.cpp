// The office outbox, its pull feed and its repeater (usecases/office_outbox.hpp, office_feed.hpp,
// office_repeater.hpp; DOMAIN.md §6.6, §11, §13 S3): what is queued and what is withheld,
// coalescing, acknowledgements with office ids, a withdrawal cancelling a queued item, the
// step-up package with priority, the repeater's backoff and dead letter, code mappings and
// erasure. In process, over the service harness; the repeater posts to a fake office.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <mutex>
#include <thread>

#include "../support/db_count.hpp"
#include "keys/kek.hpp"
#include "keys/keyring.hpp"
#include "service_harness.hpp"
#include "usecases/consent.hpp"
#include "usecases/office.hpp"
#include "usecases/office_feed.hpp"
#include "usecases/office_outbox.hpp"
#include "usecases/office_repeater.hpp"

using namespace hearth;
using namespace hearth::test;
using nlohmann::json;
using sync::protocol::OpStatus;

namespace {

// A family as a health visitor records it: the family, mother and child, a referral, an episode.
struct OfficeFamily {
  ServiceHarness& h;
  Device hv;
  std::string token;

  explicit OfficeFamily(ServiceHarness& harness) : h(harness), hv(harness, "dev-hv", "hv-1") {
    token = must(h.service.with_context(
        [](server::ServiceContext& ctx) { return server::issue_office_credential(ctx, "case-system"); }));
    create("Family", "fam-o", family_fields());
    create("Person", "mother-1", person_fields("M", "1990-02-03"));
    create("Person", "child-1", person_fields("C", "2022-04-05"));
    create("Referral", "ref-1", referral_fields());
    auto episode = episode_fields();
    episode["allocated_org"] = std::string("org-hv");
    create("EarlyHelpEpisode", "ep-1", episode);
  }
  void create(const std::string& type, const std::string& id, const FieldValues& fields) {
    REQUIRE(hv.push_one(must(hv.replica.create("fam-o", type, id, fields))).status == OpStatus::accepted);
  }
  void set(const std::string& id, const std::string& field, const Value& v) {
    REQUIRE(hv.push_one(must(hv.replica.set(id, field, v))).status == OpStatus::accepted);
  }
  // The server's own edits (as the step-up workflow makes them).
  void authority(std::vector<server::AuthorityEdit> edits) {
    server::AuthorityWrite w;
    w.family = "fam-o";
    w.author = server::kOfficeAuthor;
    w.action = "test-write";
    w.detail = "test";
    w.plan = [edits](server::ServiceContext&, const sync::Materialiser&) -> Result<std::vector<server::AuthorityEdit>> {
      return edits;
    };
    must(h.service.with_context([&](server::ServiceContext& ctx) { return server::authority_write(ctx, {w}); }));
  }
  std::vector<server::OutboxItem> items(const std::string& state = "") {
    auto all = must(h.store->outbox().list(state, "fam-o", 1000));
    std::reverse(all.begin(), all.end());  // feed order
    return all;
  }
  // The newest item of the record.
  std::optional<server::OutboxItem> item_of(const std::string& record, const std::string& kind = "record") {
    std::optional<server::OutboxItem> found;
    for (auto& i : items())
      if (i.record == record && i.kind == kind) found = i;
    return found;
  }
  json feed(int64_t after, int64_t limit) {
    auto r = h.post(server::kOfficeFeedPath, json{{"after", after}, {"limit", limit}}.dump(), token);
    REQUIRE(r.status == 200);
    return json::parse(r.body);
  }
  json ack(const json& acks) {
    auto r = h.post(server::kOfficeFeedAckPath, json{{"acks", acks}}.dump(), token);
    REQUIRE(r.status == 200);
    return json::parse(r.body)["results"];
  }
  size_t audits(const std::string& action) {
    return static_cast<size_t>(db_count(h.db.location(), "SELECT count(*) FROM audit_events WHERE action = ?", {action}));
  }
};

FieldValues register_consent() {
  auto c = consent_fields();
  c["purposes"] = StringList{"SHARE_WITH_TAF", "REGISTER_ON_INDEX"};
  return c;
}

}  // namespace

TEST_CASE("Office outbox: each accepted change is queued once with its minimum set, and coalesced", "[unit]") {
  ServiceHarness h;
  OfficeFamily f(h);
  auto referral = f.item_of("ref-1");
  REQUIRE(referral);
  json j = json::parse(referral->payload);
  CHECK(j["key"] == "ref-1:" + std::to_string(referral->revision));
  CHECK(j["type"] == "Referral");
  CHECK(j["fields"]["referral_source_code"] == "1A");
  CHECK(j["fields"]["presenting_needs"] == json::array({"PARENTING_SUPPORT"}));
  CHECK_FALSE(j["fields"].contains("reason_text"));  // not in the §11.1 minimum set
  auto person = f.item_of("child-1");
  REQUIRE(person);
  CHECK(json::parse(person->payload)["fields"]["date_of_birth"] == "2022-04-05");

  // Two edits before the office reads anything: the newest revision stands for both.
  f.set("child-1", "given_names", std::string("Cara"));
  f.set("child-1", "given_names", std::string("Carys"));
  size_t of_child = 0;
  for (const auto& i : f.items())
    if (i.record == "child-1") {
      ++of_child;
      CHECK(json::parse(i.payload)["fields"]["given_names"] == "Carys");
    }
  CHECK(of_child == 1);

  // The same (record, revision) again is not a new item.
  server::OutboxItem again = *f.item_of("child-1");
  auto seq = again.seq;
  again.seq = 0;
  CHECK_FALSE(must(h.store->outbox().enqueue(again)));
  CHECK(again.seq == seq);
  // Directory-like and server-only records never go (no TeamMember, no Task).
  for (const auto& i : f.items()) CHECK(i.type != "TeamMember");
}

TEST_CASE("Office feed: a cursor reads every item once, acknowledgements store office ids and repeat harmlessly",
          "[unit][security]") {
  ServiceHarness h;
  OfficeFamily f(h);
  const size_t total = f.items().size();
  REQUIRE(total >= 5);
  CHECK(h.post(server::kOfficeFeedPath, "{}", "").status == 401);          // no credential
  CHECK(h.post(server::kOfficeFeedPath, "{}", f.hv.token).status == 401);  // a device's credential
  CHECK(h.post(server::kOfficeFeedPath, R"({"limit": 0})", f.token).status == 400);
  CHECK(h.post(server::kOfficeFeedPath, R"({"after": "x"})", f.token).status == 400);

  std::set<std::string> seen;
  int64_t cursor = 0;
  for (int page = 0; page < 20; ++page) {  // bounded
    json p = f.feed(cursor, 2);
    CHECK(p["items"].size() <= 2);
    for (const auto& item : p["items"]) {
      CHECK(seen.insert(item["key"].get<std::string>()).second);
      CHECK(item["seq"].get<int64_t>() > cursor);
    }
    cursor = p["next_cursor"].get<int64_t>();
    if (!p["more"].get<bool>()) break;
  }
  CHECK(seen.size() == total);
  CHECK(f.feed(cursor, 10)["items"].empty());

  const std::string key = f.item_of("child-1")->key;
  json first = f.ack(json::array({{{"key", key}, {"office_ref", "EHM-P-77"}}, {{"key", "nope:1"}}}));
  CHECK(first[0]["status"] == "acknowledged");
  CHECK(first[0]["office_ref_stored"] == true);
  CHECK(first[1]["status"] == "unknown");
  json second = f.ack(json::array({{{"key", key}, {"office_ref", "EHM-P-77"}}}));
  CHECK(second[0]["status"] == "already");
  CHECK(second[0]["office_ref_stored"] == false);
  auto ref = must(h.store->outbox().office_ref("child-1"));
  REQUIRE(ref);
  CHECK(ref->office_ref == "EHM-P-77");
  CHECK(f.audits("office-ack") == 1);
  // The disclosure log names the credential and the channel; a re-read adds nothing.
  auto log = must(h.store->outbox().disclosures("fam-o"));
  CHECK(log.size() == total);
  CHECK(log.front().recipient == "case-system");
  CHECK(log.front().channel == "pull");
  f.feed(0, 100);
  CHECK(must(h.store->outbox().disclosures("fam-o")).size() == total);
  // A later change of the record carries the office's id.
  f.set("child-1", "given_names", std::string("Ceri"));
  CHECK(json::parse(f.item_of("child-1")->payload)["office_ref"] == "EHM-P-77");
}

TEST_CASE("Office outbox: a consent withdrawal cancels queued items it forbids, and later changes are withheld",
          "[unit][security]") {
  ServiceHarness h;
  OfficeFamily f(h);
  f.create("ConsentRecord", "consent-1", register_consent());
  auto mother = f.item_of("mother-1");
  REQUIRE(mother);
  CHECK(mother->state == "queued");
  auto child = f.item_of("child-1");
  REQUIRE(child);
  // The office already read the child's item: it is not recalled (§6.6, not retrospective).
  must(h.store->outbox().mark_served(child->seq, 1));

  server::Withdrawal w;
  w.family = "fam-o";
  w.consent = "consent-1";
  w.scope = server::Withdrawal::Scope::purposes;
  w.items = {"REGISTER_ON_INDEX"};
  w.withdrawn_by = "mother-1";
  w.recorded_by = "hv-1";
  w.channel = "PHONE";
  must(h.service.with_context([&](server::ServiceContext& ctx) {
    return server::authority_write(ctx, {server::consent_withdrawal(w)});
  }));
  auto cancelled = must(h.store->outbox().get(mother->seq));
  REQUIRE(cancelled);
  CHECK(cancelled->state == "cancelled");
  CHECK_THAT(cancelled->last_error, Catch::Matchers::Contains("consent-1"));
  CHECK(must(h.store->outbox().get(child->seq))->state == "queued");
  CHECK(f.audits("office-cancelled") >= 1);
  // Not in the feed, and a later change of the mother is not queued (audited).
  const json page = f.feed(0, 500);  // kept: a range-for over a temporary's member dangles
  for (const auto& item : page["items"]) CHECK(item["record"] != "mother-1");
  size_t withheld = f.audits("office-withheld");
  f.set("mother-1", "given_names", std::string("Mair"));
  CHECK(f.audits("office-withheld") == withheld + 1);
  CHECK(f.item_of("mother-1")->state == "cancelled");
  // The family's own record stays whole (§6.2): nothing is lost on the server.
  auto merged = must(h.service.with_context([](server::ServiceContext& ctx) { return ctx.cache.get("fam-o"); }));
  CHECK(merged->entity("mother-1")->value("given_names").as_string() == "Mair");
}

TEST_CASE("Office outbox: a submitted step-up queues its package with priority, later contacts as supplementary",
          "[unit]") {
  ServiceHarness h;
  OfficeFamily f(h);
  f.create("Assessment", "as-1", assessment_fields());
  f.create("FamilyPlan", "plan-1", plan_fields());
  f.create("Contact", "c-4", contact_fields("2026-01-07T09:45:00Z", "Disclosure during the visit"));
  f.create("ConsentRecord", "consent-1", consent_fields());
  f.create("OutcomeMeasurement", "star-1",
           {{"episode", "ep-1"}, {"subject_kind", "FAMILY"}, {"tool", "FAMILY_STAR_PLUS"}, {"reading_type", "BASELINE"},
            {"completed_on", "2026-01-06"}, {"completion_mode", "COLLABORATIVE"}, {"scores", StringList{"WELLBEING=4"}}});
  f.create("InformationSharingDecision", "isd-1",
           {{"decided_at", "2026-01-07T09:50:00Z"}, {"decided_by", "hv-1"}, {"episode", "ep-1"}, {"decision", "SHARE"},
            {"with_consent", "NO_NOT_SOUGHT"}, {"recipients", StringList{"org-mash"}}, {"items_summary", "EHA, plan"},
            {"purpose", "STEP_UP"}, {"risk_description", "Assault while holding the baby"},
            {"necessity_proportionality", "Urgent"}, {"subject_informed", "NOT_INFORMED"},
            {"not_informed_reason", "WOULD_INCREASE_RISK_TO_CHILD"}, {"lawful_basis", "PUBLIC_TASK_6_1_E"},
            {"art9_condition", "SUBSTANTIAL_PUBLIC_INTEREST_SCH1_P18_SAFEGUARDING"}});
  f.create("StepUpRequest", "su-1",
           {{"episode", "ep-1"}, {"children", StringList{"child-1"}}, {"kind", "UNPLANNED_INCIDENT"},
            {"reason", "Domestic abuse incident"}, {"significant_harm", true},
            {"consent_position", "NOT_SOUGHT_WOULD_INCREASE_RISK"}, {"disclosure", "isd-1"}, {"status", "DRAFT"}});
  CHECK_FALSE(f.item_of("su-1", "package"));  // a draft is not sent
  f.authority({server::AuthorityEdit::set("su-1", "submitted_at", std::string("2026-01-07T12:00:00.000Z")),
               server::AuthorityEdit::transition("su-1", "SUBMITTED")});
  auto package = f.item_of("su-1", "package");
  REQUIRE(package);
  CHECK(package->priority == 0);
  json p = json::parse(package->payload)["package"];
  CHECK(p["step_up"]["fields"]["status"] == "SUBMITTED");
  CHECK(p["assessments"].size() == 1);
  CHECK(p["plans"].size() == 1);
  REQUIRE(p["chronology"].size() == 1);
  CHECK(p["chronology"][0]["id"] == "c-4");
  CHECK(p["consent_position"] == "NOT_SOUGHT_WOULD_INCREASE_RISK");
  CHECK(p["consent"].size() == 1);
  CHECK(p["star_readings"].size() == 1);
  REQUIRE(p["information_sharing_decisions"].size() == 1);
  CHECK(p["information_sharing_decisions"][0]["id"] == "isd-1");
  CHECK(f.audits("office-package-queued") == 1);
  // Once only, whatever happens to the request next.
  f.authority({server::AuthorityEdit::transition("su-1", "ACKNOWLEDGED")});
  size_t packages = 0;
  for (const auto& i : f.items()) packages += i.kind == "package";
  CHECK(packages == 1);
  // A later contact goes as a supplementary update.
  f.create("Contact", "c-5", contact_fields("2026-01-07T10:10:00Z", "Stay and play session"));
  CHECK(json::parse(f.item_of("c-5")->payload)["supplementary_to"] == "su-1");
  // The pull feed lists the package first until it is acknowledged; the repeater sends it first.
  json page = f.feed(0, 1);
  REQUIRE(page["priority"].size() == 1);
  CHECK(page["priority"][0]["kind"] == "package");
  auto next = must(h.store->outbox().next_due(static_cast<int64_t>(h.clock.now())));
  REQUIRE(next);
  CHECK(next->kind == "package");
  f.ack(json::array({{{"key", package->key}, {"office_ref", "CSC-REF-9"}}}));
  CHECK(f.feed(0, 1)["priority"].empty());
}

TEST_CASE("Office repeater: an endpoint that fails backs off, dead-letters, and is retried to delivery once",
          "[unit][fault]") {
  ServiceHarness h;
  OfficeFamily f(h);
  // Keep one item only, to follow it.
  for (const auto& i : f.items())
    if (i.record != "ref-1") must(h.store->outbox().mark_sent(i.seq, 1));
  server::RepeaterConfig config;
  config.url = "https://office.invalid/hearth";
  config.name = "ehm";
  config.token = "secret";
  config.max_attempts = 3;
  config.base_delay_ms = 1000;
  config.max_delay_ms = 3000;
  int fail = 100;
  std::vector<server::HttpPostRequest> posts;
  server::OfficePoster post = [&](const server::HttpPostRequest& r) -> Result<server::HttpPostReply> {
    posts.push_back(r);
    if (fail-- > 0) return server::HttpPostReply{503, "busy"};
    return server::HttpPostReply{200, R"({"office_ref": "EHM-R-1"})"};
  };
  CHECK(server::retry_delay_ms(config, 1) == 1000);
  CHECK(server::retry_delay_ms(config, 2) == 2000);
  CHECK(server::retry_delay_ms(config, 5) == 3000);

  auto d = must(server::deliver_once(h.service, config, post));
  CHECK(d.outcome == server::Delivery::Outcome::failed);
  REQUIRE(posts.size() == 1);
  bool keyed = false, bearer = false;
  for (const auto& [k, v] : posts[0].headers) {
    keyed |= k == "Idempotency-Key" && v == d.key;
    bearer |= k == "Authorization" && v == "Bearer secret";
  }
  CHECK(keyed);
  CHECK(bearer);
  CHECK(json::parse(posts[0].body)["key"] == d.key);
  // Not due again before its backoff.
  CHECK(must(server::deliver_once(h.service, config, post)).outcome == server::Delivery::Outcome::idle);
  h.clock.advance(1000);
  CHECK(must(server::deliver_once(h.service, config, post)).outcome == server::Delivery::Outcome::failed);
  h.clock.advance(2000);
  CHECK(must(server::deliver_once(h.service, config, post)).outcome == server::Delivery::Outcome::dead);
  h.clock.advance(100000);
  CHECK(must(server::deliver_once(h.service, config, post)).outcome == server::Delivery::Outcome::idle);
  CHECK(must(h.store->outbox().counts()).dead == 1);
  CHECK(f.audits("office-dead-letter") == 1);

  // The office recovers; the item is requeued and delivered once.
  fail = 0;
  CHECK(must(h.store->outbox().requeue(std::nullopt)) == 1);
  auto sent = must(server::deliver_once(h.service, config, post));
  CHECK(sent.outcome == server::Delivery::Outcome::sent);
  CHECK(must(server::deliver_once(h.service, config, post)).outcome == server::Delivery::Outcome::idle);
  CHECK(posts.size() == 4);
  auto ref = must(h.store->outbox().office_ref("ref-1"));
  REQUIRE(ref);
  CHECK(ref->office_ref == "EHM-R-1");
  auto log = must(h.store->outbox().disclosures("fam-o"));
  REQUIRE(log.size() == 1);
  CHECK(log[0].recipient == "ehm");
  CHECK(log[0].channel == "push");
}

TEST_CASE("Office repeater: an item a withdrawal forbids by send time is cancelled, not sent", "[unit][security]") {
  ServiceHarness h;
  OfficeFamily f(h);
  f.create("ConsentRecord", "consent-1", register_consent());
  auto mother = *f.item_of("mother-1");
  for (const auto& i : f.items())
    if (i.seq != mother.seq) must(h.store->outbox().mark_sent(i.seq, 1));
  // The withdrawal reaches the record without the same-transaction check (as if the item had
  // been queued by an older server): the repeater's check at send time catches it.
  f.authority({server::AuthorityEdit::add("consent-1", "withdrawn_purposes", "REGISTER_ON_INDEX")});
  must(h.store->outbox().requeue(std::nullopt));
  server::RepeaterConfig config;
  config.url = "https://office.invalid/";
  int posts = 0;
  auto d = must(server::deliver_once(h.service, config, [&](const server::HttpPostRequest&) -> Result<server::HttpPostReply> {
    ++posts;
    return server::HttpPostReply{200, "{}"};
  }));
  CHECK(d.outcome == server::Delivery::Outcome::idle);  // cancelled in the same transaction already
  CHECK(posts == 0);
  CHECK(must(h.store->outbox().get(mother.seq))->state == "cancelled");
}

TEST_CASE("Office outbox: the council's code mappings ride on each item, and erasure deletes every office row",
          "[unit]") {
  ServiceHarness h;
  CHECK_FALSE(server::check_code_mapping("Referral.reason_text", "x"));
  CHECK_FALSE(server::check_code_mapping("Referral.referral_source_code", "99"));
  REQUIRE(server::check_code_mapping("Referral.referral_source_code", "1A"));
  must(h.store->outbox().set_code({"Referral.referral_source_code", "1A", "RS-1A", 1, "admin"}));
  must(h.store->outbox().set_code({"Referral.presenting_needs", "PARENTING_SUPPORT", "PAR", 1, "admin"}));
  OfficeFamily f(h);
  json j = json::parse(f.item_of("ref-1")->payload);
  CHECK(j["codes"]["referral_source_code"] == "RS-1A");
  CHECK(j["codes"]["presenting_needs"] == json::array({"PAR"}));
  CHECK(j["fields"]["referral_source_code"] == "1A");  // Hearth's value stays beside it

  f.feed(0, 100);
  f.ack(json::array({{{"key", f.item_of("child-1")->key}, {"office_ref", "EHM-1"}}}));
  REQUIRE_FALSE(f.items().empty());
  must(h.store->transaction([&]() -> Result<void> {
    auto r = h.store->delete_family("fam-o");
    if (!r) return r.error();
    return {};
  }));
  CHECK(f.items().empty());
  CHECK(must(h.store->outbox().disclosures("fam-o")).empty());
  CHECK_FALSE(must(h.store->outbox().office_ref("child-1")));
}

TEST_CASE("Office outbox: a backfill queues what was recorded before the office was connected, once", "[unit]") {
  ServiceHarness h;
  OfficeFamily f(h);
  const size_t before = f.items().size();
  // As if the database predated the outbox: the items are gone, the records stay.
  db_exec(h.db.location(), "DELETE FROM office_outbox");
  REQUIRE(f.items().empty());
  size_t added = must(h.service.with_context([](server::ServiceContext& ctx) { return server::backfill_office(ctx, ""); }));
  CHECK(added == before);
  CHECK(f.items().size() == before);
  CHECK(json::parse(f.item_of("ref-1")->payload)["fields"]["referral_source_code"] == "1A");
  // Again: nothing new.
  CHECK(must(h.service.with_context([](server::ServiceContext& ctx) { return server::backfill_office(ctx, "fam-o"); })) == 0);
}

TEST_CASE("Office outbox: items and office ids are sealed at rest", "[unit][security]") {
  TempDir keydir;
  auto ring = must(server::SqlKeyring::open(keydir.file("keyring.db"),
                                               must(server::keys::FileKek::from_secret(std::string(32, 'k'), "test KEK"))));
  ServiceHarness h(std::shared_ptr<server::ServerKeys>(std::move(ring)));
  OfficeFamily f(h);
  f.create("Contact", "c-x", contact_fields("2026-01-07T09:45:00Z", "marker-Zephyrine visited"));
  f.ack(json::array({{{"key", f.item_of("c-x")->key}, {"office_ref", "marker-EHMREF"}}}));
  const std::string db = h.db.location();
  CHECK(db_count(db, "SELECT count(*) FROM office_outbox") >= 6);
  CHECK(db_count(db, "SELECT count(*) FROM office_outbox WHERE " + holds_text(db, "payload", "Zephyrine")) == 0);
  CHECK(db_count(db, "SELECT count(*) FROM office_refs WHERE " + holds_text(db, "office_ref", "EHMREF")) == 0);
  // Readable through the store, and a payload moved onto another item does not open.
  CHECK_THAT(f.item_of("c-x")->payload, Catch::Matchers::Contains("Zephyrine"));
  CHECK(must(h.store->outbox().office_ref("c-x"))->office_ref == "marker-EHMREF");
  const std::string key = f.item_of("c-x")->key;
  db_exec(db, "UPDATE office_outbox SET payload = (SELECT payload FROM office_outbox WHERE record = 'c-x') "
              "WHERE record = 'ref-1'");
  CHECK(h.store->outbox().by_key(key));  // the untouched row still opens
  auto tampered = h.store->outbox().list("", "fam-o", 100);
  REQUIRE_FALSE(tampered);
  CHECK(tampered.error().code == ErrorCode::corrupt);
}

TEST_CASE("Office repeater: its thread sends packages first, delivers everything and stops cleanly", "[unit]") {
  ServiceHarness h;
  OfficeFamily f(h);
  f.create("StepUpRequest", "su-1",
           {{"episode", "ep-1"}, {"children", StringList{"child-1"}}, {"kind", "PLANNED"}, {"reason", "Escalating"},
            {"significant_harm", false}, {"consent_position", "CONSENT_GIVEN"}, {"status", "DRAFT"}});
  f.authority({server::AuthorityEdit::set("su-1", "submitted_at", std::string("2026-01-07T12:00:00.000Z")),
               server::AuthorityEdit::transition("su-1", "SUBMITTED")});
  const size_t total = f.items().size();
  std::mutex m;
  std::vector<std::string> kinds;
  server::RepeaterConfig config;
  config.url = "https://office.invalid/";
  config.idle_ms = 20;
  server::Repeater repeater(
      h.service, config,
      [&](const server::HttpPostRequest& r) -> Result<server::HttpPostReply> {
        std::lock_guard<std::mutex> lock(m);
        kinds.push_back(json::parse(r.body)["kind"].get<std::string>());
        return server::HttpPostReply{200, "{}"};
      },
      nullptr);
  repeater.start();
  for (int i = 0; i < 200; ++i) {  // bounded: 10 s
    {
      std::lock_guard<std::mutex> lock(m);
      if (kinds.size() >= total) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  repeater.stop();
  repeater.stop();  // idempotent
  std::lock_guard<std::mutex> lock(m);
  REQUIRE(kinds.size() == total);
  CHECK(kinds.front() == "package");
  CHECK(must(h.store->outbox().counts()).sent == static_cast<int64_t>(total));
}
