// `init --dev` from a hearth-server installed far from the source tree: it used to look for
// certs/gen-dev-certs.sh by walking up from its own executable, so an installed server could not
// make development certificates and every end-to-end test failed from a build folder outside
// the source tree. The certificates are now made with OpenSSL's API inside the server.
#include <catch2/catch.hpp>

#include <filesystem>

#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;
namespace fs = std::filesystem;

TEST_CASE("E2E: a hearth-server copied outside the source tree makes development certificates a tablet enrols and "
          "syncs with",
          "[e2e]") {
  TempDir install;
  const fs::path bin = install.path() / "bin" / "hearth-server";
  fs::create_directories(bin.parent_path());
  fs::copy_file(build_binary("server/hearth-server"), bin);
  // Nothing above the copy is the source tree: no certs/ folder to find.
  for (fs::path p = bin.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
    REQUIRE_FALSE(fs::exists(p / "certs" / "gen-dev-certs.sh"));
  REQUIRE(std::string(HEARTH_SOURCE_DIR).rfind(install.path().string(), 0) != 0);

  ServerProcess server({}, bin.string());
  for (const char* f : {"ca.crt", "ca.key", "server.crt", "server.key"})
    CHECK(fs::exists(fs::path(server.data()) / "certs" / f));

  Tablet hv(server, "hv-1");  // enrols over TLS, pinning the CA the copied server made
  const std::string family = must(hv.store->create_family(family_fields("Family C")));
  must(hv.store->create(family, "Person", person_fields("M", "1994-03-02")));
  auto pushed = hv.sync();
  CHECK(pushed.pushed > 0);
  Tablet second(server, "hv-1");
  second.sync();
  CHECK(second.family_json(family) == hv.family_json(family));
  CHECK_THAT(server.log(), Contains("\"event\":\"listening\"") && !Contains("certificate"));  // no warning about them

  // A tablet that pinned another CA (the rogue one) is refused by TLS, not served.
  auto rogue = client::make_curl_transport(client::CurlOptions{server.url(), server.ca_pem("rogue-ca")});
  REQUIRE(rogue);
  auto refused = (*rogue)->post("/v1/pull", "{}", "");
  REQUIRE_FALSE(refused);
  CHECK(refused.error().code == ErrorCode::network);
}
