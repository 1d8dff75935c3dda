#include <catch2/catch.hpp>

#include <string>

#include "hearth/sync/protocol.hpp"

using namespace hearth;
using namespace hearth::sync::protocol;

namespace {

std::string all_bytes() {
  std::string s;
  for (int i = 0; i < 256; ++i) s.push_back(static_cast<char>(i));
  return s;
}

template <typename T>
void require_error(const Result<T>& r, ErrorCode code, const std::string& mentions) {
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == code);
  CHECK_THAT(r.error().message, Catch::Contains(mentions));
}

template <typename T>
T must_decode(Result<T> r) {
  REQUIRE(r.ok());
  return std::move(r.value());
}

}  // namespace

TEST_CASE("Protocol: every message round-trips through the codec", "[unit][protocol]") {
  SECTION("enrol") {
    EnrolRequest q{"a1b2c3d4e5", "dev-a", "hv-1"};
    auto back = decode_enrol_request(encode(q));
    REQUIRE(back);
    CHECK(back->code == q.code);
    CHECK(back->practitioner_id == "hv-1");
    CHECK(back->device_id == q.device_id);

    EnrolReply a;
    a.device_token = std::string(64, 'f');
    a.practitioner_id = "hv-1";
    a.server_time_ms = 1767225600123;
    a.history.epoch = "3f2a-77";
    a.max_push_bytes = 4u << 20;
    a.max_op_bytes = 512u << 10;
    auto ab = decode_enrol_reply(encode(a));
    REQUIRE(ab);
    CHECK(ab->device_token == a.device_token);
    CHECK(ab->practitioner_id == "hv-1");
    CHECK(ab->protocol == kVersion);
    CHECK(ab->server_time_ms == a.server_time_ms);
    CHECK(ab->history.epoch == "3f2a-77");
    CHECK(ab->max_push_bytes == a.max_push_bytes);
    CHECK(ab->max_op_bytes == a.max_op_bytes);
  }
  SECTION("push") {
    PushRequest q;
    q.device_time_ms = 1767225600000;
    q.ops = {all_bytes(), "x", "xy", "xyz", std::string(1000, '\0')};
    q.history_epoch = "e1";
    q.delivered_counter = UINT64_MAX;
    q.quarantined = {{"dev-a:7", "fam-1", "no access to family fam-1"}};
    auto back = decode_push_request(encode(q));
    REQUIRE(back);
    CHECK(back->device_time_ms == q.device_time_ms);
    CHECK(back->ops == q.ops);
    CHECK(back->history_epoch == "e1");
    CHECK(back->delivered_counter == UINT64_MAX);
    REQUIRE(back->quarantined.size() == 1);
    CHECK(back->quarantined[0].op_id == "dev-a:7");
    CHECK(back->quarantined[0].family == "fam-1");
    CHECK(back->quarantined[0].reason == "no access to family fam-1");

    PushReply a;
    a.results = {{"dev-a:1", OpStatus::accepted, "flagged for the lead professional", std::nullopt},
                 {"dev-a:2", OpStatus::duplicate, "", std::nullopt},
                 {"", OpStatus::rejected, "not an op", WireError::bad_request},
                 {"dev-a:18446744073709551615", OpStatus::rejected, "over 512 KiB", WireError::too_large}};
    a.server_time_ms = 5;
    a.clock_offset_ms = -360000;
    a.history.epoch = "e2";
    a.max_push_bytes = 2048;
    a.max_op_bytes = 1024;
    a.quarantine_acknowledged = {"dev-a:7"};
    auto ab = decode_push_reply(encode(a));
    REQUIRE(ab);
    REQUIRE(ab->results.size() == 4);
    CHECK(ab->results[0].status == OpStatus::accepted);
    CHECK(ab->results[0].reason == "flagged for the lead professional");
    CHECK_FALSE(ab->results[0].code);
    CHECK(ab->results[1].status == OpStatus::duplicate);
    CHECK(ab->results[2].op_id.empty());
    CHECK(ab->results[2].code == WireError::bad_request);
    CHECK(ab->results[3].op_id == "dev-a:18446744073709551615");
    CHECK(ab->results[3].code == WireError::too_large);
    CHECK(ab->clock_offset_ms == -360000);
    CHECK(ab->history.epoch == "e2");
    CHECK(ab->max_push_bytes == 2048);
    CHECK(ab->max_op_bytes == 1024);
    CHECK(ab->quarantine_acknowledged == std::vector<std::string>{"dev-a:7"});
  }
  SECTION("pull") {
    PullRequest q;
    q.feed_version = 12;
    q.cursors = {{"fam-1", 0}, {"fam-ü", INT64_MAX}};
    q.max_bytes = 65536;
    q.history_epoch = "e3";
    q.delivered_counter = 17;
    q.highest_cursor = 4242;
    auto back = decode_pull_request(encode(q));
    REQUIRE(back);
    CHECK_FALSE(back->probe);
    CHECK(back->feed_version == 12);
    CHECK(back->cursors == q.cursors);
    CHECK(back->max_bytes == 65536);
    CHECK(back->history_epoch == "e3");
    CHECK(back->delivered_counter == 17);
    CHECK(back->highest_cursor == 4242);

    PullRequest probe;
    probe.probe = true;
    probe.feed_version = 3;
    auto pb = decode_pull_request(encode(probe));
    REQUIRE(pb);
    CHECK(pb->probe);
    CHECK(pb->feed_version == 3);
    CHECK(pb->cursors.empty());

    PullReply a;
    a.families = {{"fam-1", {all_bytes(), "a"}, 42}, {"fam-2", {}, 0}};
    a.purge = {"fam-9"};
    a.more = true;
    a.changed = true;
    a.history.epoch = "e4";
    auto ab = decode_pull_reply(encode(a));
    REQUIRE(ab);
    REQUIRE(ab->families.size() == 2);
    CHECK(ab->families[0].family == "fam-1");
    CHECK(ab->families[0].ops == a.families[0].ops);
    CHECK(ab->families[0].cursor == 42);
    CHECK(ab->purge == a.purge);
    CHECK(ab->more);
    CHECK_FALSE(ab->feed_version);
    CHECK(ab->history.epoch == "e4");
    a.more = false;
    a.changed = false;
    a.feed_version = 99;
    auto last = decode_pull_reply(encode(a));
    REQUIRE(last);
    CHECK_FALSE(last->more);
    CHECK_FALSE(last->changed);
    CHECK(last->feed_version == 99);
  }
  SECTION("health and errors") {
    HealthReply h;
    h.history.epoch = "e5";
    auto hb = decode_health_reply(encode(h));
    REQUIRE(hb);
    CHECK(hb->status == "ok");
    CHECK(hb->protocol == kVersion);
    CHECK(hb->history.epoch == "e5");

    for (auto code : {WireError::bad_request, WireError::version, WireError::unauthorised, WireError::expired,
                      WireError::bad_code, WireError::revoked, WireError::forbidden, WireError::not_found,
                      WireError::method, WireError::conflict, WireError::too_large, WireError::clock, WireError::server,
                      WireError::unavailable}) {
      auto e = decode_error_reply(encode(ErrorReply{code, "why \"quoted\"\n"}));
      REQUIRE(e);
      CHECK(e->code == code);
      CHECK(e->message == "why \"quoted\"\n");
      CHECK(wire_error_from_string(to_string(code)) == code);
      CHECK(http_status(code) >= 400);
    }
  }
}

TEST_CASE("Protocol: wire codes map to error values and HTTP statuses", "[unit][protocol]") {
  CHECK(http_status(WireError::too_large) == 413);
  CHECK(http_status(WireError::revoked) == 403);
  CHECK(http_status(WireError::expired) == 401);
  CHECK(to_error_code(WireError::revoked) == ErrorCode::revoked);
  CHECK(to_error_code(WireError::expired) == ErrorCode::expired);
  CHECK(to_error_code(WireError::bad_code) == ErrorCode::expired);
  CHECK(to_error_code(WireError::unauthorised) == ErrorCode::not_enrolled);
  CHECK(to_error_code(WireError::too_large) == ErrorCode::too_large);
  CHECK(to_error_code(WireError::server) == ErrorCode::network);
  CHECK(wire_error_for(ErrorCode::too_large) == WireError::too_large);
  CHECK(wire_error_for(ErrorCode::storage) == WireError::server);
  CHECK_FALSE(wire_error_from_string("teapot"));
  // an error answer with an unknown code (a newer server) still decodes; the status decides
  auto e = decode_error_reply(R"({"error":"x","code":"teapot"})");
  REQUIRE(e);
  CHECK(e->code == WireError::server);
}

TEST_CASE("Protocol: malformed bodies are refused naming the field, never thrown", "[unit][protocol][security]") {
  SECTION("not a JSON object") {
    for (std::string body : {"", "nul", "[]", "\"x\"", "42", "{", "{\"code\":\"x\",}", "{} {}", "{\"a\":1}garbage",
                             "{\"code\": 'x'}", "{\"code\":\"\xff\xfe\"}", "{\"code\":\"\\ud800\"}", "{/*c*/}"}) {
      auto r = decode_enrol_request(body);
      REQUIRE_FALSE(r.ok());
      CHECK(r.error().code == ErrorCode::invalid_argument);
    }
  }
  SECTION("enrolment fields") {
    require_error(decode_enrol_request(R"({"device_id":"dev-a"})"), ErrorCode::invalid_argument, "\"code\" is missing");
    require_error(decode_enrol_request(R"({"code":7,"device_id":"dev-a"})"), ErrorCode::invalid_argument,
                  "\"code\" must be a string");
    require_error(decode_enrol_request(R"({"code":"abc","device_id":""})"), ErrorCode::invalid_argument, "device_id");
    require_error(decode_enrol_request(R"({"code":"abc","device_id":"dev a"})"), ErrorCode::invalid_argument,
                  "device_id");
    require_error(decode_enrol_request("{\"code\":\"abc\",\"device_id\":\"" + std::string(65, 'a') + "\"}"),
                  ErrorCode::invalid_argument, "device_id");
    require_error(decode_enrol_request(R"({"code":"a\u0000b","device_id":"d"})"), ErrorCode::invalid_argument, "code");
    require_error(decode_enrol_request(R"({"code":"a","code":"b","device_id":"d"})"), ErrorCode::invalid_argument,
                  "appears twice");
    CHECK(decode_enrol_request(R"({"code":"abc","device_id":"d","later":{"field":[1]}})"));  // unknown fields: ignored
  }
  SECTION("push fields") {
    require_error(decode_push_request(R"({"device_time":1})"), ErrorCode::invalid_argument, "\"ops\" is missing");
    require_error(decode_push_request(R"({"ops":"AAAA"})"), ErrorCode::invalid_argument, "must be an array");
    require_error(decode_push_request(R"({"ops":[1]})"), ErrorCode::invalid_argument, "ops[0]");
    require_error(decode_push_request(R"({"ops":["AAAA","A==="]})"), ErrorCode::invalid_argument, "ops[1]");
    require_error(decode_push_request(R"({"ops":["AB=="]})"), ErrorCode::invalid_argument, "canonical");  // unused bits
    require_error(decode_push_request(R"({"ops":["AA AA"]})"), ErrorCode::invalid_argument, "ops[0]");
    require_error(decode_push_request(R"({"ops":[""]})"), ErrorCode::invalid_argument, "ops[0]");
    require_error(decode_push_request(R"({"ops":[],"device_time":-1})"), ErrorCode::invalid_argument, "device_time");
    require_error(decode_push_request(R"({"ops":[],"device_time":1.5})"), ErrorCode::invalid_argument, "device_time");
    require_error(decode_push_request(R"({"ops":[],"device_time":"1"})"), ErrorCode::invalid_argument, "device_time");
    require_error(decode_push_request(R"({"ops":[],"device_time":99999999999999999})"), ErrorCode::invalid_argument,
                  "device_time");
    require_error(decode_push_request(R"({"ops":[],"delivered_counter":18446744073709551616})"),
                  ErrorCode::invalid_argument, "");
    require_error(decode_push_request(R"({"ops":[],"history_epoch":"a b"})"), ErrorCode::invalid_argument,
                  "history_epoch");
    require_error(decode_push_request(R"({"ops":[],"quarantined":[{"op":"nocolon","family":"f"}]})"),
                  ErrorCode::invalid_argument, "quarantined[0].op");
    require_error(decode_push_request(R"({"ops":[],"quarantined":[{"op":"d:99999999999999999999","family":"f"}]})"),
                  ErrorCode::invalid_argument, "quarantined[0].op");
    require_error(decode_push_request(R"({"ops":[],"quarantined":[["d:1"]]})"), ErrorCode::invalid_argument,
                  "must be an object");
    CHECK(decode_push_request(R"({"ops":[]})"));
  }
  SECTION("pull fields") {
    require_error(decode_pull_request(R"({"cursors":[]})"), ErrorCode::invalid_argument, "\"cursors\" must be an object");
    require_error(decode_pull_request(R"({"cursors":{"fam-1":-1}})"), ErrorCode::invalid_argument, "cursors.fam-1");
    require_error(decode_pull_request(R"({"cursors":{"fam-1":"3"}})"), ErrorCode::invalid_argument, "cursors.fam-1");
    require_error(decode_pull_request(R"({"cursors":{"":3}})"), ErrorCode::invalid_argument, "cursors key");
    require_error(decode_pull_request(R"({"cursors":{"a\u0001":3}})"), ErrorCode::invalid_argument, "cursors key");
    require_error(decode_pull_request(R"({"cursors":{"f":9223372036854775808}})"), ErrorCode::invalid_argument, "range");
    require_error(decode_pull_request(R"({"probe":"yes"})"), ErrorCode::invalid_argument, "probe");
    require_error(decode_pull_request(R"({"feed_version":null})"), ErrorCode::invalid_argument, "feed_version");
    require_error(decode_pull_request(R"({"highest_cursor":-4})"), ErrorCode::invalid_argument, "highest_cursor");
    CHECK(decode_pull_request("{}"));
  }
  SECTION("answers") {
    require_error(decode_push_reply(R"({"results":[{"op":"d:1","status":"maybe"}]})"), ErrorCode::invalid_argument,
                  "results[0].status");
    require_error(decode_push_reply(R"({"results":[{"status":"accepted"}]})"), ErrorCode::invalid_argument,
                  "\"op\" is missing");
    require_error(decode_push_reply(R"({"results":[],"max_push_bytes":10})"), ErrorCode::invalid_argument,
                  "max_push_bytes");
    require_error(decode_push_reply(R"({"results":[],"max_push_bytes":4096,"max_op_bytes":8192})"),
                  ErrorCode::invalid_argument, "max_op_bytes");
    require_error(decode_push_reply(R"({"results":[],"history":"e1"})"), ErrorCode::invalid_argument, "history");
    require_error(decode_pull_reply(R"({"families":[{"family":"f","ops":["!!!!"],"cursor":1}]})"),
                  ErrorCode::invalid_argument, "ops[0]");
    require_error(decode_pull_reply(R"({"families":[{"family":"f","ops":[]}]})"), ErrorCode::invalid_argument,
                  "\"cursor\" is missing");
    require_error(decode_pull_reply(R"({"families":[],"purge":[3]})"), ErrorCode::invalid_argument, "purge[0]");
    require_error(decode_enrol_reply(R"({"device_token":"short","practitioner_id":"hv-1","protocol":1})"),
                  ErrorCode::invalid_argument, "device_token");
    require_error(decode_health_reply(R"({"status":"ok"})"), ErrorCode::invalid_argument, "protocol");
    require_error(decode_error_reply(R"({"code":"revoked"})"), ErrorCode::invalid_argument, "\"error\" is missing");
  }
}

TEST_CASE("Protocol: depth, element and size limits are enforced while parsing", "[unit][protocol][security]") {
  Limits small;
  small.json_depth = 4;
  small.json_elements = 50;
  small.enrol_bytes = 200;
  small.push_bytes = 300;

  SECTION("depth") {
    std::string deep = R"({"code":"a","device_id":"d","x":)" + std::string(3, '[') + std::string(3, ']') + "}";
    CHECK(decode_enrol_request(deep, small));  // 4 levels: the object and three arrays
    deep = R"({"code":"a","device_id":"d","x":)" + std::string(4, '[') + std::string(4, ']') + "}";
    require_error(decode_enrol_request(deep, small), ErrorCode::too_large, "nested deeper than 4");
    // a body far deeper than any stack would take is refused without recursion
    std::string abyss = std::string(1000000, '[');
    Limits big;
    big.enrol_bytes = abyss.size();
    require_error(decode_enrol_request(abyss, big), ErrorCode::too_large, "nested deeper");
  }
  SECTION("elements") {
    std::string many = R"({"ops":[)";
    for (int i = 0; i < 60; ++i) many += (i ? ",1" : "1");
    many += "]}";
    require_error(decode_push_request(many, small), ErrorCode::too_large, "more than 50 JSON values");
    // the default limits refuse a body of a million tiny values before building it
    std::string huge = "{\"ops\":[" + std::string(1999999, '0') + "]}";
    for (size_t i = 9; i < huge.size() - 2; i += 2) huge[i] = ',';
    require_error(decode_push_request(huge, Limits{}), ErrorCode::too_large, "JSON values");
  }
  SECTION("body size") {
    std::string body = R"({"code":")" + std::string(250, 'a') + R"(","device_id":"d"})";
    require_error(decode_enrol_request(body, small), ErrorCode::too_large, "over the limit of 200");
    PushRequest q;
    q.ops = {std::string(300, 'x')};
    require_error(decode_push_request(encode(q), small), ErrorCode::too_large, "over the limit of 300");
  }
  SECTION("cursor count") {
    Limits few;
    few.cursors = 2;
    require_error(decode_pull_request(R"({"cursors":{"a":1,"b":2,"c":3}})", few), ErrorCode::too_large,
                  "more than 2 families");
  }
  SECTION("push entry size matches the encoding") {
    for (size_t n : {size_t{1}, size_t{2}, size_t{3}, size_t{100}, size_t{30000}}) {
      PushRequest one;
      one.ops = {std::string(n, 'q')};
      PushRequest two = one;
      two.ops.push_back(std::string(n, 'q'));
      CHECK(encode(two).size() - encode(one).size() == push_entry_bytes(n));
      PushRequest none;
      CHECK(encode(one).size() <= encode(none).size() + push_entry_bytes(n));
    }
  }
}

TEST_CASE("Protocol: views, withheld fields, the policy snapshot and held ops round-trip", "[unit][protocol]") {
  PullRequest q;
  q.cursors = {{"fam-1", 7}, {"fam-2", 0}};
  q.views = {{"fam-1", "v1-3f2a9c"}, {"fam-2", std::string(kMaxViewBytes, 'z')}};
  auto back = decode_pull_request(encode(q));
  REQUIRE(back);
  CHECK(back->views == q.views);
  CHECK(back->cursors == q.cursors);
  PullRequest probe;
  probe.probe = true;
  probe.views = q.views;  // a probe carries only the feed version
  CHECK(must_decode(decode_pull_request(encode(probe))).views.empty());

  PullReply a;
  FamilyPage page;
  page.family = "fam-1";
  page.ops = {"op"};
  page.cursor = 9;
  page.view = "v2-77";
  page.withheld = {"fam-1/address/a1#lines", "fam-1/alert/x", std::string(128, 'r') + "#" + std::string(64, 'f')};
  a.families = {page, {"fam-2", {}, 3, "", {}}};
  a.purge = {"fam-1"};
  PolicySnapshot p;
  p.issued_at_ms = 1767225600123;
  p.practitioner = "yw-1";
  p.organisation = "org-ys";
  p.system_roles = {"PRACTITIONER", "TEAM_MANAGER"};
  p.sharing_block_after_ms = 3600000;
  p.lock_after_ms = 7200000;
  p.purge_after_ms = 7200000;
  a.policy = p;
  std::string body = encode(a);
  CHECK_THAT(body, Catch::Contains("\"issued_at_ms\"") && Catch::Contains("\"sharing_block_after_ms\"") &&
                       Catch::Contains("\"withheld\"") && Catch::Contains("\"view\""));
  auto ab = decode_pull_reply(body);
  REQUIRE(ab);
  REQUIRE(ab->families.size() == 2);
  CHECK(ab->families[0].view == "v2-77");
  CHECK(ab->families[0].withheld == page.withheld);
  CHECK(ab->families[1].view.empty());
  CHECK(ab->families[1].withheld.empty());
  CHECK(ab->purge == a.purge);
  REQUIRE(ab->policy);
  CHECK(ab->policy->issued_at_ms == p.issued_at_ms);
  CHECK(ab->policy->practitioner == "yw-1");
  CHECK(ab->policy->organisation == "org-ys");
  CHECK(ab->policy->system_roles == p.system_roles);
  CHECK(ab->policy->sharing_block_after_ms == 3600000);
  CHECK(ab->policy->lock_after_ms == 7200000);
  CHECK(ab->policy->purge_after_ms == 7200000);

  SECTION("an older answer without them still decodes, and a policy without periods takes the defaults") {
    auto old = decode_pull_reply(R"({"families":[{"family":"f","ops":[],"cursor":1}],"purge":[],"more":false})");
    REQUIRE(old);
    CHECK_FALSE(old->policy);
    CHECK(old->families[0].view.empty());
    auto bare = decode_pull_reply(R"({"families":[],"policy":{"issued_at_ms":5,"practitioner":"hv-1"}})");
    REQUIRE(bare);
    REQUIRE(bare->policy);
    CHECK(bare->policy->sharing_block_after_ms == 24ull * 3600 * 1000);
    CHECK(bare->policy->lock_after_ms == 7ull * 24 * 3600 * 1000);
    CHECK(bare->policy->purge_after_ms == 14ull * 24 * 3600 * 1000);
    CHECK(bare->policy->system_roles.empty());
  }
  SECTION("held results name who decides") {
    PushReply r;
    r.results = {{"dev-a:3", OpStatus::held, "only the lead professional closes an episode", std::nullopt, "hv-1"},
                 {"dev-a:4", OpStatus::held, "beyond your rights", std::nullopt, ""}};
    auto rb = decode_push_reply(encode(r));
    REQUIRE(rb);
    CHECK(rb->results[0].status == OpStatus::held);
    CHECK(rb->results[0].route_to == "hv-1");
    CHECK(rb->results[0].reason == "only the lead professional closes an episode");
    CHECK(rb->results[1].route_to.empty());
    CHECK(std::string(to_string(OpStatus::held)) == "held");
  }
  SECTION("the device asks about its held ops; the answer gives the decisions, checked") {
    PushRequest ask;
    ask.held_waiting = {"dev-a:3", "dev-a:4"};
    auto qb = decode_push_request(encode(ask));
    REQUIRE(qb);
    CHECK(qb->held_waiting == ask.held_waiting);
    CHECK(decode_push_request(encode(PushRequest{}))->held_waiting.empty());
    PushReply r;
    r.held_decided = {{"dev-a:3", "applied", "hv-1", "", 5}, {"dev-a:4", "dismissed", "hv-1", "stays L2", 6}};
    auto rb = decode_push_reply(encode(r));
    REQUIRE(rb);
    REQUIRE(rb->held_decided.size() == 2);
    CHECK(rb->held_decided[0].op_id == "dev-a:3");
    CHECK(rb->held_decided[0].outcome == "applied");
    CHECK(rb->held_decided[1].note == "stays L2");
    CHECK(rb->held_decided[1].at_ms == 6);
    auto odd = decode_push_reply(R"({"results":[],"held_decided":[{"op":"dev-a:3","outcome":"maybe","by":"hv-1"}]})");
    REQUIRE_FALSE(odd);
    CHECK_THAT(odd.error().message, Catch::Contains("held_decided[0].outcome"));
    CHECK_FALSE(decode_push_request(R"({"ops":[],"held_waiting":["no-colon"]})"));
  }
  SECTION("an office answer names the ops written") {
    std::string office = encode(OfficeReply{{"hearth-server:4"}, "done"});
    CHECK_THAT(office, Catch::Contains("\"hearth-server:4\"") && Catch::Contains("\"done\""));
  }
}

TEST_CASE("Protocol: views, withheld lists and policies are bounded and typed", "[unit][protocol][security]") {
  SECTION("views in a pull") {
    require_error(decode_pull_request(R"({"views":[]})"), ErrorCode::invalid_argument, "\"views\" must be an object");
    require_error(decode_pull_request(R"({"views":{"f":3}})"), ErrorCode::invalid_argument, "views.f");
    require_error(decode_pull_request(R"({"views":{"f":""}})"), ErrorCode::invalid_argument, "views.f");
    require_error(decode_pull_request(R"({"views":{"f":"a b"}})"), ErrorCode::invalid_argument, "views.f");
    require_error(decode_pull_request("{\"views\":{\"f\":\"" + std::string(kMaxViewBytes + 1, 'a') + "\"}}"),
                  ErrorCode::invalid_argument, "views.f");
    require_error(decode_pull_request(R"({"views":{"":"v"}})"), ErrorCode::invalid_argument, "views key");
    Limits small;
    small.cursors = 2;
    require_error(decode_pull_request(R"({"views":{"a":"v","b":"v","c":"v"}})", small), ErrorCode::too_large, "views");
    CHECK(decode_pull_request(R"({"views":{"a":"v","b":"v"}})", small));
  }
  SECTION("view and withheld in a page") {
    const std::string head = R"({"families":[{"family":"f","ops":[],"cursor":1,)";
    require_error(decode_pull_reply(head + R"("view":7}]})"), ErrorCode::invalid_argument, "families[0].view");
    require_error(decode_pull_reply(head + "\"view\":\"" + std::string(kMaxViewBytes + 1, 'a') + "\"}]}"),
                  ErrorCode::invalid_argument, "families[0].view");
    require_error(decode_pull_reply(head + R"("withheld":"r1"}]})"), ErrorCode::invalid_argument, "must be an array");
    require_error(decode_pull_reply(head + R"("withheld":[""]}]})"), ErrorCode::invalid_argument, "withheld[0]");
    require_error(decode_pull_reply(head + R"("withheld":["r1","a\nb"]}]})"), ErrorCode::invalid_argument,
                  "withheld[1]");
    require_error(decode_pull_reply(head + "\"withheld\":[\"" + std::string(194, 'r') + "\"]}]}"),
                  ErrorCode::invalid_argument, "withheld[0]");
    Limits small;
    small.withheld = 2;
    require_error(decode_pull_reply(head + R"("withheld":["a","b","c"]}]})", small), ErrorCode::too_large, "withheld");
    CHECK(decode_pull_reply(head + R"("withheld":["a","b"]}]})", small));
  }
  SECTION("the policy") {
    auto with = [](const std::string& policy) { return R"({"families":[],"policy":)" + policy + "}"; };
    require_error(decode_pull_reply(with("[]")), ErrorCode::invalid_argument, "\"policy\" must be an object");
    require_error(decode_pull_reply(with(R"({"practitioner":"p"})")), ErrorCode::invalid_argument,
                  "\"issued_at_ms\" is missing");
    require_error(decode_pull_reply(with(R"({"issued_at_ms":1})")), ErrorCode::invalid_argument,
                  "\"practitioner\" is missing");
    require_error(decode_pull_reply(with(R"({"issued_at_ms":-1,"practitioner":"p"})")), ErrorCode::invalid_argument,
                  "issued_at_ms");
    require_error(decode_pull_reply(with(R"({"issued_at_ms":1,"practitioner":"p","lock_after_ms":0})")),
                  ErrorCode::invalid_argument, "lock_after_ms");
    require_error(decode_pull_reply(with(R"({"issued_at_ms":1,"practitioner":"p","purge_after_ms":99999999999999})")),
                  ErrorCode::invalid_argument, "purge_after_ms");
    require_error(decode_pull_reply(with(
                      R"({"issued_at_ms":1,"practitioner":"p","sharing_block_after_ms":10,"lock_after_ms":5,"purge_after_ms":20})")),
                  ErrorCode::invalid_argument, "periods");
    require_error(decode_pull_reply(with(R"({"issued_at_ms":1,"practitioner":"p","system_roles":["a b"]})")),
                  ErrorCode::invalid_argument, "system_roles[0]");
    require_error(decode_pull_reply(with(
                      R"({"issued_at_ms":1,"practitioner":"p","system_roles":["a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a","a"]})")),
                  ErrorCode::too_large, "system_roles");
    require_error(decode_pull_reply(with(R"({"issued_at_ms":1,"practitioner":"p","organisation":"a\u0001"})")),
                  ErrorCode::invalid_argument, "organisation");
  }
  SECTION("held results") {
    require_error(decode_push_reply(R"({"results":[{"op":"d:1","status":"held","route_to":7}]})"),
                  ErrorCode::invalid_argument, "results[0].route_to");
    require_error(decode_push_reply("{\"results\":[{\"op\":\"d:1\",\"status\":\"held\",\"route_to\":\"" +
                                    std::string(65, 'p') + "\"}]}"),
                  ErrorCode::invalid_argument, "results[0].route_to");
    require_error(decode_push_reply(R"({"results":[{"op":"d:1","status":"held","route_to":"a\nb"}]})"),
                  ErrorCode::invalid_argument, "results[0].route_to");
  }
}

TEST_CASE("Protocol: an emergency access request and its answer round-trip and bad ones are refused",
          "[unit][protocol][security]") {
  using namespace hearth::sync::protocol;
  EmergencyAccessRequest q{"fam-1", "MISSING_CHILD", "the school reports the child missing, \xC3\xA9t\xC3\xA9"};
  auto back = decode_emergency_access_request(encode(q));
  REQUIRE(back);
  CHECK(back->family == q.family);
  CHECK(back->reason_code == q.reason_code);
  CHECK(back->reason == q.reason);
  EmergencyAccessReply a{"fam-1", "fam-1/break-glass/0123456789abcdef", 1767240000000ull};
  auto answer = decode_emergency_access_reply(encode(a));
  REQUIRE(answer);
  CHECK(answer->grant_id == a.grant_id);
  CHECK(answer->expires_at_ms == a.expires_at_ms);

  auto refused = [](const std::string& body) {
    auto r = decode_emergency_access_request(body);
    REQUIRE_FALSE(r);
    return r.error().message;
  };
  CHECK_THAT(refused(R"({"family":"fam-1","reason_code":"MISSING_CHILD"})"), Catch::Matchers::Contains("reason"));
  CHECK_THAT(refused(R"({"family":"","reason_code":"MISSING_CHILD","reason":"x"})"), Catch::Matchers::Contains("family"));
  CHECK_THAT(refused(R"({"family":"fam-1","reason_code":"MISSING CHILD","reason":"x"})"),
             Catch::Matchers::Contains("reason_code"));
  CHECK_THAT(refused(encode(EmergencyAccessRequest{"fam-1", "OTHER", std::string(2001, 'x')})),
             Catch::Matchers::Contains("reason"));
  // Over the small body limit (an enrolment's): too large before parsing.
  auto big = decode_emergency_access_request(encode(EmergencyAccessRequest{"fam-1", "OTHER", std::string(5000, 'x')}));
  REQUIRE_FALSE(big);
  CHECK(big.error().code == hearth::ErrorCode::too_large);
}

TEST_CASE("Protocol: the key lease and the wipe order and its acknowledgement round-trip and are typed",
          "[unit][protocol][security]") {
  PolicySnapshot p;
  p.issued_at_ms = 1000;
  p.practitioner = "hv-1";
  p.key_lease_ms = 20ull * 24 * 3600 * 1000;
  PullReply pull;
  pull.policy = p;
  pull.wipe = WipeOrder{777, true};
  auto pulled = decode_pull_reply(encode(pull));
  REQUIRE(pulled);
  CHECK(pulled->policy->key_lease_ms == p.key_lease_ms);
  REQUIRE(pulled->wipe);
  CHECK(pulled->wipe->requested_at_ms == 777);
  CHECK(pulled->wipe->discard_unsynced);
  PushReply push;
  push.wipe = WipeOrder{888, false};
  auto pushed = decode_push_reply(encode(push));
  REQUIRE(pushed);
  REQUIRE(pushed->wipe);
  CHECK(pushed->wipe->requested_at_ms == 888);
  CHECK_FALSE(pushed->wipe->discard_unsynced);
  CHECK_FALSE(decode_push_reply(encode(PushReply{}))->wipe);  // absent unless the office asked
  // an older server sends no lease: the default 14 days
  auto bare = decode_pull_reply(R"({"families":[],"policy":{"issued_at_ms":5,"practitioner":"hv-1"}})");
  REQUIRE(bare);
  CHECK(bare->policy->key_lease_ms == 14ull * 24 * 3600 * 1000);
  require_error(decode_pull_reply(R"({"families":[],"policy":{"issued_at_ms":5,"practitioner":"hv-1","key_lease_ms":0}})"),
                ErrorCode::invalid_argument, "\"key_lease_ms\"");
  require_error(decode_pull_reply(R"({"families":[],"wipe":{"discard_unsynced":true}})"), ErrorCode::invalid_argument,
                "\"requested_at\" is missing");
  require_error(decode_push_reply(R"({"results":[],"wipe":{"requested_at":1,"discard_unsynced":"yes"}})"),
                ErrorCode::invalid_argument, "\"discard_unsynced\" must be true or false");

  auto ack = decode_wipe_ack(encode(WipeAck{3, 1}));
  REQUIRE(ack);
  CHECK(ack->unsynced_lost == 3);
  CHECK(ack->quarantined_lost == 1);
  CHECK(decode_wipe_ack_reply(encode(WipeAckReply{42}))->acknowledged_at_ms == 42);
  require_error(decode_wipe_ack(R"({"unsynced_lost":-1,"quarantined_lost":0})"), ErrorCode::invalid_argument,
                "\"unsynced_lost\"");
  require_error(decode_wipe_ack(R"({"unsynced_lost":1})"), ErrorCode::invalid_argument, "\"quarantined_lost\" is missing");
  require_error(decode_wipe_ack(std::string(8000, ' ')), ErrorCode::too_large, "wipe acknowledgement");
}
