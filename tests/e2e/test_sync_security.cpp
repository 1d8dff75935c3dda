// Security of the sync service over TLS on 127.0.0.1.
#include <catch2/catch.hpp>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sqlite3.h>
#include <sys/socket.h>

#include "hearth/sync/encoding.hpp"
#include "hearth/platform/encoding.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

client::HttpReply post(const ServerProcess& s, const std::string& path, const std::string& body, const std::string& token = "") {
  auto t = must(client::make_curl_transport(client::CurlOptions{s.url(), s.ca_pem()}));
  return must(t->post(path, body, token));
}

int64_t count(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open(db.c_str(), &h) == SQLITE_OK);
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, sql.c_str(), -1, &st, nullptr) == SQLITE_OK);
  int64_t n = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0) : -1;
  sqlite3_finalize(st);
  sqlite3_close(h);
  return n;
}

}  // namespace

TEST_CASE("Security: the tablet trusts only the CA it was enrolled with", "[security][e2e]") {
  ServerProcess server;
  SECTION("a client holding another CA refuses the real server") {
    auto t = must(client::make_curl_transport(client::CurlOptions{server.url(), server.ca_pem("rogue-ca")}));
    auto r = t->post("/v1/pull", "{}", "x");
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::network);
    CHECK_THAT(r.error().message, Contains("certificate") || Contains("SSL"));
  }
  SECTION("an enrolled tablet refuses a server with a certificate from another CA") {
    Tablet hv(server, "hv-1");
    must(hv.store->create_family(family_fields()));
    server.stop();
    server.start("rogue-server");
    auto r = hv.try_sync();
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == ErrorCode::network);
    CHECK(must(hv.store->status()).unsynced == 1);  // nothing was sent, nothing is lost
  }
  SECTION("the system trust store is not trusted either") {
    auto t = client::make_curl_transport(client::CurlOptions{server.url(), ""});
    REQUIRE_FALSE(t.ok());
    CHECK_THAT(t.error().message, Contains("CA certificate"));
    auto http = client::make_curl_transport(client::CurlOptions{"http://127.0.0.1:1", server.ca_pem()});
    REQUIRE_FALSE(http.ok());
    CHECK_THAT(http.error().message, Contains("https://"));
  }
}

TEST_CASE("Security: credentials: unauthenticated 401, spent codes, revoked devices told", "[security][e2e]") {
  ServerProcess server;
  auto anonymous = post(server, "/v1/pull", "{}");
  CHECK(anonymous.status == 401);
  CHECK_THAT(anonymous.body, Contains("device credential"));
  CHECK(post(server, "/v1/push", "{\"ops\":[]}", "not-a-real-token").status == 401);

  std::string code = server.enrol_code("hv-1");
  Tablet hv(server, "hv-1");
  auto reuse = post(server, "/v1/enrol", "{\"code\":\"" + code + "\",\"device_id\":\"x1\"}");
  CHECK(reuse.status == 200);  // a fresh code works once...
  auto again = post(server, "/v1/enrol", "{\"code\":\"" + code + "\",\"device_id\":\"x2\"}");
  CHECK(again.status == 401);  // ...and only once
  CHECK_THAT(again.body, Contains("already used or expired"));

  server.admin({"revoke", "--device", hv.store->device_id()});
  auto r = hv.try_sync();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::revoked);  // from the wire code, not the message
  CHECK_THAT(r.error().message, Contains("revoked") && Contains("wipe"));
  auto back = client::enrol(*hv.store, server.url(), server.ca_pem(), server.enrol_code("hv-1"));
  REQUIRE_FALSE(back.ok());  // a revoked device does not come back with a new code
  CHECK_THAT(back.error().message, Contains("revoked"));
  CHECK(count(server.db(), "SELECT count(*) FROM audit_events WHERE action = 'denied'") >= 3);
}

TEST_CASE("Security: a device gets nothing of a family it may not see, and the attempt is logged", "[security][e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  std::string fam = must(hv.store->create_family(family_fields()));
  hv.sync();
  // yw forges its view of the family: it asks for it, and pushes an edit to it
  auto forged = must(sync_port(*hv.store).encoded_ops(fam));
  must(sync_port(*yw.store).apply_remote(forged));
  must(yw.store->update(fam, "phone", "07700 999999"));
  auto r = yw.sync();
  CHECK(r.rejected == 1);
  CHECK(r.pulled == 0);
  auto rejected = must(yw.store->quarantine());
  REQUIRE(rejected.size() == 1);
  CHECK_THAT(rejected[0].reason, Contains("no access to family"));
  CHECK(rejected[0].family == fam);
  CHECK(must(yw.store->status()).unsynced == 0);  // it does not block the queue
  CHECK(count(server.db(), "SELECT count(*) FROM audit_events WHERE action = 'denied' AND family = '" + fam + "'") == 1);
  // only the lead's, and its creator's TeamMember record written by the server
  CHECK(count(server.db(), "SELECT count(*) FROM ops WHERE family = '" + fam + "'") == 2);
  hv.sync();
  CHECK_THAT(must(hv.store->get(fam)).json, !Contains("07700 999999"));
}

TEST_CASE("Security: bad requests get a 4xx and the server keeps serving", "[security][e2e][fault]") {
  ServerProcess server;
  Tablet hv(server, "hv-1");
  std::string token = must(sync_port(*hv.store).secret("device_token")).value();
  CHECK(post(server, "/v1/push", "{not json", token).status == 400);
  CHECK(post(server, "/v1/push", "{\"ops\": 7}", token).status == 400);
  // ops that are not base64 strings: the body is malformed (each decodable op is judged alone)
  auto junk = post(server, "/v1/push", "{\"ops\": [5, \"!!notbase64\"]}", token);
  CHECK(junk.status == 400);
  CHECK_THAT(junk.body, Contains("ops[0]") && Contains("\"code\":\"bad_request\""));
  CHECK(post(server, "/v1/pull", "{\"cursors\": []}", token).status == 400);
  CHECK(post(server, "/v1/pull", "{\"cursors\": {\"f\": \"x\"}}", token).status == 400);
  CHECK(post(server, "/v2/pull", "{}", token).status == 404);
  CHECK(post(server, "/v1/nothing", "{}", token).status == 404);
  std::string big(9u * 1024 * 1024, ' ');
  auto too_big = post(server, "/v1/push", big, token);  // gzip shrinks it on the wire, the server inflates: still too big
  CHECK(too_big.status >= 400);
  CHECK(too_big.status < 500);
  // an op made by another device, or in another author's name
  std::string fam = must(hv.store->create_family(family_fields()));
  auto op = must(sync::decode(must(sync_port(*hv.store).outbox())[0].bytes));
  op.id.device = "someone-else";
  auto forged = post(server, "/v1/push", "{\"ops\": [\"" + platform::base64(sync::encode(op)) + "\"]}", token);
  CHECK_THAT(forged.body, Contains("made by another device"));
  CHECK(post(server, "/v1/health", "{}").status == 405);
  // an app too new or too old for this server
  for (int version : {0, 2}) {
    client::CurlOptions o{server.url(), server.ca_pem()};
    o.protocol = version;
    auto t = must(client::make_curl_transport(o));
    auto r = must(t->post("/v1/pull", "{}", token));
    CHECK(r.status == 400);
    CHECK_THAT(r.body, Contains(version == 0 ? "update the app" : "the server needs updating first"));
  }
  auto r = hv.sync();  // the service is still up and correct
  CHECK(r.pushed == 1);
}

TEST_CASE("Security: an expired device credential is refused with a clear error", "[security][e2e]") {
  ServerProcess server;
  server.stop();
  server.configure([](nlohmann::json& c) { c["credential_days"] = 0; });
  server.start();
  Tablet hv(server, "hv-1");
  must(hv.store->create_family(family_fields()));
  auto r = hv.try_sync();
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == ErrorCode::expired);
  CHECK_THAT(r.error().message, Contains("credential expired") && Contains("enrol it again"));
  CHECK(must(hv.store->status()).unsynced == 1);  // kept for after re-enrolment
  // a new code renews the credential (here with a normal lifetime again) and the work goes up
  server.stop();
  server.configure([](nlohmann::json& c) { c["credential_days"] = 365; });
  server.start();
  must(client::enrol(*hv.store, server.url(), server.ca_pem(), server.enrol_code("hv-1")));
  CHECK(hv.sync().pushed == 1);
}

TEST_CASE("Security: idle and half-open connections do not stop the server serving others", "[security][e2e][fault]") {
  ServerProcess server;
  Tablet hv(server, "hv-1");
  std::vector<int> idle;
  for (int i = 0; i < 12; ++i) {  // more than the server's threads
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(server.port());
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    if (i % 2) REQUIRE(::write(fd, "\x16\x03\x01\x00", 4) == 4);  // the start of a TLS hello, then nothing
    idle.push_back(fd);
  }
  must(hv.store->create_family(family_fields()));
  auto r = hv.sync();
  CHECK(r.pushed == 1);
  for (int fd : idle) ::close(fd);
}

TEST_CASE("Fault 4: a pushed op whose narrative is not valid UTF-8 is refused and every tablet still reads the family",
          "[fault][security][e2e]") {
  ServerProcess server;
  Tablet hv(server, "hv-1");
  std::string token = must(sync_port(*hv.store).secret("device_token")).value();
  std::string fam = must(hv.store->create_family(family_fields()));
  hv.sync();
  must(hv.store->create(fam, "Contact", contact_fields("2026-11-23T10:00:00Z", "Visit: all well")));
  // The op the tablet will push, with its narrative replaced by bytes that are not UTF-8, sent
  // first in the device's own name (a buggy or hostile client).
  auto op = must(sync::decode(must(sync_port(*hv.store).outbox()).back().bytes));
  op.fields["narrative"] = Value(std::string("visit note \xff\xfe"));
  auto pushed = post(server, "/v1/push", "{\"ops\": [\"" + platform::base64(sync::encode(op)) + "\"]}", token);
  CHECK(pushed.status == 200);
  CHECK_THAT(pushed.body, Contains("rejected") && Contains("not valid UTF-8") && Contains("narrative"));
  // the family and its creator's TeamMember record only
  CHECK(count(server.db(), "SELECT count(*) FROM ops WHERE family = '" + fam + "'") == 2);

  // The real op still goes through, and another tablet of the team reads the family.
  CHECK(hv.sync().pushed == 1);
  Tablet second(server, "hv-1");
  second.sync();
  CHECK_THAT(second.family_json(fam), Contains("Visit: all well"));
  CHECK_THAT(hv.family_json(fam), Contains("Visit: all well"));

  // A device id is an id too: no control characters, bounded length.
  for (std::string device : {std::string("x\\u0001y"), std::string(65, 'd')}) {
    auto enrol = post(server, "/v1/enrol", "{\"code\":\"" + server.enrol_code("hv-1") + "\",\"device_id\":\"" + device + "\"}");
    CHECK(enrol.status == 400);
    CHECK_THAT(enrol.body, Contains("device_id"));
  }
}
