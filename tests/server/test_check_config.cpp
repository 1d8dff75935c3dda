// `hearth-server check-config`, the checks `serve` runs before it listens, and what `init`
// without --dev tells the administrator to provide (docs/configuration.md). Through the real
// binary: exit codes and what it prints are the interface.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "../support/process.hpp"
#include "../support/temp_dir.hpp"

using namespace hearth::test;
using Catch::Matchers::Contains;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

struct Server {
  TempDir dir;
  std::string data() const { return dir.file("data"); }
  std::string certs(const std::string& f) const { return dir.file("data/certs/" + f); }
  std::string config_file() const { return dir.file("data/hearth-server.json"); }
  ProcessResult run(std::vector<std::string> args) {
    args.insert(args.begin(), {"--data", data()});
    return run_process(build_binary("server/hearth-server"), args);
  }
  // `serve` bounded by timeout(1): a server that wrongly starts is stopped after 20 s (exit 124).
  ProcessResult serve() {
    return run_process("/usr/bin/timeout", {"20", build_binary("server/hearth-server"), "--data", data(), "serve",
                                            "--port", "0", "--port-file", dir.file("port")});
  }
  void configure(const std::function<void(json&)>& edit) {
    json c = json::parse(std::ifstream(config_file()));
    edit(c);
    std::ofstream(config_file()) << c.dump(2);
  }
};

std::string read(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("check-config: a data directory made by init --dev passes with exit code 0", "[unit]") {
  Server s;
  REQUIRE(s.run({"init", "--dev"}).code == 0);
  auto r = s.run({"check-config"});
  INFO(r.out << r.err);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Contains("ok: hearth-server serves TLS itself with " + s.certs("server.crt")) &&
                        Contains("covers DNS:localhost IP:127.0.0.1") && Contains("ok: the key-encryption key (KEK)") &&
                        Contains("configuration OK"));
  CHECK_THAT(r.out, !Contains("PROBLEM"));
  // --config FILE alone, without --data: the keys are looked for beside the file.
  auto alone = run_process(build_binary("server/hearth-server"), {"check-config", "--config", s.config_file()});
  CHECK(alone.code == 0);
  CHECK_THAT(alone.out, Contains("checking " + s.config_file()));
}

TEST_CASE("check-config and serve: a key that does not match the certificate is refused naming the key file",
          "[security]") {
  Server s;
  REQUIRE(s.run({"init", "--dev"}).code == 0);
  fs::copy_file(s.certs("rogue-server.key"), s.certs("server.key"), fs::copy_options::overwrite_existing);
  auto r = s.run({"check-config"});
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Contains("PROBLEM: the private key " + s.certs("server.key") + " (\"key\" in " + s.config_file() +
                             ") does not match the server certificate " + s.certs("server.crt")) &&
                        Contains("1 problem found"));
  // serve refuses before it listens: no "listening" line, the same message, exit code 1.
  auto served = s.serve();
  CHECK(served.code == 1);
  CHECK_THAT(served.err, Contains("refusing to start") && Contains("the private key " + s.certs("server.key")) &&
                             Contains("does not match"));
  CHECK_THAT(served.err, !Contains("listening"));
  CHECK_FALSE(fs::exists(s.dir.file("port")));
}

TEST_CASE("check-config and serve: a certificate that does not cover server_name and an unreadable certificate are "
          "refused naming the file",
          "[security]") {
  Server s;
  REQUIRE(s.run({"init", "--dev"}).code == 0);
  s.configure([](json& c) { c["server_name"] = "hearth.council.example"; });
  auto r = s.run({"check-config"});
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Contains("PROBLEM: the server certificate " + s.certs("server.crt")) &&
                        Contains("does not cover hearth.council.example"));
  auto served = s.serve();
  CHECK(served.code == 1);
  CHECK_THAT(served.err, Contains("does not cover hearth.council.example") && !Contains("listening"));

  s.configure([&](json& c) {
    c.erase("server_name");
    c["cert"] = s.certs("missing.crt");
  });
  auto missing = s.run({"check-config"});
  CHECK(missing.code == 2);
  CHECK_THAT(missing.out, Contains("PROBLEM: cannot read the server certificate " + s.certs("missing.crt")) &&
                              Contains("No such file or directory"));
  CHECK_THAT(s.serve().err, Contains("cannot read the server certificate " + s.certs("missing.crt")));
}

TEST_CASE("check-config: configuration errors are named by key and unknown keys are warned about", "[unit]") {
  Server s;
  REQUIRE(s.run({"init", "--dev"}).code == 0);
  s.configure([](json& c) {
    c["port"] = "abc";
    c["tick_seconds"] = 100000;
    c["behind_prxy"] = true;
  });
  auto r = s.run({"check-config"});
  CHECK(r.code == 2);
  CHECK_THAT(r.out, Contains("PROBLEM: \"port\" in the configuration must be a whole number from 0 to 65535, not \"abc\"") &&
                        Contains("PROBLEM: \"tick_seconds\"") && Contains("warning: unknown key \"behind_prxy\"") &&
                        Contains("2 problems found"));
  s.configure([](json& c) {
    c.erase("port");
    c.erase("tick_seconds");
    c["database"] = "postgres:/hearth@db";
  });
  auto uri = s.run({"check-config"});
  CHECK(uri.code == 2);
  CHECK_THAT(uri.out, Contains("\"database\" looks like a connection string") && !Contains("hearth@db"));
  auto unreadable = run_process(build_binary("server/hearth-server"), {"check-config", "--config", s.dir.file("none.json")});
  CHECK(unreadable.code == 2);
  CHECK_THAT(unreadable.out, Contains("PROBLEM: the configuration: cannot read " + s.dir.file("none.json")));
  auto neither = run_process(build_binary("server/hearth-server"), {"check-config"});
  CHECK(neither.code == 1);
  CHECK_THAT(neither.err, Contains("give --data DIR or --config FILE"));
  auto no_data = run_process(build_binary("server/hearth-server"), {"devices"});
  CHECK(no_data.code == 1);
  CHECK_THAT(no_data.err, Contains("--data is required"));
}

TEST_CASE("check-config --nginx: the shipped nginx configuration's certificate paths are checked against its "
          "server_name",
          "[security]") {
  Server s;
  REQUIRE(s.run({"init", "--dev", "--behind-proxy"}).code == 0);
  std::string conf = read(std::string(HEARTH_SOURCE_DIR) + "/deploy/nginx/hearth.conf");
  auto replace = [&](const std::string& from, const std::string& to) {
    const size_t at = conf.find(from);
    REQUIRE(at != std::string::npos);
    conf.replace(at, from.size(), to);
  };
  // As shipped: the example's name, and certificate files this machine does not have.
  const std::string shipped = s.dir.file("hearth.conf");
  std::ofstream(shipped) << conf;
  auto as_shipped = s.run({"check-config", "--nginx", shipped});
  CHECK(as_shipped.code == 2);
  CHECK_THAT(as_shipped.out, Contains("is still the example's hearth.example.org") &&
                                 Contains("cannot read the server certificate /etc/hearth/tls/server.crt (ssl_certificate in " +
                                          shipped));
  CHECK_THAT(as_shipped.out, Contains("ok: plain HTTP on 127.0.0.1 behind nginx"));

  replace("ssl_certificate     /etc/hearth/tls/server.crt;", "ssl_certificate " + s.certs("server.crt") + ";");
  replace("ssl_certificate_key /etc/hearth/tls/server.key;", "ssl_certificate_key " + s.certs("server.key") + ";");
  const std::string edited = s.dir.file("edited.conf");
  std::ofstream(edited) << conf;
  auto wrong_name = s.run({"check-config", "--nginx", edited});
  CHECK(wrong_name.code == 2);
  CHECK_THAT(wrong_name.out, Contains("PROBLEM: the server certificate " + s.certs("server.crt") + " (ssl_certificate in " +
                                      edited) &&
                                 Contains("does not cover hearth.example.org"));
  // Both server blocks name the host; the TLS one is checked.
  while (conf.find("server_name hearth.example.org;") != std::string::npos)
    replace("server_name hearth.example.org;", "server_name localhost;");
  std::ofstream(edited) << conf;
  auto ok = s.run({"check-config", "--nginx", edited});
  INFO(ok.out);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out, Contains("ok: nginx serves " + s.certs("server.crt")));
}

TEST_CASE("init without --dev names each file to provide and check-config then reports them missing", "[unit]") {
  Server s;
  auto r = s.run({"init"});
  REQUIRE(r.code == 0);
  CHECK_THAT(r.out, Contains(s.certs("server.crt") + "   \"cert\": the server certificate") &&
                        Contains(s.certs("server.key") + "   \"key\": its private key, unencrypted, mode 0600") &&
                        Contains(s.certs("ca.crt") + "       \"ca\": the organisation CA's certificate") &&
                        Contains("hearth-server --data " + s.data() + " check-config"));
  CHECK(fs::is_directory(s.dir.file("data/certs")));
  auto check = s.run({"check-config"});
  CHECK(check.code == 2);
  CHECK_THAT(check.out, Contains("cannot read the server certificate " + s.certs("server.crt")) &&
                            Contains("cannot read the private key " + s.certs("server.key")));
  auto served = s.serve();
  CHECK(served.code == 1);
  CHECK_THAT(served.err, Contains("cannot read the server certificate " + s.certs("server.crt")));

  Server proxied;
  auto p = proxied.run({"init", "--behind-proxy"});
  REQUIRE(p.code == 0);
  CHECK_THAT(p.out, Contains("/etc/hearth/tls/server.crt   ssl_certificate:") &&
                        Contains("/etc/hearth/tls/server.key   ssl_certificate_key:") &&
                        Contains("check-config --nginx /etc/nginx/conf.d/hearth.conf"));
  CHECK(proxied.run({"check-config"}).code == 0);  // hearth-server itself needs no certificate behind nginx
}
