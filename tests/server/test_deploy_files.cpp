// The files a council's IT runs hearth-server with: the systemd unit (checked by systemd's own
// tools, and by its keys: hardened, its own user, its state directory, the keys as credentials,
// the port nginx's upstream names) and the configuration reference (docs/configuration.md), kept
// in step with the keys the server reads.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "../support/process.hpp"
#include "../support/temp_dir.hpp"
#include "audit/audit_key.hpp"
#include "config/config_keys.hpp"
#include "keys/kek.hpp"

using namespace hearth::test;
using Catch::Matchers::Contains;

namespace {

const std::string kSource = HEARTH_SOURCE_DIR;
const std::string kUnit = kSource + "/deploy/systemd/hearth-server.service";

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string find_systemd_analyze() {
  for (const char* p : {"/usr/bin/systemd-analyze", "/bin/systemd-analyze"})
    if (access(p, X_OK) == 0) return p;
  return {};
}

// True when systemd-analyze is installed. Without it the test is skipped, except in CI, where
// it is a failure (scripts/install-deps.sh installs systemd).
bool have_systemd_analyze() {
  if (!find_systemd_analyze().empty()) return true;
  const char* ci = std::getenv("CI");
  if (ci && std::string(ci) == "true") FAIL("systemd-analyze is not installed and CI=true: run scripts/install-deps.sh");
  WARN("systemd-analyze is not installed: skipping (scripts/install-deps.sh installs systemd)");
  return false;
}

// The unit's settings: "Section.Key" -> every value given, in order.
std::map<std::string, std::vector<std::string>> unit_settings(const std::string& text) {
  std::map<std::string, std::vector<std::string>> out;
  std::string section, line;
  std::stringstream in(text);
  while (std::getline(in, line)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      section = line.substr(1, line.find(']') - 1);
      continue;
    }
    const size_t eq = line.find('=');
    REQUIRE(eq != std::string::npos);  // every other line is Key=Value
    out[section + "." + line.substr(0, eq)].push_back(line.substr(eq + 1));
  }
  return out;
}

// The unit with ExecStart pointing at this build's hearth-server (systemd-analyze verify checks
// that the program exists), written into `dir`.
std::string unit_copy(const TempDir& dir, const std::string& text) {
  std::string unit = text;
  const std::string installed = "/usr/bin/hearth-server";
  const size_t at = unit.find("ExecStart=" + installed);
  REQUIRE(at != std::string::npos);
  unit.replace(at + 10, installed.size(), build_binary("server/hearth-server"));
  const std::string path = dir.file("hearth-server.service");
  std::ofstream(path) << unit;
  return path;
}

// What `systemd-analyze verify` says about the unit file itself (lines naming it), with its
// exit code; other units of the host it may mention are not this test's concern.
std::pair<int, std::string> verify(const std::string& unit_path) {
  auto r = run_process(find_systemd_analyze(), {"verify", unit_path});
  std::string about_unit;
  std::stringstream in(r.out + r.err);
  for (std::string line; std::getline(in, line);)
    if (line.find("hearth-server.service") != std::string::npos) about_unit += line + "\n";
  return {r.code, about_unit};
}

}  // namespace

TEST_CASE("Deploy: the systemd unit passes systemd-analyze verify without a warning and a broken copy does not",
          "[unit]") {
  if (!have_systemd_analyze()) return;
  TempDir dir;
  auto [code, said] = verify(unit_copy(dir, read(kUnit)));
  INFO(said);
  CHECK(code == 0);
  CHECK(said.empty());

  // The check sees mistakes: a misspelt key and a value systemd cannot parse are named.
  TempDir broken;
  std::string text = read(kUnit);
  text.replace(text.find("NoNewPrivileges=yes"), 19, "NoNewPrivileges=maybe\nProtectSytem=strict");
  auto [broken_code, broken_said] = verify(unit_copy(broken, text));
  (void)broken_code;  // systemd 252 ignores such lines with a warning and still exits 0
  CHECK_THAT(broken_said, Contains("Failed to parse boolean value, ignoring: maybe") && Contains("ProtectSytem"));
}

TEST_CASE("Deploy: systemd-analyze security rates the unit's exposure at most 2.0 of 10", "[unit]") {
  if (!have_systemd_analyze()) return;
  TempDir dir;
  auto r = run_process(find_systemd_analyze(), {"security", "--offline=true", unit_copy(dir, read(kUnit))});
  std::smatch m;
  const std::string out = r.out + r.err;
  if (out.find("unrecognized option") != std::string::npos) {
    WARN("this systemd-analyze has no --offline: skipping (systemd 250 or later has it)");
    return;
  }
  INFO(out);
  REQUIRE(std::regex_search(out, m, std::regex(R"(Overall exposure level for hearth-server\.service: ([0-9.]+))")));
  CHECK(std::stod(m[1].str()) <= 2.0);
}

TEST_CASE("Deploy: the systemd unit runs behind the shipped nginx as its own user with a state directory and the keys "
          "as credentials",
          "[unit]") {
  auto s = unit_settings(read(kUnit));
  auto one = [&](const std::string& key) {
    INFO(key);
    REQUIRE(s[key].size() == 1);
    return s[key][0];
  };
  CHECK(one("Service.User") == "hearth");
  CHECK(one("Service.Group") == "hearth");
  CHECK(one("Service.NoNewPrivileges") == "yes");
  CHECK(one("Service.ProtectSystem") == "strict");
  CHECK(one("Service.PrivateTmp") == "yes");
  CHECK(one("Service.ProtectHome") == "yes");
  CHECK(one("Service.CapabilityBoundingSet").empty());
  CHECK(one("Service.UMask") == "0077");
  CHECK(one("Service.StateDirectory") == "hearth");
  CHECK(one("Service.StateDirectoryMode") == "0700");
  CHECK(s.count("Service.ReadWritePaths") == 0);  // the state directory is the only writable place

  // ExecStart: the state directory as the data directory, plain HTTP on the address and port
  // nginx's upstream sends to.
  const std::string exec = one("Service.ExecStart");
  CHECK_THAT(exec, Contains("--data /var/lib/" + one("Service.StateDirectory") + " serve --behind-proxy"));
  std::smatch m;
  REQUIRE(std::regex_search(exec, m, std::regex(R"(--host (\S+) --port (\d+))")));
  const std::string backend = m[1].str() + ":" + m[2].str();
  const std::string nginx = read(kSource + "/deploy/nginx/hearth.conf");
  CHECK(std::regex_search(nginx, std::regex(R"(upstream hearth_backend \{\s*server )" + backend + ";")));

  // The credentials are under the names the server looks for in $CREDENTIALS_DIRECTORY.
  std::map<std::string, std::string> credentials;
  for (const auto& v : s["Service.LoadCredential"]) credentials[v.substr(0, v.find(':'))] = v.substr(v.find(':') + 1);
  const char* before = std::getenv("CREDENTIALS_DIRECTORY");
  const std::string saved = before ? before : "";
  setenv("CREDENTIALS_DIRECTORY", "/run/credentials/hearth-server.service", 1);
  const auto kek = hearth::server::keys::locate_kek("/var/lib/hearth", "");
  const auto audit_key = hearth::server::audit::locate_audit_key("/var/lib/hearth", "");
  if (before) setenv("CREDENTIALS_DIRECTORY", saved.c_str(), 1);
  else unsetenv("CREDENTIALS_DIRECTORY");
  for (const auto& wanted : {kek, audit_key}) {
    INFO(wanted.string());
    CHECK(wanted.parent_path() == "/run/credentials/hearth-server.service");
    REQUIRE(credentials.count(wanted.filename().string()) == 1);
    CHECK(credentials[wanted.filename().string()].rfind("/etc/hearth/keys/", 0) == 0);
  }
}

TEST_CASE("Docs: docs/configuration.md lists every key the server reads with its default and README links it",
          "[unit]") {
  namespace config = hearth::server::config;
  const std::string doc = read(kSource + "/docs/configuration.md");
  // Rows of the keys table: | `key` | type | default | meaning |
  std::map<std::string, std::string> rows;
  const std::regex row(R"(^\| `([a-z_]+)` \|(.*)$)", std::regex::multiline);
  for (auto it = std::sregex_iterator(doc.begin(), doc.end(), row); it != std::sregex_iterator(); ++it)
    rows[(*it)[1].str()] = (*it)[2].str();
  std::set<std::string> table;
  for (const auto& k : config::keys()) {
    const std::string name(k.name);
    table.insert(name);
    INFO(name);
    REQUIRE(rows.count(name) == 1);
    CHECK_THAT(rows[name], Contains(std::string(k.default_value)) && Contains(std::string(k.meaning)));
  }
  for (const auto& [name, text] : rows) {
    (void)text;
    INFO(name);
    CHECK(table.count(name) == 1);
  }
  // Every key server_main.cpp reads from the configuration is in the table.
  const std::string main = read(kSource + "/server/src/server_main.cpp");
  const std::regex read_key(R"re((?:config\.value\(|config\.find\(|config\[|seconds_setting\(config, )"([a-z_]+)")re");
  size_t found = 0;
  for (auto it = std::sregex_iterator(main.begin(), main.end(), read_key); it != std::sregex_iterator(); ++it, ++found) {
    INFO((*it)[1].str());
    CHECK(config::find_key((*it)[1].str()) != nullptr);
  }
  CHECK(found >= 15);  // the pattern still finds the reads
  CHECK(config::find_key("office_endpoint") != nullptr);  // read by admin/office_command.cpp
  CHECK_THAT(read(kSource + "/README.md"), Contains("(docs/configuration.md)"));
}
