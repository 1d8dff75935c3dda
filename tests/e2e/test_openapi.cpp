// docs/openapi.yaml against the real server (issue 10 part 2): every route the server serves is
// in the document, and real answers of a real hearth-server over TLS on 127.0.0.1 (every device
// endpoint and every office endpoint: consent withdrawal, the pull feed and its acknowledgements
// with a step-up package, inbound messages; successes and refusals) match the schemas the
// document gives for their operation and status. The check is tests/openapi/check_response.py
// (Debian's python3-jsonschema and python3-yaml); negative controls prove it refuses answers
// that break the schema. The document's own validity is checked by the "npm: ..." test
// (tests/openapi/validate.sh, release pass). Skipped when python3-jsonschema is missing, unless
// CI=true (scripts/install-deps.sh installs it).
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <fstream>

#include "../../client/src/sync_port.hpp"  // the device's sealed credential (internal)
#include "../support/process.hpp"
#include "../support/raw_http.hpp"
#include "family_g.hpp"
#include "hearth/client/transport.hpp"
#include "hearth/server/http.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
using nlohmann::json;

namespace {

const std::string kPython = "/usr/bin/python3";  // Debian's, whatever python3 the PATH finds first
const std::string kSource = HEARTH_SOURCE_DIR;
const std::string kSpec = kSource + "/docs/openapi.yaml";
const std::string kChecker = kSource + "/tests/openapi/check_response.py";

// True when Debian's python3 has jsonschema and yaml. Without them the test is skipped, except
// in CI, where they are required.
bool have_checker() {
  if (run_process(kPython, {"-c", "import jsonschema, yaml"}).code == 0) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true")
    FAIL("python3-jsonschema or python3-yaml is not installed and CI=true: run scripts/install-deps.sh");
  WARN("python3-jsonschema or python3-yaml is not installed: skipping (apt-get install python3-jsonschema python3-yaml)");
  return false;
}

// Runs the checker on `data` (written to a file of `dir`); returns its exit code and output.
ProcessResult check(const TempDir& dir, const std::string& command, const json& data, bool require_coverage = false) {
  static int n = 0;
  std::string file = dir.file(command + "-" + std::to_string(++n) + ".json");
  std::ofstream(file) << data.dump(1);
  std::vector<std::string> args{kChecker, "--spec", kSpec, command, file};
  if (require_coverage) args.push_back("--require-coverage");
  return run_process(kPython, args);
}

// Every exchange with the server, as the checker reads them: {method, path, status, body, request?}.
struct Captured {
  json exchanges = json::array();

  void add(const std::string& method, const std::string& path, long status, const std::string& body,
           const std::string* request = nullptr) {
    json x{{"method", method}, {"path", path}, {"status", status}, {"body", body}};
    if (request) x["request"] = *request;  // a well-formed request: checked against requestBody too
    exchanges.push_back(std::move(x));
  }
  // The first or the last exchange with `path` answered `status`.
  json& first(const std::string& path, long status) {
    for (auto& x : exchanges)
      if (x["path"] == path && x["status"] == status) return x;
    throw std::runtime_error("no " + path + " answer " + std::to_string(status) + " was captured");
  }
  // Every answer body to `path`, joined: what the schema check saw.
  std::string bodies(const std::string& path) const {
    std::string all;
    for (const auto& x : exchanges)
      if (x["path"] == path) all += x["body"].get<std::string>() + "\n";
    return all;
  }
  json& last(const std::string& path, long status) {
    for (auto it = exchanges.rbegin(); it != exchanges.rend(); ++it)
      if ((*it)["path"] == path && (*it)["status"] == status) return *it;
    throw std::runtime_error("no " + path + " answer " + std::to_string(status) + " was captured");
  }
};

// A transport that records every request and answer of the real client's sync engine.
class CapturingTransport final : public client::Transport {
 public:
  CapturingTransport(std::unique_ptr<client::Transport> inner, Captured& into) : inner_(std::move(inner)), into_(into) {}
  Result<client::HttpReply> post(const std::string& path, const std::string& body, const std::string& bearer) override {
    auto r = inner_->post(path, body, bearer);
    if (r) into_.add("POST", path, r->status, r->body, &body);
    return r;
  }
  uint64_t bytes_sent() const override { return inner_->bytes_sent(); }
  uint64_t bytes_received() const override { return inner_->bytes_received(); }

 private:
  std::unique_ptr<client::Transport> inner_;
  Captured& into_;
};

// Calls to one server: the real client's syncs and requests made by hand, all captured.
struct Caller {
  ServerProcess& server;
  Captured& captured;
  std::unique_ptr<client::Transport> curl;

  Caller(ServerProcess& s, Captured& c)
      : server(s), captured(c), curl(must(client::make_curl_transport(client::CurlOptions{s.url(), s.ca_pem()}))) {}

  // A sync of `t` through a capturing transport (its result, which may be an error, is returned).
  Result<client::SyncReport> sync(Tablet& t) {
    CapturingTransport capturing(must(client::make_curl_transport(client::CurlOptions{server.url(), server.ca_pem()})),
                                 captured);
    return client::sync(*t.store, capturing);
  }
  // POST `body` to `path` with `bearer` ("" for none); `well_formed`: the request is checked too.
  client::HttpReply post(const std::string& path, const std::string& body, const std::string& bearer = "",
                         bool well_formed = false) {
    auto r = must(curl->post(path, body, bearer));
    captured.add("POST", path, r.status, r.body, well_formed ? &body : nullptr);
    return r;
  }
  // Sends `request` as it is over TLS (any method, header or path) and captures the answer.
  RawReply raw(const std::string& method, const std::string& path, const std::string& request) {
    auto r = raw_exchange(server.port(), true, request);
    captured.add(method, path, r.status, r.body);
    return r;
  }
};

std::string device_token(Tablet& t) {
  auto token = must(client::sync_port(*t.store).secret("device_token"));
  REQUIRE(token);
  return *token;
}

json withdrawal(const family_g::Records& g) {
  return json{{"family", g.family}, {"consent", g.k1}, {"recipients", {"org-school"}}, {"withdrawn_by", g.p},
              {"recorded_by", "duty-1"}, {"channel", "PHONE"}};
}

}  // namespace

TEST_CASE("OpenAPI: every route hearth-server serves is an operation of docs/openapi.yaml with its body limit",
          "[e2e][openapi]") {
  if (!have_checker()) return;
  TempDir dir;
  json routes = json::array();
  for (const auto& r : server::v1_routes())
    routes.push_back({{"method", r.method}, {"path", r.path}, {"max_body_bytes", r.max_body_bytes}});
  REQUIRE(routes.size() >= 7);
  auto ok = check(dir, "routes", routes);
  INFO(ok.out << ok.err);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Contains("OK"));

  // Negative controls: a route missing from the document, and an operation nobody serves.
  json extra = routes;
  extra.push_back({{"method", "POST"}, {"path", "/v1/office/not-documented"}});
  auto missing = check(dir, "routes", extra);
  CHECK(missing.code == 1);
  CHECK_THAT(missing.out, Contains("route POST /v1/office/not-documented is served (v1_routes) but not in the document"));
  json fewer = json::array();
  for (const auto& r : routes)
    if (r["path"] != "/v1/wipe/ack") fewer.push_back(r);
  auto unserved = check(dir, "routes", fewer);
  CHECK(unserved.code == 1);
  CHECK_THAT(unserved.out, Contains("POST /v1/wipe/ack is in the document but not served"));
  json other_limit = routes;
  for (auto& r : other_limit)
    if (r["path"] == "/v1/pull") r["max_body_bytes"] = 2u << 20;
  auto limit = check(dir, "routes", other_limit);
  CHECK(limit.code == 1);
  CHECK_THAT(limit.out, Contains("POST /v1/pull: x-hearth-max-body-bytes is 1048576 but the route takes 2097152"));
}

TEST_CASE("OpenAPI: real answers of every endpoint over TLS match docs/openapi.yaml and broken ones fail the check",
          "[e2e][openapi]") {
  if (!have_checker()) return;
  TempDir dir;
  ServerProcess server;
  Captured captured;
  Caller call(server, captured);
  // The family of S2 (as test_held.cpp): lead yw-2 of the Youth Service, the school's DSL on the team.
  server.admin({"add-org", "--id", "org-school", "--name", "Hillside School", "--type", "SCHOOL"});
  server.admin({"add-practitioner", "--id", "yw-2", "--org", "org-ys", "--name", "Youth worker", "--role", "PRACTITIONER"});
  server.admin({"add-practitioner", "--id", "dsl-1", "--org", "org-school", "--name", "School DSL", "--role", "PRACTITIONER"});
  server.admin({"add-practitioner", "--id", "duty-1", "--org", "org-ys", "--name", "Duty worker", "--role", "PRACTITIONER"});

  // ---- GET /v1/health, and answers to requests that reach no operation
  CHECK(call.raw("GET", "/v1/health", http_request("GET", "/v1/health")).status == 200);
  CHECK(call.raw("GET", "/v1/health", http_request("GET", "/v1/health", "", "Hearth-Protocol: 2\r\n")).status == 400);
  std::string many_headers;
  for (int i = 0; i < 100; ++i) many_headers += "X-Filler-" + std::to_string(i) + ": x\r\n";
  CHECK(call.raw("GET", "/v1/health", http_request("GET", "/v1/health", "", many_headers)).status == 431);
  CHECK(call.raw("GET", "/v1/push", http_request("GET", "/v1/push")).status == 405);
  CHECK(call.raw("POST", "/v2/push", http_request("POST", "/v2/push", "{}")).status == 404);
  const std::string long_path = "/v1/" + std::string(3000, 'a');
  CHECK(call.raw("GET", long_path, http_request("GET", long_path)).status == 414);

  // ---- POST /v1/enrol
  const std::string code_tm = server.enrol_code("tm-1");
  CHECK(call.post("/v1/enrol", R"({"code":"no-such-code-000","device_id":"oa-dev-1","practitioner_id":"tm-1"})").status == 401);
  CHECK(call.post("/v1/enrol", json{{"code", code_tm}, {"device_id", "oa-dev-1"}, {"practitioner_id", "yw-1"}}.dump())
            .status == 409);
  CHECK(call.post("/v1/enrol", json{{"code", code_tm}, {"device_id", "not an id!"}}.dump()).status == 400);
  const std::string enrol_body = json{{"code", code_tm}, {"device_id", "oa-dev-1"}, {"practitioner_id", "tm-1"}}.dump();
  auto enrolled = call.post("/v1/enrol", enrol_body, "", true);
  REQUIRE(enrolled.status == 200);
  const std::string tm_token = json::parse(enrolled.body)["device_token"];
  CHECK(call.raw("POST", "/v1/enrol", http_request("POST", "/v1/enrol", std::string(64 * 1024, '['))).status == 413);

  // ---- POST /v1/push and /v1/pull by the real client: accepted ops, full pulls with the policy
  Tablet lead(server, "yw-2");
  auto g = family_g::create(*lead.store, "Family H", "07700 900124", {"org-school", "org-ys"});
  REQUIRE(call.sync(lead));
  server.admin({"allocate", "--family", g.family, "--practitioner", "dsl-1", "--scope", "FULL_EPISODE"});
  Tablet school(server, "dsl-1");
  REQUIRE(call.sync(school));
  REQUIRE(call.sync(school));  // nothing changed: a probe
  // A held op (the DSL may not change the level of need, §7), then its decision at the office.
  must(school.store->update(g.ep, "level_of_need", "L3"));
  REQUIRE(must(call.sync(school)).held == 1);
  const std::string held_op = must(school.store->held()).back().op_id;
  server.admin({"held", "apply", "--op", held_op, "--by", "yw-2", "--note", "agreed at the TAF meeting"});
  REQUIRE(must(call.sync(school)).held_decided == 1);
  CHECK_THAT(captured.last("/v1/push", 200)["body"].get<std::string>(), Contains("held_decided"));
  // By hand: the lead's first push again (every op a duplicate), an op that does not decode.
  const std::string lead_token = device_token(lead);
  const std::string first_push = captured.first("/v1/push", 200)["request"];  // the lead's first push
  REQUIRE_THAT(first_push, Contains("\"ops\""));
  CHECK_THAT(call.post("/v1/push", first_push, lead_token, true).body, Contains("duplicate"));
  CHECK_THAT(call.post("/v1/push", R"({"ops":["AAAA"]})", lead_token, true).body, Contains("rejected"));
  CHECK(call.post("/v1/push", R"({"ops":[]})").status == 401);
  CHECK(call.post("/v1/push", R"({"ops":5})", lead_token).status == 400);
  CHECK(call.post("/v1/pull", R"({"cursors":[]})", lead_token).status == 400);
  CHECK(call.post("/v1/pull", "{}", "not-a-device-token").status == 401);
  CHECK(call.raw("POST", "/v1/push",
                 http_request("POST", "/v1/push", std::string((4u << 20) + 1024, ' '), "Authorization: Bearer " + lead_token + "\r\n"))
            .status == 413);

  // ---- POST /v1/break-glass (tm-1 is on no team of this family)
  auto glass = [&](const std::string& family, const std::string& code, bool well_formed = true) {
    return call.post("/v1/break-glass",
                     json{{"family", family}, {"reason_code", code}, {"reason", "the child is missing tonight"}}.dump(),
                     tm_token, well_formed);
  };
  CHECK(glass(g.family, "MISSING_CHILD").status == 200);
  CHECK(glass(g.family, "MISSING_CHILD").status == 409);  // a grant in force
  CHECK(glass("no-such-family", "MISSING_CHILD").status == 404);
  CHECK(glass(g.family, "NOT_A_REASON").status == 400);
  CHECK(call.post("/v1/break-glass", R"({"family":"x"})", tm_token).status == 400);

  // ---- the office asks for tm-1's device to be wiped: push and pull answers carry the order
  server.admin({"wipe", "--device", "oa-dev-1"});
  CHECK_THAT(call.post("/v1/pull", R"({"cursors":{}})", tm_token, true).body, Contains("\"wipe\""));
  CHECK_THAT(call.post("/v1/push", R"({"ops":[]})", tm_token, true).body, Contains("\"wipe\""));
  // ---- POST /v1/wipe/ack
  CHECK(call.post("/v1/wipe/ack", "{}", tm_token).status == 400);
  CHECK(call.post("/v1/wipe/ack", R"({"unsynced_lost":0,"quarantined_lost":0})", lead_token, true).status == 409);
  CHECK(call.post("/v1/wipe/ack", R"({"unsynced_lost":0,"quarantined_lost":0})", tm_token, true).status == 200);
  CHECK(call.post("/v1/wipe/ack", R"({"unsynced_lost":0,"quarantined_lost":0})", tm_token, true).status == 200);
  CHECK(call.post("/v1/push", R"({"ops":[]})", tm_token).status == 403);
  CHECK(call.post("/v1/pull", "{}", tm_token).status == 403);
  CHECK(call.post("/v1/break-glass", R"({"family":"x","reason_code":"OTHER","reason":"r"})", tm_token).status == 403);
  // The school's tablet is wiped by the real client: its push answer carries the order, then it acknowledges.
  server.admin({"wipe", "--device", school.store->device_id()});
  CHECK_FALSE(call.sync(school));  // revoked: "wiped at the office's request"
  CHECK(captured.last("/v1/wipe/ack", 200)["request"].is_string());

  // ---- POST /v1/office/consent/withdraw with an office credential
  std::string issued = server.admin({"office-credential", "issue", "--name", "case-system"});
  const std::string office = issued.substr(0, issued.find('\n'));
  const std::string path = "/v1/office/consent/withdraw";
  CHECK(call.post(path, withdrawal(g).dump()).status == 401);
  CHECK(call.post(path, withdrawal(g).dump(), lead_token).status == 401);  // a device's credential
  CHECK(call.post(path, json{{"family", g.family}}.dump(), office).status == 400);
  json unknown = withdrawal(g);
  unknown["family"] = "no-such-family";
  CHECK(call.post(path, unknown.dump(), office, true).status == 404);
  CHECK(call.post(path, withdrawal(g).dump(), office, true).status == 200);
  CHECK(call.post(path, withdrawal(g).dump(), office, true).status == 409);  // withdrawn already
  CHECK(call.post("/v1/pull", "{}", office).status == 401);  // an office credential on a device endpoint

  // ---- POST /v1/office/feed and /v1/office/feed/ack: the lead's records reach the feed; a
  // step-up the lead submits is queued as a package with priority, a later contact is a
  // supplementary update.
  auto& lead_store = *lead.store;
  // The council's codes: a person's status mapped (`codes`), one level of need mapped and the
  // family's not (`unmapped`); an assessment and a plan with an outcome and an action go with the package.
  server.admin({"office", "map", "set", "Person.person_status", "LIVING", "ALIVE"});
  server.admin({"office", "map", "set", "EarlyHelpEpisode.level_of_need", "L1", "EH-1"});
  const std::string assessment = must(lead_store.create(g.family, "Assessment", assessment_fields(g.ep)));
  FieldValues plan = plan_fields(g.ep);
  plan["based_on_assessment"] = assessment;
  const std::string plan_id = must(lead_store.create(g.family, "FamilyPlan", plan));
  const std::string outcome = must(lead_store.create(
      g.family, "PlanOutcome",
      {{"plan", plan_id}, {"statement", "D feels safe at home"}, {"linked_needs", StringList{"PARENTING_SUPPORT"}},
       {"measure", "D's own scale"}, {"target", "weekly"}, {"target_date", "2027-03-01"}, {"status", "IN_PROGRESS"}}));
  FieldValues action = action_fields();
  action["outcome"] = outcome;
  action["owner_practitioner"] = "yw-2";
  must(lead_store.create(g.family, "PlanAction", action));
  const std::string su = must(lead_store.create(
      g.family, "StepUpRequest",
      {{"episode", g.ep}, {"children", StringList{g.d}}, {"kind", "UNPLANNED_INCIDENT"},
       {"reason", "D disclosed harm at school"}, {"significant_harm", false},
       {"consent_position", "NOT_SOUGHT_OTHER"}, {"submitted_at", "2026-11-21T09:45:00Z"}}));
  must(lead_store.transition(su, "SUBMITTED"));
  REQUIRE(call.sync(lead));
  must(lead_store.create(g.family, "Contact", family_g::visit(g.d, "a visit after the step-up")));
  REQUIRE(call.sync(lead));
  const std::string feed = "/v1/office/feed", ack = "/v1/office/feed/ack";
  CHECK(call.post(feed, "{}").status == 401);
  CHECK(call.post(feed, "{}", lead_token).status == 401);  // a device's credential
  CHECK(call.post(feed, R"({"limit":0})", office).status == 400);
  CHECK(call.post(feed, R"({"after":"x"})", office).status == 400);
  CHECK(call.raw("POST", feed,
                 http_request("POST", feed, std::string(20 * 1024, ' '), "Authorization: Bearer " + office + "\r\n"))
            .status == 413);
  auto page = call.post(feed, R"({"after":0,"limit":500})", office, true);
  REQUIRE(page.status == 200);
  json p1 = json::parse(page.body);
  REQUIRE(p1["priority"].size() == 1);
  const json& package = p1["priority"][0]["package"];
  CHECK(package["plans"].size() == 1);
  CHECK(package["assessments"].size() == 1);
  CHECK_THAT(page.body, Contains("\"codes\"") && Contains("\"unmapped\"") && Contains("\"actions\"") &&
                            Contains("\"findings\""));
  REQUIRE_FALSE(p1["items"].empty());
  const std::string package_key = p1["priority"][0]["key"];
  std::string person_key;
  for (const auto& item : p1["items"])
    if (item["record"] == g.p) person_key = item["key"];
  REQUIRE_FALSE(person_key.empty());
  auto first = json::parse(call.post(feed, R"({"limit":1})", office, true).body);
  CHECK(first["more"] == true);
  CHECK(call.post(feed, "", office).status == 200);  // an empty body is {}
  // Acknowledgements: the package, the person with the office's id, a key no item has.
  const std::string acks = json{{"acks", {{{"key", package_key}}, {{"key", person_key}, {"office_ref", "EHM-P-1"}},
                                          {{"key", "no-such-record:1"}}}}}.dump();
  CHECK_THAT(call.post(ack, acks, office, true).body, Contains("\"acknowledged\"") && Contains("\"unknown\""));
  CHECK_THAT(call.post(ack, acks, office, true).body, Contains("\"already\""));
  CHECK(call.post(ack, R"({"acks":[]})", office).status == 400);
  CHECK(call.post(ack, R"({"acks":[{"office_ref":"x"}]})", office).status == 400);
  CHECK(call.post(ack, acks).status == 401);
  CHECK(call.raw("POST", ack,
                 http_request("POST", ack, std::string(600 * 1024, ' '), "Authorization: Bearer " + office + "\r\n"))
            .status == 413);
  CHECK(json::parse(call.post(feed, "{}", office, true).body)["priority"].empty());  // acknowledged: off the page

  // ---- POST /v1/office/inbound: decisions, statuses and ids on the family the tablet created
  const std::string inbound = "/v1/office/inbound";
  auto message = [&](const json& m, const std::string& bearer, bool well_formed = true) {
    return call.post(inbound, m.dump(), bearer, well_formed);
  };
  const json decision{{"message_id", "oa-m-1"}, {"kind", "step_up_decision"}, {"step_up", su},
                      {"csc_decision", "WITHDRAWN"}, {"csc_ref", "CSC-1"}, {"decided_at", "2026-11-22T15:00:00Z"}};
  CHECK(message(decision, "").status == 401);
  CHECK(message(decision, lead_token).status == 401);
  CHECK(call.post(inbound, "not json", office).status == 400);
  CHECK(message({{"message_id", "oa-m-0"}, {"kind", "telegram"}}, office, false).status == 400);
  CHECK(message({{"message_id", "oa-m-0"}, {"kind", "statutory_status"}, {"person", g.d}, {"status", "MAYBE"}}, office,
                false)
            .status == 400);
  CHECK(message({{"message_id", "oa-m-0"}, {"kind", "step_up_decision"}, {"step_up", "no-such-step-up"},
                 {"csc_decision", "WITHDRAWN"}},
                office)
            .status == 404);
  auto decided = message(decision, office);
  REQUIRE(decided.status == 200);
  CHECK(message(decision, office).body == decided.body);  // a repeat: the first answer, nothing written
  json other = decision;
  other["csc_ref"] = "CSC-2";
  CHECK(message(other, office).status == 409);  // the id used with another body
  other["message_id"] = "oa-m-2";
  CHECK(message(other, office).status == 409);  // decided already
  CHECK(message({{"message_id", "oa-m-3"}, {"kind", "statutory_status"}, {"person", g.d}, {"status", "CP_PLAN"}}, office)
            .status == 200);
  CHECK(message({{"message_id", "oa-m-4"}, {"kind", "office_ids"}, {"person", g.p}, {"office_person_id", "LL-1"},
                 {"episode", g.ep}, {"office_episode_id", "EHM-9"}},
                office)
            .status == 200);
  CHECK(message({{"message_id", "oa-m-5"}, {"kind", "office_ids"}, {"person", g.p}}, office, false).status == 400);
  // A person merge of people this server does not hold is refused; by someone not a manager too.
  CHECK(message({{"message_id", "oa-m-6"}, {"kind", "person_merge"}, {"keep", "no-such-person-1"},
                 {"merged_away", "no-such-person-2"}},
                office)
            .status == 404);
  CHECK(message({{"message_id", "oa-m-7"}, {"kind", "person_merge"}, {"keep", g.p}, {"merged_away", g.d},
                 {"by", "yw-2"}},
                office)
            .status == 403);
  CHECK(call.raw("POST", inbound,
                 http_request("POST", inbound, std::string(20 * 1024, ' '), "Authorization: Bearer " + office + "\r\n"))
            .status == 413);
  // The person's office id rides on its next item.
  CHECK_THAT(call.post(feed, json{{"after", p1["next_cursor"]}}.dump(), office, true).body, Contains("\"office_ref\""));

  // The answers exercise the schemas' optional parts too.
  CHECK_THAT(captured.bodies("/v1/push"), Contains("\"accepted\"") && Contains("\"duplicate\"") && Contains("\"rejected\"") &&
                                             Contains("\"held\"") && Contains("\"route_to\"") &&
                                             Contains("\"held_decided\"") && Contains("\"wipe\"") &&
                                             Contains("\"max_push_bytes\""));
  CHECK_THAT(captured.bodies("/v1/pull"), Contains("\"policy\"") && Contains("\"view\"") && Contains("\"feed_version\"") &&
                                             Contains("\"changed\":false") && Contains("\"wipe\""));
  CHECK_THAT(captured.bodies("/v1/office/feed"), Contains("\"package\"") && Contains("\"supplementary_to\"") &&
                                                     Contains("\"office_ref\"") && Contains("\"more\":true") &&
                                                     Contains("\"chronology\""));

  // ---- every answer against the document; every operation answered at least once well and once not
  auto ok = check(dir, "responses", captured.exchanges, /*require_coverage*/ true);
  INFO(ok.out << ok.err);
  REQUIRE(ok.code == 0);
  CHECK_THAT(ok.out, Contains("OK"));

  // ---- negative controls: each answer broken in one way must fail the check, naming why
  struct Broken {
    std::string what, path;
    long status;
    std::function<void(json&)> edit;
    std::string expected;
  };
  const std::vector<Broken> broken{
      {"a push answer without its required results", "/v1/push", 200, [](json& b) { b.erase("results"); },
       "'results' is a required property"},
      {"an enrolment answer whose token is a number", "/v1/enrol", 200, [](json& b) { b["device_token"] = 12345; },
       "12345 is not of type 'string'"},
      {"a pull answer with a field the document does not have", "/v1/pull", 200,
       [](json& b) { b["surprise"] = true; }, "Additional properties are not allowed ('surprise' was unexpected)"},
      {"a pull page whose cursor is text", "/v1/pull", 200,
       [](json& b) {
         for (auto& f : b["families"]) f["cursor"] = "7";
         if (b["families"].empty()) b["families"] = json::array({{{"family", "f"}, {"ops", json::array()}, {"cursor", "7"}}});
       },
       "'7' is not of type 'integer'"},
      {"a held op result with an unknown status", "/v1/push", 200,
       [](json& b) { b["results"] = json::array({{{"op", "d:1"}, {"status", "maybe"}}}); },
       "'maybe' is not one of ['accepted', 'duplicate', 'rejected', 'held']"},
      {"a 401 carrying a code of another status", "/v1/office/consent/withdraw", 401,
       [](json& b) { b["code"] = "revoked"; }, "'unauthorised' was expected"},
      {"an office answer whose op id is not <device>:<counter>", "/v1/office/consent/withdraw", 200,
       [](json& b) { b["ops"] = json::array({"hearth-server"}); }, "does not match"},
      {"a wipe acknowledgement answer without its time", "/v1/wipe/ack", 200, [](json& b) { b.erase("acknowledged_at"); },
       "'acknowledged_at' is a required property"},
      {"a feed item with a field the document does not have", "/v1/office/feed", 200,
       [](json& b) { b["items"][0]["surprise"] = 1; }, "Unevaluated properties are not allowed"},
      {"a step-up package without its lawful basis", "/v1/office/feed", 200,
       [](json& b) {
         b["priority"] = json::array({json::parse(R"({"seq":1,"priority":0,"key":"stepup-package:su:1","kind":"package",
           "record":"su","type":"StepUpRequest","family":"f","revision":1,"changed_at":"2026-11-30T12:30:00.000Z",
           "deleted":false,"package":{}})")});
       },
       "'lawful_basis' is a required property"},
      {"an acknowledgement result with an unknown status", "/v1/office/feed/ack", 200,
       [](json& b) { b["results"][0]["status"] = "maybe"; }, "'maybe' is not one of ['acknowledged', 'already', 'unknown']"},
      {"an inbound answer without its ops", "/v1/office/inbound", 200, [](json& b) { b.erase("ops"); },
       "'ops' is a required property"},
  };
  for (const auto& b : broken) {
    INFO(b.what);
    json one = captured.last(b.path, b.status);
    json body = json::parse(one["body"].get<std::string>());
    b.edit(body);
    one["body"] = body.dump();
    auto refused = check(dir, "responses", json::array({one}));
    INFO(refused.out << refused.err);
    CHECK(refused.code == 1);
    CHECK_THAT(refused.out, Contains("FAIL") && Contains(b.expected));
  }
  // A status the operation does not list, and a body that is not JSON.
  json teapot = captured.last("/v1/break-glass", 200);
  teapot["status"] = 418;
  auto undocumented = check(dir, "responses", json::array({teapot}));
  CHECK(undocumented.code == 1);
  CHECK_THAT(undocumented.out, Contains("status 418 is not documented for POST /v1/break-glass"));
  json garbled = captured.last("/v1/break-glass", 200);
  garbled["body"] = "<html>502 Bad Gateway</html>";
  CHECK_THAT(check(dir, "responses", json::array({garbled})).out, Contains("the body is not JSON"));
}
