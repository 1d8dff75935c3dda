// hearth-server: the sync service and its administration. `hearth-server --help`.
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "hearth/server/http.hpp"
#include "hearth/core/schema.hpp"
#include "storage/storage.hpp"
#include "sync_service.hpp"

using namespace hearth;
using namespace hearth::server;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

uint64_t now_ms() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}

[[noreturn]] void die(const std::string& message, int code = 1) {
  std::cerr << "hearth-server: " << message << "\n";
  std::exit(code);
}

template <typename T>
T must(Result<T> r) {
  if (!r) die(r.error().message, r.error().code == ErrorCode::not_found ? 3 : 1);
  return std::move(r.value());
}
void must(Result<void> r) {
  if (!r) die(r.error().message, r.error().code == ErrorCode::not_found ? 3 : 1);
}

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) die("cannot read " + p.string());
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

struct DataDir {
  fs::path dir;
  fs::path db() const { return dir / "hearth-server.db"; }
  fs::path config() const { return dir / "hearth-server.json"; }
  json load_config() const {
    if (!fs::exists(config())) die("no data directory at " + dir.string() + " (run `hearth-server init --data DIR`)", 3);
    auto j = json::parse(slurp(config()), nullptr, false);
    if (j.is_discarded()) die(config().string() + " is not valid JSON");
    return j;
  }
  std::unique_ptr<Storage> store() const {
    load_config();
    return must(open_sqlite_storage(db().string()));
  }
};

// Development certificates come from certs/gen-dev-certs.sh in the source tree.
fs::path find_certs_script(const std::string& given) {
  if (!given.empty()) return given;
  fs::path exe = fs::read_symlink("/proc/self/exe");
  for (fs::path p = exe.parent_path(); !p.empty() && p != p.root_path(); p = p.parent_path())
    if (fs::exists(p / "certs" / "gen-dev-certs.sh")) return p / "certs" / "gen-dev-certs.sh";
  die("cannot find certs/gen-dev-certs.sh; pass --certs-script");
}

void log_line(const json& j) { std::cerr << j.dump() << "\n"; }

// The values the v1 schema allows for an enum field (DOMAIN.md §3.1 org_type, §3.2 system_roles).
const std::vector<std::string>& allowed(const std::string& entity, const std::string& field) {
  return Schema::v1().entity(entity)->field(field)->values;
}

// Refuses a value the domain does not define, listing the ones it does.
void require_one_of(const std::string& option, const std::string& value, const std::vector<std::string>& values) {
  if (std::find(values.begin(), values.end(), value) != values.end()) return;
  std::string list;
  for (const auto& v : values) list += (list.empty() ? "" : ", ") + v;
  die(option + " '" + value + "' is not defined; use one of: " + list);
}

}  // namespace

int main(int argc, char** argv) {
  // Signals are blocked before any thread exists, so only sigwait below receives them (P11).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  CLI::App app{"hearth-server: the Early Help sync service (HTTPS) and its administration"};
  app.set_version_flag("--version", std::string("hearth-server ") + HEARTH_VERSION);
  app.require_subcommand(1);
  app.fallthrough();
  DataDir data;
  app.add_option("--data", data.dir, "the data directory")->required();

  bool dev = false, insecure = false, lead = false;
  std::string certs_script, host, port_file, id, name, type, org, role, family, practitioner, device;
  int port = -1;
  auto* init = app.add_subcommand("init", "create a data directory (with --dev: development certificates too)");
  init->add_flag("--dev", dev, "make a development CA and server certificate in DATA/certs");
  init->add_option("--certs-script", certs_script, "path of certs/gen-dev-certs.sh");
  init->add_option("--port", port, "port to listen on (default 8443)");
  auto* serve = app.add_subcommand("serve", "run the sync service until SIGINT or SIGTERM");
  serve->add_option("--host", host, "address to listen on (default from the config: 127.0.0.1)");
  serve->add_option("--port", port, "port (0: any free port; see --port-file)");
  serve->add_option("--port-file", port_file, "write the port actually bound to this file");
  serve->add_flag("--insecure-http", insecure, "serve plain HTTP (local tests only; never in production)");
  std::string schema_name = "v1";
  serve->add_option("--schema", schema_name, "record schema: v1 (Early Help), or peer-benchmark (benchmarks only)");
  auto* add_org = app.add_subcommand("add-org", "add an organisation");
  add_org->add_option("--id", id)->required();
  add_org->add_option("--name", name)->required();
  add_org->add_option("--type", type, "organisation type (DOMAIN.md §3.1), e.g. HEALTH_VISITING, LA_YOUTH_SERVICE")
      ->required();
  auto* add_prac = app.add_subcommand("add-practitioner", "add a practitioner with a role");
  add_prac->add_option("--id", id)->required();
  add_prac->add_option("--org", org)->required();
  add_prac->add_option("--name", name)->required();
  add_prac->add_option("--role", role, "system role (DOMAIN.md §3.2), e.g. PRACTITIONER, TEAM_MANAGER")->required();
  auto* allocate = app.add_subcommand("allocate", "put a practitioner on a family's team");
  auto* deallocate = app.add_subcommand("deallocate", "take a practitioner off a family's team");
  std::string like;
  for (auto* c : {allocate, deallocate}) {
    c->add_option("--practitioner", practitioner)->required();
  }
  allocate->add_option("--family", family, "the family");
  allocate->add_option("--like", like, "every family on this practitioner's team (covering a colleague's caseload)");
  deallocate->add_option("--family", family)->required();
  allocate->add_flag("--lead", lead, "as lead professional");
  auto* code = app.add_subcommand("enrol-code", "issue a one-time device enrolment code");
  code->add_option("--practitioner", practitioner)->required();
  auto* devices = app.add_subcommand("devices", "list enrolled devices");
  auto* revoke = app.add_subcommand("revoke", "revoke a device (it is told to wipe at its next sync)");
  revoke->add_option("--device", device)->required();
  auto* verify = app.add_subcommand("verify-audit", "check the audit trail's hash chain");
  auto* flags = app.add_subcommand("flags", "work flagged for the lead professional (e.g. recorded after leaving a team)");
  flags->add_option("--family", family, "only this family");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }

  if (init->parsed()) {
    fs::create_directories(data.dir);
    fs::permissions(data.dir, fs::perms::owner_all, fs::perm_options::replace);
    if (fs::exists(data.config())) die("a data directory already exists at " + data.dir.string());
    json config = {{"listen", "127.0.0.1"}, {"port", port >= 0 ? port : 8443}, {"tls", true},
                   {"cert", (data.dir / "certs" / "server.crt").string()}, {"key", (data.dir / "certs" / "server.key").string()},
                   {"ca", (data.dir / "certs" / "ca.crt").string()}, {"credential_days", 365}};
    if (dev) {
      std::string cmd = "bash '" + find_certs_script(certs_script).string() + "' '" + (data.dir / "certs").string() + "'";
      if (std::system(cmd.c_str()) != 0) die("making development certificates failed");
    }
    std::ofstream(data.config()) << config.dump(2) << "\n";
    must(open_sqlite_storage(data.db().string()));
    std::cout << "initialised " << data.dir.string() << (dev ? " with development certificates" : "") << "\n";
    return 0;
  }
  if (serve->parsed()) {
    json config = data.load_config();
    HttpServerConfig http;
    http.host = host.empty() ? config.value("listen", "127.0.0.1") : host;
    http.port = static_cast<uint16_t>(port >= 0 ? port : config.value("port", 8443));
    http.tls = !insecure;
    if (http.tls) {
      http.cert_pem = slurp(config.value("cert", ""));
      http.key_pem = slurp(config.value("key", ""));
    }
    init_http_runtime(4);
    if (schema_name != "v1" && schema_name != "peer-benchmark") die("unknown schema '" + schema_name + "'");
    const Schema& schema = schema_name == "v1" ? Schema::v1() : Schema::peer_benchmark();
    auto store = data.store();
    ServiceLimits limits;
    limits.credential_ttl_ms = static_cast<int64_t>(config.value("credential_days", 365.0) * 24 * 3600 * 1000);
    SyncService service(*store, now_ms, schema, limits);
    auto server = must(start_http_server(http, [&](const HttpRequest& r) {
      auto t0 = std::chrono::steady_clock::now();
      HttpResponse resp = service.handle(r);
      log_line({{"ts", now_ms()}, {"method", r.method}, {"path", r.path}, {"status", resp.status},
                {"bytes_in", r.body.size()}, {"bytes_out", resp.body.size()}, {"remote", r.remote},
                {"ms", std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()}});
      return resp;
    }));
    if (!port_file.empty()) {
      std::ofstream(port_file + ".tmp") << server->port() << "\n";
      fs::rename(port_file + ".tmp", port_file);
    }
    log_line({{"ts", now_ms()}, {"event", "listening"}, {"host", http.host}, {"port", server->port()},
              {"tls", http.tls}, {"pid", getpid()}});
    int sig = 0;
    sigwait(&signals, &sig);
    server->stop();
    log_line({{"ts", now_ms()}, {"event", "stopped"}, {"signal", sig}});
    return 0;
  }

  auto store = data.store();
  SyncService service(*store, now_ms);
  auto admin = [&](const std::string& action, const std::string& fam, const std::string& detail) {
    must(store->audit().append(AuditEvent{static_cast<int64_t>(now_ms()), "admin", "", action, fam, detail}));
  };
  Caseload& caseload = store->caseload();
  if (add_org->parsed()) {
    require_one_of("--type", type, allowed("Organisation", "org_type"));
    must(caseload.add_organisation(id, name, type));
    admin("add-org", "", id);
  } else if (add_prac->parsed()) {
    require_one_of("--role", role, allowed("Practitioner", "system_roles"));
    must(caseload.add_practitioner(id, org, name, role));
    admin("add-practitioner", "", id);
  } else if (allocate->parsed()) {
    if (family.empty() == like.empty()) die("give either --family or --like");
    std::vector<std::string> families = like.empty() ? std::vector<std::string>{family} : must(caseload.families_of(like));
    must(store->transaction([&]() -> Result<void> {
      for (const auto& f : families) {
        if (auto r = caseload.allocate(f, practitioner, lead, static_cast<int64_t>(now_ms())); !r) return r;
        admin("allocate", f, practitioner + (lead ? " (lead)" : ""));
      }
      return {};
    }));
  } else if (deallocate->parsed()) {
    must(store->transaction([&]() -> Result<void> {
      if (auto r = caseload.deallocate(family, practitioner, static_cast<int64_t>(now_ms())); !r) return r;
      admin("deallocate", family, practitioner);
      return {};
    }));
  } else if (code->parsed()) {
    std::cout << must(service.issue_enrol_code(practitioner)) << "\n";
  } else if (devices->parsed()) {
    for (const auto& d : must(store->devices().devices()))
      std::cout << d.id << "  " << d.practitioner << "  enrolled " << d.enrolled_at << "  last seen " << d.last_seen
                << "  last pull " << d.last_pull_at << (d.revoked ? "  REVOKED" : "") << "\n";
  } else if (revoke->parsed()) {
    if (!must(store->devices().revoke_device(device))) die("no device '" + device + "'", 3);
    admin("revoke", "", device);
    std::cout << "revoked " << device << "\n";
  } else if (verify->parsed()) {
    std::cout << "audit trail intact: " << must(store->audit().verify()) << " events\n";
  } else if (flags->parsed()) {
    auto list = must(store->flags().list(family.empty() ? std::nullopt : std::optional<std::string>(family)));
    for (const auto& f : list)
      std::cout << f.at << "  " << f.family << "  " << f.kind << "  op " << f.op_id << "  by " << f.practitioner
                << " on " << f.device << "  " << f.detail << "\n";
    if (list.empty()) std::cout << "no flags" << (family.empty() ? "" : " for family " + family) << "\n";
    admin("flags-viewed", family, std::to_string(list.size()) + " flags");
  }
  return 0;
}
