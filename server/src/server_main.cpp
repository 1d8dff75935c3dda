// hearth-server: the sync service and its administration (`hearth-server --help`), as a function
// of the record schemas it may serve (server_main.hpp).
#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "admin/audit_query.hpp"
#include "admin/records_command.hpp"
#include "admin/backup.hpp"
#include "admin/office_command.hpp"
#include "admin/report_command.hpp"
#include "admin/duplicates_command.hpp"
#include "admin/restore.hpp"
#include "admin/sar_command.hpp"
#include "admin/serve_lock.hpp"
#include "admin/step_up_command.hpp"
#include "audit/audit_chain.hpp"
#include "config/check_config.hpp"
#include "keys/kek.hpp"
#include "keys/keyring.hpp"
#include "hearth/server/http.hpp"
#include "hearth/core/civil_time.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/core/text.hpp"
#include "hearth/platform/encoding.hpp"
#include "storage/storage.hpp"
#include "server_main.hpp"
#include "sync_service.hpp"
#include "tls/certificates.hpp"
#include "usecases/consent.hpp"
#include "usecases/device_wipe.hpp"
#include "usecases/due_events.hpp"
#include "usecases/current_records.hpp"
#include "usecases/erasure.hpp"
#include "usecases/task_list.hpp"
#include "usecases/task_triggers.hpp"
#include "usecases/held.hpp"
#include "usecases/office.hpp"
#include "usecases/team.hpp"

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
  // Exported audit checkpoints: the config's "audit_checkpoint_dir", else DATA/audit-checkpoints.
  fs::path checkpoint_dir(const json& config) const {
    std::string configured = config.value("audit_checkpoint_dir", "");
    return configured.empty() ? dir / "audit-checkpoints" : fs::path(configured);
  }
  // The audit key, kept outside the database (docs/audit.md). The server makes one only in
  // DATA/keys/audit.key and only while the database holds no keyed trail: otherwise a missing
  // key is restored from its backup, never silently replaced.
  audit::AuditKey audit_key(const json& config) const {
    fs::path key = audit::locate_audit_key(dir, config.value("audit_key", ""));
    std::error_code ec;
    if (fs::exists(key, ec) || ec || !audit::is_default_key_location(dir, key)) return must(audit::AuditKey::load(key));
    if (on_postgres(config))  // other servers may be chaining under the key already
      die("the audit key " + key.string() + " is missing: every server sharing the PostgreSQL store chains the audit "
          "trail under the same key; copy it from the first server (docs/postgres.md, docs/audit.md \"Keys\")");
    if (must(audit::file_holds_keyed_trail(db().string())))
      die("the audit key " + key.string() + " is missing, but the audit trail in " + db().string() +
          " was chained under it: restore the key from your key backup (docs/audit.md, \"Keys\"). "
          "hearth-server does not run without it: new events could not be chained to the old ones, "
          "nor the trail verified.");
    auto made = must(audit::AuditKey::create_file(key));
    std::cerr << "hearth-server: created the audit key " << key.string()
              << "; keep a copy apart from the database and its backups (docs/audit.md)\n";
    return made;
  }
  // The keyring of per-family data keys and the erasure register: the config's "keyring", else
  // DATA/keyring/keyring.db; kept apart from the database and its backups
  // (docs/server-encryption.md).
  fs::path keyring(const json& config) const {
    std::string configured = config.value("keyring", "");
    return configured.empty() ? dir / "keyring" / "keyring.db" : fs::path(configured);
  }
  fs::path kek(const json& config) const { return keys::locate_kek(dir, config.value("kek", "")); }
  // The keyring, unlocked by the KEK. Encryption at rest is on unless the config says
  // "encrypt_at_rest": false (tests' controls and benchmarks only). Without its KEK the server
  // does not run; it makes one only in DATA/keys/kek.key, and only for a data directory whose
  // keyring does not exist yet (one made before encryption at rest, sealed at this start).
  std::shared_ptr<ServerKeys> keys(const json& config) const {
    if (on_postgres(config)) return postgres_keys(config);
    fs::path ring = keyring(config);
    std::error_code ec;
    const bool fresh = !fs::exists(ring, ec);
    // A sealed database whose keyring is gone: a keyring made now would hold none of its keys.
    if (fresh && must(database_sealed()))
      die("the keyring " + ring.string() + " is missing, but the database " + db().string() +
          " is encrypted at rest under its keys: put the keyring back from its backup (or name it in the config's "
          "\"keyring\"); hearth-server does not make a new one over sealed data (docs/server-encryption.md)");
    if (!fs::exists(ring.parent_path(), ec)) {
      fs::create_directories(ring.parent_path(), ec);
      fs::permissions(ring.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
    }
    if (!config.value("encrypt_at_rest", true)) {
      std::cerr << "hearth-server: WARNING: encryption at rest is off (\"encrypt_at_rest\": false in "
                << this->config().string() << "); personal data is stored in clear\n";
      return must(SqlKeyring::open(ring.string(), nullptr));
    }
    fs::path key = kek(config);
    if (!fs::exists(key, ec) && fresh && key.lexically_normal() == (dir / "keys" / "kek.key").lexically_normal()) {
      must(keys::FileKek::create(key));
      std::cerr << "hearth-server: created the key-encryption key " << key.string()
                << "; keep a copy apart from the data, its backups and the keyring (docs/server-encryption.md)\n";
    }
    if (!fs::exists(key, ec))
      die("the key-encryption key (KEK) " + key.string() + " is missing" +
          (fresh ? std::string(": make one with `hearth-server kek create --out FILE` and name it in the config's "
                               "\"kek\"")
                 : ": the keyring " + ring.string() + " was made with it; restore the KEK from your key "
                   "backup (docs/server-encryption.md). hearth-server does not run without it") ,
          1);
    return must(SqlKeyring::open(ring.string(), must(keys::FileKek::load(key))));
  }
  // The store: the config's "database" when it names PostgreSQL (a postgresql:// URI; several
  // servers may share it), else the SQLite file in the data directory.
  std::string database(const json& config) const {
    std::string configured = config.value("database", "");
    if (!configured.empty()) refuse_mistyped_uri("database", configured);
    return configured.empty() ? db().string() : configured;
  }
  // A value meant as a connection string but mistyped would otherwise be taken for a SQLite
  // file of that name (a server with an empty store of its own, its name holding a password):
  // refused, without echoing it.
  static void refuse_mistyped_uri(const char* key, const std::string& value) {
    if (sql::is_postgres_uri(value)) return;
    const bool looks_like_uri = value.find("://") != std::string::npos || value.rfind("postgres", 0) == 0;
    if (looks_like_uri)
      die(std::string("the config's \"") + key + "\" looks like a connection string but is not a PostgreSQL one: "
          "write postgresql://USER@HOST:PORT/DATABASE (a password belongs in ~/.pgpass, not in the config), or a "
          "file path for SQLite (docs/postgres.md)");
  }
  bool on_postgres(const json& config) const { return sql::is_postgres_uri(database(config)); }
  // Where the keyring is: its file, or on PostgreSQL the database holding it.
  std::string keyring_location(const json& config) const {
    if (!on_postgres(config)) return keyring(config).string();
    std::string ring = config.value("keyring", "");
    if (!ring.empty()) refuse_mistyped_uri("keyring", ring);
    return ring.empty() ? database(config) : ring;
  }
  // On PostgreSQL the keyring is in the database the config's "keyring" names (a URI; keep it
  // apart from the data's backups), else in the store's own database; the KEK is a file on each
  // server, the same on all of them (docs/server-encryption.md, docs/postgres.md).
  std::shared_ptr<ServerKeys> postgres_keys(const json& config) const {
    const std::string ring = keyring_location(config);
    if (!config.value("encrypt_at_rest", true)) {
      std::cerr << "hearth-server: WARNING: encryption at rest is off (\"encrypt_at_rest\": false in "
                << this->config().string() << "); personal data is stored in clear\n";
      return must(SqlKeyring::open(ring, nullptr));
    }
    fs::path key = kek(config);
    std::error_code ec;
    if (!fs::exists(key, ec))
      die("the key-encryption key (KEK) " + key.string() + " is missing: every server sharing the PostgreSQL store "
          "needs the same KEK; make it once with `hearth-server kek create --out FILE`, copy it to each server and "
          "name it in the config's \"kek\" (docs/server-encryption.md)",
          1);
    return must(SqlKeyring::open(ring, must(keys::FileKek::load(key))));
  }
  // Whether the database exists and is encrypted at rest (read without opening it as storage).
  Result<bool> database_sealed() const {
    std::error_code ec;
    if (!fs::exists(db(), ec)) return false;
    auto opened = sql::open_sqlite(db().string());
    if (!opened) return opened.error();
    auto st = (*opened)->prepare("SELECT value FROM meta WHERE key = 'at_rest'");
    if (!st) return false;  // no meta table: not a database hearth-server sealed
    auto row = st->step();
    if (!row) return row.error();
    return *row && st->text(0) == "sealed";
  }
  // The KEK inside the data directory travels with every copy of it (the demo's development KEK).
  bool kek_inside(const json& config) const {
    auto k = fs::weakly_canonical(kek(config)).string(), d = fs::weakly_canonical(dir).string() + "/";
    return k.rfind(d, 0) == 0;
  }
  std::unique_ptr<Storage> store() const {
    json config = load_config();
    auto opened = must(open_storage(database(config), audit_key(config), keys(config)));
    if (!on_postgres(config)) restrict_files();
    // An erasure interrupted between its key and its rows is finished here.
    for (const auto& f : must(apply_erasure_register(*opened, static_cast<int64_t>(now_ms()))))
      std::cerr << "hearth-server: deleted the rows of family " << f << ", erased earlier (erasure register)\n";
    return opened;
  }
  // The database, its WAL and shared memory readable by the service user alone (a data
  // directory made before this rule had them 0644).
  void restrict_files() const {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      fs::path f = db().string() + suffix;
      if (fs::exists(f, ec)) fs::permissions(f, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace, ec);
    }
  }
};

// What `init` without --dev leaves to the administrator: the files that TLS needs before
// `serve` can start, where each goes and what it is (docs/configuration.md, "TLS files").
void print_files_to_provide(std::ostream& out, const DataDir& data, const fs::path& certs, bool behind_proxy) {
  const std::string check = "hearth-server --data " + data.dir.string() + " check-config";
  if (behind_proxy) {
    out << "nginx terminates TLS in front of this server. Before starting it, give nginx these files (PEM), where "
           "deploy/nginx/hearth.conf names them:\n"
        << "  /etc/hearth/tls/server.crt   ssl_certificate: the server certificate for the name tablets connect to "
           "(nginx's server_name), issued by the organisation CA, followed by any intermediate certificates\n"
        << "  /etc/hearth/tls/server.key   ssl_certificate_key: its private key, unencrypted, mode 0600, owned by root\n"
        << "Tablets are given the organisation CA's certificate at enrolment. Then check: " << check
        << " --nginx /etc/nginx/conf.d/hearth.conf\n";
    return;
  }
  std::error_code ec;
  fs::create_directories(certs, ec);
  fs::permissions(certs, fs::perms::owner_all, fs::perm_options::replace, ec);
  out << "Before `serve`, put these files (PEM) in place; " << data.config().string() << " names them:\n"
      << "  " << (certs / "server.crt").string() << "   \"cert\": the server certificate for the name tablets "
         "connect to (the \"listen\" address, or \"server_name\"), issued by the organisation CA, followed by any "
         "intermediate certificates\n"
      << "  " << (certs / "server.key").string() << "   \"key\": its private key, unencrypted, mode 0600, readable by "
         "the service user alone\n"
      << "  " << (certs / "ca.crt").string() << "       \"ca\": the organisation CA's certificate, which tablets are "
         "given at enrolment\n"
      << "Then check them: " << check << "\n"
      << "(For development only, `init --dev` makes all three, for 127.0.0.1 and localhost.)\n";
}

// This machine's name, for the audit event that opens a server's own chain ("" if unknown).
std::string host_name() {
  char name[256] = {};
  if (gethostname(name, sizeof name - 1) != 0) return "";
  return name;
}

// Bytes that are not UTF-8 (a request path, say) are replaced, never thrown on.
void log_line(const json& j) { std::cerr << j.dump(-1, ' ', false, json::error_handler_t::replace) << "\n"; }

// `verify-audit`: prints what it checked and everything it found. Exit 0 only when nothing
// was found wrong; 2 when something was (and then no line says the trail is intact); 1 when
// verification could not run.
int verify_audit_command(audit::AuditTrail& trail, std::vector<std::string> files, const fs::path& checkpoint_dir) {
  if (files.empty())
    if (auto newest = audit::newest_checkpoint_file(checkpoint_dir)) files.push_back(newest->string());
  std::vector<audit::Checkpoint> exported;
  for (const auto& f : files) exported.push_back(must(audit::read_checkpoint_file(f)));
  auto report = must(trail.verify(exported));
  for (const auto& f : report.findings) std::cout << "FOUND (" << audit::to_string(f.kind) << "): " << f.message << "\n";
  // Every chain of events outside any family (one a serving connection where servers share
  // PostgreSQL), so each server's part of the trail is seen checked.
  for (const auto& c : report.server_chains)
    std::cout << "chain " << c.chain << ": " << c.events << (c.events == 1 ? " event" : " events")
              << (c.registered ? " (registered by server event " + std::to_string(c.registered) + ")" : std::string())
              << "\n";
  std::string checked = std::to_string(report.events) + " events in " + std::to_string(report.chains) +
                        " chains, their heads and " + std::to_string(report.checkpoints) + " signed in-database checkpoint" +
                        (report.checkpoints == 1 ? "" : "s");
  std::string against;
  for (size_t i = 0; i < files.size(); ++i)
    against += (i ? ", " : "") + std::string("checkpoint ") + std::to_string(exported[i].number) + " (" + files[i] + ")";
  if (!report.clean()) {
    std::cout << "audit verification FAILED: " << report.findings.size() << " problem"
              << (report.findings.size() == 1 ? "" : "s") << " found; checked " << checked
              << (against.empty() ? "" : " and exported " + against) << "\n";
    return 2;
  }
  std::cout << "audit trail intact: " << checked << " agree"
            << (against.empty() ? "; no exported checkpoint was checked, so a tail deleted together with the "
                                  "in-database checkpoints could not be seen (give --checkpoint FILE)"
                                : "; checked against exported " + against)
            << "\n";
  return 0;
}

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


// Checks what an administrator types where it enters (the tablet checks the same ids, core/text.hpp):
// an id the tablets could never use, or a name that is not text, is refused with the reason.
void require_id(const std::string& option, const std::string& value) {
  if (auto ok = check_id(option, value); !ok) die(ok.error().message);
}
void require_name(const std::string& option, const std::string& value) {
  if (value.empty() || value.size() > 200) die(option + " must be 1 to 200 bytes");
  if (auto ok = check_utf8(option, value); !ok) die(ok.error().message);
}

// The port from the command line (-1: not given) or the config's "port".
uint16_t listen_port(int given, const json& config) {
  if (given >= 0) return static_cast<uint16_t>(given);
  auto it = config.find("port");
  if (it == config.end()) return 8443;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 65535)
    die("\"port\" in the configuration must be a number from 0 to 65535, not " + it->dump());
  return static_cast<uint16_t>(it->get<int64_t>());
}

// A period in seconds from the configuration: an integer from 0 (never) to a day.
int64_t seconds_setting(const json& config, const char* key, int64_t fallback) {
  auto it = config.find(key);
  if (it == config.end()) return fallback;
  if (!it->is_number_integer() || it->get<int64_t>() < 0 || it->get<int64_t>() > 86400)
    die(std::string("\"") + key + "\" in the configuration must be a number of seconds from 0 to 86400, not " + it->dump());
  return it->get<int64_t>();
}

// Families the serve ticker looks at per hold of the service lock (each one a transaction).
constexpr size_t kTickFamiliesPerRun = 20;

// A database from before the server kept its current records gets them built once from its
// op log (usecases/current_records.hpp), before anything reads or writes them.
void build_records(Storage& store, const Schema& schema) {
  auto n = must(build_current_records(store, schema, static_cast<int64_t>(now_ms())));
  if (n > 0) std::cerr << "hearth-server: built the current records of " << n << " families from the op log\n";
}

int run(int argc, char** argv, const SchemaChoices& schemas) {
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
  // Required by every command but `check-config --config FILE` (checked after parsing).
  app.add_option("--data", data.dir, "the data directory");

  bool dev = false, insecure = false, lead = false, behind_proxy = false;
  std::string host, port_file, id, name, type, org, role, family, practitioner, device;
  int port = -1;
  auto* init = app.add_subcommand("init", "create a data directory (with --dev: development certificates too)");
  init->add_flag("--dev", dev, "make a development CA and server certificate in DATA/certs");
  init->add_option("--port", port, "port to listen on (default 8443; 8080 with --behind-proxy)")->check(CLI::Range(0, 65535));
  init->add_flag("--behind-proxy", behind_proxy,
                 "production behind nginx: plain HTTP on 127.0.0.1 (docs/deployment.md)");
  auto* check_cmd = app.add_subcommand("check-config", "check the configuration, and the certificate and key the server "
                                                      "(or nginx) serves TLS with, without starting (docs/configuration.md)");
  std::string check_config_file, check_nginx;
  check_cmd->add_option("--config", check_config_file, "the configuration to check (default DATA/hearth-server.json)");
  check_cmd->add_option("--nginx", check_nginx, "also check the certificate and key this nginx configuration names, "
                                                "e.g. /etc/nginx/conf.d/hearth.conf");
  auto* serve = app.add_subcommand("serve", "run the sync service until SIGINT or SIGTERM");
  serve->add_option("--host", host, "address to listen on (default from the config: 127.0.0.1)");
  serve->add_option("--port", port, "port (0: any free port; see --port-file)")->check(CLI::Range(0, 65535));
  serve->add_option("--port-file", port_file, "write the port actually bound to this file");
  serve->add_flag("--insecure-http", insecure, "serve plain HTTP on loopback (local tests only)");
  serve->add_flag("--behind-proxy", behind_proxy,
                  "plain HTTP on a loopback address behind nginx, which terminates TLS; X-Forwarded-For from "
                  "loopback names the client (also \"behind_proxy\": true in the config)");
  std::string schema_name = "v1";
  std::string schema_names;
  for (const auto& [n, s] : schemas) schema_names += (schema_names.empty() ? "" : ", ") + n;
  // Before or after the command: serving and administering a data directory read its records
  // with the same schema.
  app.add_option("--schema", schema_name, "record schema: one of " + schema_names + " (default v1)");
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
  std::string scope, author = kOfficeAuthor;
  allocate->add_option("--scope", scope, "access scope: FULL_EPISODE (default for a new member), PLAN_AND_OWN_ACTIONS, NONE");
  for (auto* c : {allocate, deallocate})
    c->add_option("--by", author, "who makes the change: a practitioner id, or office (default)");
  auto* consent = app.add_subcommand("consent", "a family's consent records: list them, record a withdrawal");
  consent->require_subcommand(1);
  auto* consent_list = consent->add_subcommand("list", "print the family's consent records");
  consent_list->add_option("--family", family)->required();
  auto* withdraw = consent->add_subcommand("withdraw", "record a withdrawal of consent taken at the office (DOMAIN.md §6.6)");
  std::string consent_id, withdrawn_by, recorded_by, channel, withdrawal_reason;
  std::vector<std::string> recipients, purposes;
  bool full = false;
  withdraw->add_option("--family", family)->required();
  withdraw->add_option("--consent", consent_id, "the ConsentRecord's id (see `consent list`)")->required();
  auto* by_recipient = withdraw->add_option("--recipients", recipients, "organisations it is withdrawn for (ORG,ORG)")
                           ->delimiter(',');
  auto* by_purpose = withdraw->add_option("--purposes", purposes, "purposes it is withdrawn for (P,P)")->delimiter(',');
  auto* in_full = withdraw->add_flag("--full", full, "withdrawn in full");
  by_recipient->excludes(by_purpose)->excludes(in_full);
  by_purpose->excludes(in_full);
  withdraw->add_option("--withdrawn-by", withdrawn_by, "the person of the family who withdrew it")->required();
  withdraw->add_option("--recorded-by", recorded_by, "the practitioner who took the withdrawal")->required();
  withdraw->add_option("--channel", channel, "IN_PERSON, PHONE, WRITTEN or FORM")->required();
  withdraw->add_option("--reason", withdrawal_reason, "why, in the person's words (optional)");
  withdraw->add_option("--by", author, "who enters it: a practitioner id, or office (default)");
  auto* code = app.add_subcommand("enrol-code", "issue a one-time device enrolment code");
  code->add_option("--practitioner", practitioner)->required();
  // For load generators (tests/bench/loadgen): thousands of practitioners and codes in one process.
  auto* bulk = app.add_subcommand("bulk-enrol", "benchmarks: add organisation PREFIX-org and practitioners PREFIX-p1.."
                                                "PREFIX-pN where missing; print one \"practitioner code\" line per device");
  int bulk_practitioners = 0, bulk_devices = 1;
  std::string bulk_prefix;
  bulk->add_option("--prefix", bulk_prefix, "id prefix")->required();
  bulk->add_option("--practitioners", bulk_practitioners)->required()->check(CLI::Range(1, 100000));
  bulk->add_option("--devices-per-practitioner", bulk_devices, "default 1")->check(CLI::Range(1, 100));
  auto* devices = app.add_subcommand("devices", "list enrolled devices, their wipes and key leases (N5)");
  auto* revoke = app.add_subcommand("revoke", "revoke a device (it is told to wipe at its next sync)");
  revoke->add_option("--device", device)->required();
  // Remote wipe as an acknowledged command (N5, usecases/device_wipe.hpp).
  bool discard_unsynced = false;
  auto* wipe = app.add_subcommand("wipe", "wipe a device at its next contact: it pushes its unsynced work, wipes, acknowledges");
  wipe->add_option("--device", device)->required();
  wipe->add_flag("--discard-unsynced", discard_unsynced, "wipe even if its unsynced work cannot be pushed first");
  auto* verify = app.add_subcommand("verify-audit", "check every audit chain, its head and the signed checkpoints");
  std::vector<std::string> checkpoint_files;
  verify->add_option("--checkpoint", checkpoint_files,
                     "an exported checkpoint to check against (repeatable; default: the newest one in the "
                     "checkpoint folder, DATA/audit-checkpoints)");
  auto* checkpoint = app.add_subcommand("audit-checkpoint", "sign a checkpoint of every audit chain and export it");
  std::string checkpoint_out;
  checkpoint->add_option("--out", checkpoint_out, "also write it to this file (keep a copy off this machine)");
  auto* audit_cmd = app.add_subcommand("audit", "who saw or changed records: one family's audit, one practitioner's, "
                                               "or a window of time (docs/audit.md, \"The IG query\")");
  AuditQueryArgs audit_args;
  audit_cmd->add_option("--family", audit_args.family, "only this family's chain");
  audit_cmd->add_option("--practitioner", audit_args.practitioner, "only this practitioner's events, in every family");
  audit_cmd->add_option("--from", audit_args.from, "from this UTC date or time (YYYY-MM-DD[THH:MM:SSZ])");
  audit_cmd->add_option("--to", audit_args.to, "to this UTC date or time (a date: to the end of that day)");
  auto* records_cmd = app.add_subcommand("records", "the server's current records as JSON lines, in revision order "
                                                   "(audited; storage/records.hpp)");
  RecordsArgs records_args;
  records_cmd->add_option("--family", records_args.query.family, "only this family's records");
  records_cmd->add_option("--type", records_args.query.type, "only records of this type (e.g. Contact)");
  records_cmd->add_option("--person", records_args.query.person, "only records about this person");
  records_cmd->add_flag("--family-wide", records_args.query.family_wide,
                        "with --person: also what is about the person's whole family");
  records_cmd->add_option("--from", records_args.query.from, "business date from (YYYY-MM-DD[THH:MM:SSZ], inclusive)");
  records_cmd->add_option("--to", records_args.query.to, "business date to (exclusive)");
  records_cmd->add_flag("--deleted", records_args.query.include_deleted, "include deleted records");
  records_cmd->add_option("--limit", records_args.query.limit, "at most this many");
  records_cmd->add_option("--by", records_args.by, "who reads them (for the audit)")->required();
  auto* flags = app.add_subcommand("flags", "work flagged for the lead professional (e.g. recorded after leaving a team)");
  flags->add_option("--family", family, "only this family");
  auto* tasks = app.add_subcommand("tasks", "tasks routed to named people: due time (UTC), status, type, assignee");
  std::string assignee;
  bool overdue = false;
  tasks->add_option("--family", family, "only this family");
  tasks->add_option("--assignee", assignee, "only tasks for this practitioner (or escalated to them)");
  tasks->add_flag("--overdue", overdue, "only open tasks past their due time");
  StepUpCommand step_up_cmd;  // `step-up decide` (admin/step_up_command.hpp)
  add_step_up_command(app, step_up_cmd);
  auto* config_cmd = app.add_subcommand("config", "the tenant configuration: show it, or set one key (audited)");
  auto* config_show = config_cmd->add_subcommand("show", "every setting with its value, unit and meaning");
  auto* config_set = config_cmd->add_subcommand("set", "set one setting (delivered to tablets at their next sync)");
  std::string config_key, config_value;
  config_set->add_option("key", config_key, "the setting, e.g. lock_after_days")->required();
  config_set->add_option("value", config_value, "its new value")->required();
  config_cmd->require_subcommand(1);
  auto* tick = app.add_subcommand("tick", "run the time-driven events now (consent expiry, break-glass expiry, tasks falling "
                                          "due and overdue); `serve` runs them every --tick-seconds");
  std::string as_of;
  tick->add_option("--as-of", as_of,
                   "decide as of this UTC time (YYYY-MM-DDTHH:MM:SSZ) instead of now: for tests and drills; "
                   "the ops written are stamped with the real time");
  int64_t tick_seconds = -1;
  serve->add_option("--tick-seconds", tick_seconds,
                    "run the time-driven events this often (default from the config's \"tick_seconds\", else 60; "
                    "0: never)")
      ->check(CLI::Range(int64_t{0}, int64_t{86400}));
  auto* held = app.add_subcommand("held", "ops held for a decision (beyond their author's rights): list, apply, dismiss");
  held->require_subcommand(1);
  auto* held_list = held->add_subcommand("list", "every held op: who, when, for whom, why, and what it would do");
  held_list->add_option("--family", family, "only this family");
  auto* held_apply = held->add_subcommand("apply", "write a held op's edits as the decider (who must be entitled to)");
  auto* held_dismiss = held->add_subcommand("dismiss", "dismiss a held op (it is kept, marked dismissed)");
  std::string held_op, held_by, held_text;
  for (auto* c : {held_apply, held_dismiss}) {
    c->add_option("--op", held_op, "the held op's id, device:counter (see `held list`)")->required();
    c->add_option("--by", held_by, "the practitioner who decides")->required();
  }
  held_apply->add_option("--note", held_text, "a note kept with the decision");
  held_dismiss->add_option("--reason", held_text, "why it is dismissed (shown to its author)")->required();
  auto* office = app.add_subcommand("office-credential", "credentials for office systems calling /v1/office/...");
  office->require_subcommand(1);
  auto* office_issue = office->add_subcommand("issue", "issue a credential; its token is printed once");
  auto* office_list = office->add_subcommand("list", "every office credential and whether it is revoked");
  auto* office_revoke = office->add_subcommand("revoke", "revoke a credential");
  auto office_cli = add_office_cli(app);  // `office status|retry|disclosures|map` (admin/office_command.hpp)
  for (auto* c : {office_issue, office_revoke}) c->add_option("--name", name, "the credential's name, e.g. case-system")->required();

  auto* kek_cmd = app.add_subcommand("kek", "the key-encryption key (KEK) that wraps every family's data key");
  kek_cmd->require_subcommand(1);
  auto* kek_create = kek_cmd->add_subcommand("create", "make a new random KEK file (mode 0600)");
  auto* kek_rotate = kek_cmd->add_subcommand("rotate", "re-wrap every family key under a new KEK (no data is re-encrypted) "
                                                       "and name it in the config's \"kek\"");
  auto* kek_status = kek_cmd->add_subcommand("status", "where the KEK and keyring are, and how many keys it holds");
  auto* keyring_backup = kek_cmd->add_subcommand("backup-keyring", "copy the keyring (wrapped keys, erasure register, "
                                                                   "legal holds) to a new file: after every erasure");
  std::string kek_file;
  kek_create->add_option("--out", kek_file, "the new KEK file")->required();
  kek_rotate->add_option("--new", kek_file, "the new KEK file (made with `kek create`)")->required();
  keyring_backup->add_option("DEST", kek_file, "the file to write (must not exist)")->required();
  auto* erase = app.add_subcommand("erase-family", "erase a family by destroying its key, then its rows (DOMAIN.md §10.3); "
                                                   "every device holding it is told to purge it");
  std::string basis, reference;
  erase->add_option("--family", family)->required();
  erase->add_option("--basis", basis, "OPENED_IN_ERROR, APPROVED_ERASURE or RETENTION_EXPIRED")->required();
  erase->add_option("--reference", reference, "the approval's reference (kept readable: no personal data)")->required();
  erase->add_option("--by", author, "the IG officer (a practitioner id), or admin")->required();
  auto* erasures = app.add_subcommand("erasures", "the erasure register: every family erased, when, by whom and why");
  auto* hold = app.add_subcommand("legal-hold", "legal holds, which block erasure (DOMAIN.md §10.1)");
  hold->require_subcommand(1);
  auto* hold_place = hold->add_subcommand("place", "place a legal hold on a family");
  auto* hold_lift = hold->add_subcommand("lift", "lift a family's legal hold");
  auto* hold_list = hold->add_subcommand("list", "every legal hold");
  std::string hold_reason;
  for (auto* c : {hold_place, hold_lift}) {
    c->add_option("--family", family)->required();
    c->add_option("--by", author, "the IG officer (a practitioner id), or admin")->required();
  }
  hold_place->add_option("--reason", hold_reason, "the notice's reference (kept readable: no personal data)")->required();
  auto* retention = app.add_subcommand("retention", "families whose retention ended (DOMAIN.md §10.1), due for erasure");
  retention->add_option("--as-of", as_of, "as of this UTC time instead of now (YYYY-MM-DDTHH:MM:SSZ)");
  // Backup and restore (admin/backup.hpp, admin/restore.hpp; docs/deployment.md).
  auto* backup = app.add_subcommand("backup", "copy the database while the server runs (no keys: back those up apart)");
  auto* restore = app.add_subcommand("restore", "bring a backup back (with the server stopped); the current database is kept aside");
  // The KPI report (DOMAIN.md §12; admin/report_command.hpp, docs/report.md).
  ReportArgs report_args;
  auto* report_cmd = app.add_subcommand("report", "the KPI report of a period (DOMAIN.md §12): a table, csv, json or an "
                                                  "HTML page with charts; small numbers suppressed (docs/report.md)");
  report_cmd->add_option("--period", report_args.period, "a quarter, e.g. 2026-Q3 = [2026-07-01, 2026-10-01); current; previous");
  report_cmd->add_option("--from", report_args.from, "start of an explicit period, YYYY-MM-DD (included)");
  report_cmd->add_option("--to", report_args.to, "end of an explicit period, YYYY-MM-DD (excluded)");
  report_cmd->add_option("--format", report_args.format, "text (default), csv, json or html");
  report_cmd->add_option("--out", report_args.out, "write the report to FILE instead of standard output");
  report_cmd->add_option("--html", report_args.html, "also write the HTML page to FILE and print its path");
  report_cmd->add_option("--lsoa-table", report_args.lsoa_table,
                         "the council's postcode-to-LSOA CSV (else the config's \"lsoa_table\")");
  report_cmd->add_flag("--no-suppress", report_args.no_suppress,
                       "exact small numbers (1-4), for use inside the local authority only (audited)");
  report_cmd->add_option("--trend-periods", report_args.trend_periods, "periods in the trends, this one included (1-20)");
  DuplicateCommands duplicate_cmds;  // `duplicates`, `merge-person` (admin/duplicates_command.hpp)
  add_duplicate_commands(app, duplicate_cmds);
  std::string backup_file;
  backup->add_option("DEST", backup_file, "the file to write (must not exist)")->required();
  restore->add_option("SRC", backup_file, "a file `hearth-server backup` wrote")->required();

  // Subject access (admin/sar_command.hpp, docs/subject-access.md).
  SarArgs sar_args;
  auto* sar_cmd = app.add_subcommand("sar", "everything held about a person for a subject access request, redacted, as "
                                            "JSON and HTML (DOMAIN.md §10.2, docs/subject-access.md)");
  sar_cmd->add_option("--person", sar_args.person, "the data subject (a Person record id)")->required();
  sar_cmd->add_option("--requester-type", sar_args.requester_type, "SELF (default), PARENT or REPRESENTATIVE");
  sar_cmd->add_option("--received", sar_args.received, "the date the request was received, YYYY-MM-DD (default: today, UTC)");
  sar_cmd->add_option("--out", sar_args.out_dir, "the directory for the two files (default: the current one)");
  sar_cmd->add_option("--by", sar_args.by, "the IG officer (a practitioner id), or admin (default)");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e) == 0 ? 0 : 1;
  }

  if (check_cmd->parsed()) {  // config/check_config.hpp
    fs::path file = check_config_file.empty() ? data.config() : fs::path(check_config_file);
    if (check_config_file.empty() && data.dir.empty()) die("give --data DIR or --config FILE");
    return config::check_config({file, data.dir.empty() ? file.parent_path() : data.dir, check_nginx,
                                 static_cast<int64_t>(now_ms() / 1000)},
                                std::cout);
  }
  if (data.dir.empty()) die("--data is required: the data directory (`hearth-server --data DIR COMMAND`)");
  if (init->parsed()) {
    fs::create_directories(data.dir);
    fs::permissions(data.dir, fs::perms::owner_all, fs::perm_options::replace);
    if (fs::exists(data.config())) die("a data directory already exists at " + data.dir.string());
    // Absolute paths: the server may be started from another working directory.
    const fs::path certs = fs::absolute(data.dir) / "certs";
    json config = {{"listen", "127.0.0.1"}, {"port", port >= 0 ? port : (behind_proxy ? 8080 : 8443)},
                   {"tls", !behind_proxy}, {"behind_proxy", behind_proxy},
                   {"cert", (certs / "server.crt").string()}, {"key", (certs / "server.key").string()},
                   {"ca", (certs / "ca.crt").string()}, {"credential_days", 365}};
    if (dev) must(tls::make_dev_certificates(certs, static_cast<int64_t>(now_ms() / 1000)));  // tls/certificates.hpp
    config["audit_checkpoint_seconds"] = 3600;
    std::ofstream(data.config()) << config.dump(2) << "\n";
    must(open_storage(data.database(config), data.audit_key(config), data.keys(config)));  // made with its history epoch (docs/protocol.md "History")
    std::cout << "initialised " << data.dir.string() << (dev ? " with development certificates" : "") << "\n";
    if (!dev) print_files_to_provide(std::cout, data, certs, behind_proxy);
    return 0;
  }
  if (kek_create->parsed()) {
    must(keys::FileKek::create(kek_file));
    std::cout << "created the KEK " << kek_file << " (mode 0600); keep a copy apart from the data, its backups and the "
              << "keyring\n";
    return 0;
  }
  if (kek_rotate->parsed() || kek_status->parsed() || keyring_backup->parsed()) {
    json config = data.load_config();
    auto ring = must(SqlKeyring::open(data.keyring_location(config), must(keys::FileKek::load(data.kek(config)))));
    if (keyring_backup->parsed()) {
      must(ring->back_up(kek_file));
      ring.reset();
      auto after = data.store();
      must(after->audit().append(AuditEvent{static_cast<int64_t>(now_ms()), "admin", "", "keyring-backup", "", kek_file}));
      std::cout << "keyring copied to " << kek_file << " (mode 0600): wrapped keys, the erasure register and legal holds; "
                << "keep it apart from the KEK and from data backups, and replace it after every erasure\n";
      return 0;
    }
    if (kek_status->parsed()) {
      std::cout << "encryption at rest: " << (config.value("encrypt_at_rest", true) ? "on" : "OFF") << "\n"
                << "KEK:     " << data.kek(config).string() << "\n"
                << "keyring: " << (data.on_postgres(config) ? std::string("in PostgreSQL (the config's \"keyring\" or \"database\")") : data.keyring(config).string()) << " (" << must(ring->key_count())
                << " data keys: one per family and one for staff names; " << must(ring->erasures()).size()
                << " erasures)\n";
      if (data.kek_inside(config))
        std::cout << "WARNING: the KEK is inside the data directory, so every copy of the directory carries it: "
                     "fine for development, not for real records (docs/server-encryption.md, \"Key ceremony\")\n";
      return 0;
    }
    // Not while serving: the running server would go on wrapping new families' keys under the
    // old KEK, lost with it.
    auto serve_lock = must(admin::ServeLock::take(data.dir, "kek rotate"));
    fs::path next = fs::absolute(kek_file);
    auto next_kek = must(keys::FileKek::load(next));
    if (fs::weakly_canonical(next) == fs::weakly_canonical(data.kek(config)))
      die("--new " + next.string() + " is the KEK in use; make a new one with `hearth-server kek create --out FILE`");
    size_t n = must(ring->rotate(std::move(next_kek)));
    config["kek"] = next.string();
    {
      std::ofstream out(data.config().string() + ".tmp");
      out << config.dump(2) << "\n";
      out.flush();
      if (!out)
        die("the keys were re-wrapped under " + next.string() + ", but writing the config failed: set \"kek\": \"" +
            next.string() + "\" in " + data.config().string() + " yourself; keep the old KEK until hearth-server starts");
    }
    fs::rename(data.config().string() + ".tmp", data.config());
    ring.reset();
    auto after = data.store();  // opens with the new KEK, as serve will
    must(after->audit().append(AuditEvent{static_cast<int64_t>(now_ms()), "admin", "", "kek-rotate", "",
                                          std::to_string(n) + " family keys re-wrapped under " + next.string()}));
    std::cout << "re-wrapped " << n << " family keys under " << next.string() << "; the config's \"kek\" now names it. "
              << "Restart hearth-server, then destroy every copy of the old KEK (docs/server-encryption.md)\n";
    return 0;
  }
  if ((restore->parsed() || backup->parsed()) && data.on_postgres(data.load_config()))
    die("this server's store is PostgreSQL: back it up and restore it with PostgreSQL's own tools (pg_dump and "
        "pg_restore, or the cluster's base backups and WAL archive), and the KEK apart (docs/postgres.md)");
  if (restore->parsed()) {
    json config = data.load_config();
    auto chosen = schemas.find(schema_name);
    if (chosen == schemas.end()) die("unknown schema '" + schema_name + "'; this program serves " + schema_names);
    admin::RestoreRequest request{data.dir, backup_file, data.checkpoint_dir(config), data.audit_key(config),
                                  data.keys(config), chosen->second, static_cast<int64_t>(now_ms())};
    auto done = admin::restore(request);
    if (!done) die(done.error().message, done.error().code == ErrorCode::not_found ? 3 : 1);
    for (const auto& w : done->warnings) std::cerr << "hearth-server: warning: " << w << "\n";
    std::cout << "restored " << backup_file << " (last seq " << done->backup_last_seq << ") into " << data.db().string()
              << "\n";
    if (done->kept_aside) std::cout << "  the database before the restore is kept as " << done->kept_aside->string() << "\n";
    size_t carried = 0;
    for (const auto& c : done->carried) carried += static_cast<size_t>(c.rows);
    if (done->previous_read)
      std::cout << "  carried over from it: " << carried << " directory and enrolment rows, " << done->server_ops_carried
                << " ops the server wrote after the backup\n";
    std::cout << "  new history epoch " << done->epoch << ": every device sends again what this server lacks at its next sync\n";
    if (done->checkpoints_moved_to)
      std::cout << "  " << done->checkpoints_moved << " audit checkpoints exported after the backup moved to "
                << done->checkpoints_moved_to->string() << "\n";
    if (done->checkpoint_exported) std::cout << "  audit checkpoint of the restored trail: " << done->checkpoint_exported->string() << "\n";
    return 0;
  }
  if (serve->parsed()) {
    json config = data.load_config();
    std::vector<std::string> start_warnings;  // logged once the log is JSON lines (below)
    if (auto r = config::refuse_on_problems(config::validate(config), start_warnings); !r)
      die("refusing to start: " + data.config().string() + ":\n  " + r.error().message);
    // Held until the process ends: a restore refuses while it is held (admin/serve_lock.hpp).
    auto serve_lock = must(admin::ServeLock::take(data.dir, "serve"));
    HttpServerConfig http;
    http.host = host.empty() ? config.value("listen", "127.0.0.1") : host;
    http.port = listen_port(port, config);
    // Plain HTTP only on loopback: behind nginx in production (docs/deployment.md), or in local
    // tests. TLS by hearth-server itself stays the default (development, the demo, e2e tests).
    bool proxied = behind_proxy || config.value("behind_proxy", false);
    http.tls = !insecure && !proxied;
    http.trust_forwarded_for = proxied;
    if (!http.tls && !is_loopback_address(http.host))
      die("plain HTTP is served on a loopback address only (127.0.0.1 or ::1), behind nginx which terminates TLS; '" +
          http.host + "' is not one");
    if (http.tls) {  // refused here, not at every handshake (tls/tls_check.hpp)
      auto checked = tls::check_tls_files(config::server_tls_files(config, data.config().string()),
                                          tls::TlsCheckOptions{config::served_name(config, http.host),
                                                               static_cast<int64_t>(now_ms() / 1000)});
      if (auto r = config::refuse_on_problems(checked.findings, start_warnings); !r)
        die("refusing to start:\n  " + r.error().message + "\n  (`hearth-server --data " + data.dir.string() +
            " check-config` checks everything without starting)");
      http.cert_pem = std::move(checked.pem.cert);
      http.key_pem = std::move(checked.pem.key);
    }
    init_http_runtime(4);  // the framework's threads: sockets, TLS and gzip only (handler_threads below)
    // Workers: requests run concurrently on this many database connections, each with a family
    // cache of its own, so the cache's memory bound is workers x (cache_families, cache_mib).
    const size_t workers = std::clamp<size_t>(
        config.value("workers", static_cast<size_t>(std::max(1u, std::thread::hardware_concurrency()))), 1, 64);
    http.handler_threads = workers;
    http.handler_queue = config.value("request_queue", http.handler_queue);
    auto chosen = schemas.find(schema_name);
    if (chosen == schemas.end()) die("unknown schema '" + schema_name + "'; this program serves " + schema_names);
    const Schema& schema = *chosen->second;
    auto store = data.store();
    build_records(*store, schema);
    ServiceLimits limits;
    limits.credential_ttl_ms = static_cast<int64_t>(config.value("credential_days", 365.0) * 24 * 3600 * 1000);
    // The family cache's bounds (families held in memory, and their ops' encoded size).
    limits.cache.max_families = config.value("cache_families", limits.cache.max_families);
    limits.cache.max_bytes = config.value("cache_mib", limits.cache.max_bytes >> 20) << 20;
    // Where several servers share PostgreSQL, each worker's connection appends the events
    // outside any family (a push, a pull) to a chain of its own, "server:<this process>/<worker>",
    // registered in the shared `server` chain: requests never queue for one chain's head, in
    // one server or across servers (docs/audit.md, "Chains"). SQLite: one server, one writer at
    // a time, so its events stay in `server`.
    std::vector<std::string> own_chains;
    const std::string process_name =
        data.on_postgres(config) ? civil::format_datetime_seconds(static_cast<int64_t>(now_ms())) + "-" +
                                       must(platform::random_hex(4))
                                 : std::string();
    auto use_own_chain = [&](Storage& s) -> Result<void> {
      if (process_name.empty()) return {};
      const size_t k = own_chains.size() + 1;
      auto chain = s.audit().use_own_chain(process_name + "/" + std::to_string(k), static_cast<int64_t>(now_ms()),
                                           "hearth-server pid " + std::to_string(getpid()) + " on host " +
                                               host_name() + ", worker " + std::to_string(k) + " of " +
                                               std::to_string(workers));
      if (!chain) return chain.error();
      own_chains.push_back(*chain);
      return {};
    };
    must(use_own_chain(*store));
    SyncService service(*store, now_ms, schema, limits);
    must(service.add_workers(
        [&]() -> Result<std::unique_ptr<Storage>> {
          auto opened = open_storage(data.database(config), data.audit_key(config), data.keys(config));
          if (!opened) return opened;
          if (auto r = use_own_chain(**opened); !r) return r.error();
          return opened;
        },
        workers - 1));
    // The office repeater's configuration is checked before anything listens: a wrong one stops
    // the start, not each delivery later.
    auto office_endpoint = must(repeater_config_of(config.dump()));
    if (office_endpoint && !office_endpoint->ca_file.empty()) {
      const fs::path ca = office_endpoint->ca_file;
      std::ifstream readable(ca);
      if (!ca.is_absolute() || !readable)
        die("office_endpoint.ca_file: '" + ca.string() + "' must be the absolute path of a readable file of PEM CA "
            "certificates (docs/office.md)");
    }
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
    if (data.kek_inside(config) && config.value("encrypt_at_rest", true))
      log_line({{"ts", now_ms()}, {"event", "warning"},
                {"message", "the KEK is inside the data directory, so every copy of the directory carries it: fine for "
                            "development, not for real records (docs/server-encryption.md, \"Key ceremony\")"}});
    for (const auto& w : start_warnings) log_line({{"ts", now_ms()}, {"event", "warning"}, {"message", w}});
    log_line({{"ts", now_ms()}, {"event", "listening"}, {"host", http.host}, {"port", server->port()}, {"workers", workers},
              {"tls", http.tls}, {"behind_proxy", proxied}, {"pid", getpid()}});
    if (!own_chains.empty()) log_line({{"ts", now_ms()}, {"event", "audit-chains"}, {"chains", own_chains}});
    // The office repeater (usecases/office_repeater.hpp), when "office_endpoint" is configured.
    std::unique_ptr<Repeater> repeater;
    if (office_endpoint) {
      repeater = std::make_unique<Repeater>(service, *office_endpoint, http_post, [](const Delivery& d, const std::string& e) {
        if (!e.empty()) log_line({{"ts", now_ms()}, {"event", "office-repeater-failed"}, {"error", e}});
        else log_line({{"ts", now_ms()}, {"event", "office-delivery"}, {"outcome", to_string(d.outcome)}, {"item", d.seq},
                       {"key", d.key}, {"error", d.error}});
      });
      repeater->start();
      log_line({{"ts", now_ms()}, {"event", "office-repeater"}, {"url", office_endpoint->url}, {"name", office_endpoint->name}});
    }
    // Audit checkpoints, signed and exported outside the database: every
    // "audit_checkpoint_seconds" (0: never) and at shutdown, when some chain moved. On a
    // connection of its own; the service appends on the store's. Servers sharing PostgreSQL
    // take turns (audit::kCheckpointLock): a round that finds another server's checkpoint
    // running, or made within half an interval, skips, so they make about one an interval
    // together; at shutdown a server waits for the lock, so its last events are covered.
    const int64_t every = seconds_setting(config, "audit_checkpoint_seconds", 3600);  // read before the thread starts
    const bool shared_database = data.on_postgres(config);
    auto trail = must(audit::open_trail_file(data.database(config), data.audit_key(config)));
    auto export_checkpoint = [&](const char* reason) {
      const bool shutdown = std::string_view(reason) == "shutdown";
      audit::RoundRules rules{shutdown, shutdown || !shared_database ? 0 : every * 1000 / 2};
      auto round = trail.trail->checkpoint_round(static_cast<int64_t>(now_ms()), rules);
      if (round && round->outcome == audit::RoundOutcome::unchanged) return;
      if (round && round->outcome != audit::RoundOutcome::made) {
        log_line({{"ts", now_ms()}, {"event", "audit-checkpoint-skipped"}, {"reason", reason},
                  {"why", round->outcome == audit::RoundOutcome::busy ? "another server is making one"
                                                                      : "one was made within half an interval"},
                  {"newest_at", round->newest_at}});
        return;
      }
      fs::path file = round ? audit::checkpoint_file_in(data.checkpoint_dir(config), *round->made) : fs::path();
      auto written = round ? audit::write_checkpoint_file(file, *round->made) : Result<void>(round.error());
      if (!written)
        log_line({{"ts", now_ms()}, {"event", "audit-checkpoint-failed"}, {"reason", reason}, {"error", written.error().message}});
      else
        log_line({{"ts", now_ms()}, {"event", "audit-checkpoint"}, {"reason", reason}, {"number", round->made->number},
                  {"chains", round->made->chains.size()}, {"file", file.string()}});
    };
    // Time-driven events become server events at their due time (usecases/due_events.hpp): a
    // thread runs them every tick_seconds under the service's lock, like any use case.
    const int64_t tick_every = tick_seconds >= 0 ? tick_seconds : seconds_setting(config, "tick_seconds", 60);
    std::mutex tick_mutex;
    std::condition_variable tick_wake;
    bool tick_stop = false;
    std::thread ticker;
    if (tick_every > 0)
      ticker = std::thread([&] {
        std::unique_lock<std::mutex> lock(tick_mutex);
        int64_t wait_s = tick_every;
        while (!tick_wake.wait_for(lock, std::chrono::seconds(wait_s), [&] { return tick_stop; })) {
          lock.unlock();
          wait_s = tick_every;
          try {
            // A small batch per hold of the service lock, so pushes and pulls wait little; a
            // backlog (e.g. every family after an upgrade) clears over later ticks.
            auto done = service.with_context(
                [](ServiceContext& ctx) { return run_due_events(ctx, ctx.now(), kTickFamiliesPerRun); });
            if (!done)
              log_line({{"ts", now_ms()}, {"event", "tick-failed"}, {"error", done.error().message}});
            else if (!done->lines.empty())
              log_line({{"ts", now_ms()}, {"event", "tick"}, {"families", done->families}, {"events", done->lines},
                        {"more", done->more}});
            if (done && done->more) wait_s = 1;  // a backlog: the next batch soon, the lock free between
          } catch (const std::exception& e) {  // the next tick tries again; the server stays up
            log_line({{"ts", now_ms()}, {"event", "tick-failed"}, {"error", e.what()}});
          }
          lock.lock();
        }
      });
    int sig = 0;
    while (sig == 0) {
      if (every <= 0) {
        sigwait(&signals, &sig);
        break;
      }
      timespec wait{static_cast<time_t>(every), 0};
      int got = sigtimedwait(&signals, nullptr, &wait);
      if (got > 0) sig = got;
      else if (errno == EAGAIN) export_checkpoint("interval");
    }
    {
      std::lock_guard<std::mutex> lock(tick_mutex);
      tick_stop = true;
    }
    tick_wake.notify_all();
    if (ticker.joinable()) ticker.join();
    if (repeater) repeater->stop();
    server->stop();
    export_checkpoint("shutdown");
    log_line({{"ts", now_ms()}, {"event", "stopped"}, {"signal", sig}});
    return 0;
  }

  auto store = data.store();
  auto served = schemas.find(schema_name);
  if (served == schemas.end()) die("unknown schema '" + schema_name + "'; this program serves " + schema_names);
  build_records(*store, *served->second);
  if (report_cmd->parsed()) {
    if (report_args.lsoa_table.empty()) report_args.lsoa_table = data.load_config().value("lsoa_table", "");
    TenantConfig tenant = must(store->settings().current());
    return report_command(report_args, store->records(), store->caseload(), store->audit(), tenant,
                          static_cast<int64_t>(now_ms()), std::cout, std::cerr);
  }
  SyncService service(*store, now_ms, *served->second);
  if (auto exit_code = run_duplicate_commands(duplicate_cmds, service, std::cout, std::cerr)) return *exit_code;
  auto admin = [&](const std::string& action, const std::string& fam, const std::string& detail) {
    must(store->audit().append(AuditEvent{static_cast<int64_t>(now_ms()), "admin", "", action, fam, detail}));
  };
  Caseload& caseload = store->caseload();
  for (auto [option, value] : {std::pair<const char*, const std::string*>{"--id", &id}, {"--org", &org},
                                {"--family", &family}, {"--practitioner", &practitioner}, {"--like", &like},
                                {"--device", &device}, {"--consent", &consent_id}, {"--withdrawn-by", &withdrawn_by},
                                {"--recorded-by", &recorded_by}, {"--by", &author}})
    if (!value->empty()) require_id(option, *value);
  for (const auto& r : recipients) require_id("--recipients", r);
  if (add_org->parsed() || add_prac->parsed()) {  // required there: an empty one is refused too
    require_id("--id", id);
    require_name("--name", name);
  }
  if (add_prac->parsed()) require_id("--org", org);
  if (backup->parsed()) {
    if (backup_file.empty()) die("DEST is empty: give the name of the file to write");
    auto made = must(admin::back_up(data.db(), backup_file, store->audit(), static_cast<int64_t>(now_ms())));
    std::cout << "backed up " << data.db().string() << " to " << made.file.string() << " (" << made.bytes << " bytes, last seq "
              << made.last_seq << ", history epoch " << made.epoch << ")\n"
              << "  it holds no key: keep the keys (KEK, keyring, audit key) and the exported audit checkpoints backed up "
                 "apart (docs/deployment.md)\n";
    return 0;
  }
  if (add_org->parsed()) {
    require_one_of("--type", type, allowed("Organisation", "org_type"));
    must(caseload.add_organisation(id, name, type));
    admin("add-org", "", id);
  } else if (add_prac->parsed()) {
    require_one_of("--role", role, allowed("Practitioner", "system_roles"));
    must(caseload.add_practitioner(id, org, name, role));
    admin("add-practitioner", "", id);
  } else if (allocate->parsed() || deallocate->parsed()) {
    // Team changes are ops on the family's TeamMember records (usecases/team.hpp), written as
    // the office; the caseload index follows them.
    if (allocate->parsed() && family.empty() == like.empty()) die("give either --family or --like");
    if (!scope.empty()) require_one_of("--scope", scope, allowed("TeamMember", "access_scope"));
    if (author != kOfficeAuthor && !must(caseload.practitioner_exists(author)))
      die("--by: no practitioner '" + author + "'", 3);
    std::vector<std::string> families = like.empty() ? std::vector<std::string>{family} : must(caseload.families_of(like));
    std::vector<AuthorityWrite> writes;
    for (const auto& f : families)
      writes.push_back(allocate->parsed()
                           ? allocation(Allocation{f, practitioner, lead,
                                                   scope.empty() ? std::nullopt : std::optional<std::string>(scope),
                                                   author})
                           : deallocation(f, practitioner, author));
    auto ops = must(service.with_context([&](ServiceContext& ctx) { return authority_write(ctx, writes); }));
    std::cout << (allocate->parsed() ? "allocated " : "deallocated ") << practitioner << " ("
              << families.size() << (families.size() == 1 ? " family, " : " families, ") << ops.size()
              << (ops.size() == 1 ? " op" : " ops") << ")\n";
  } else if (consent_list->parsed()) {
    auto records = must(service.with_context([&](ServiceContext& ctx) { return consent_records(ctx, family); }));
    auto list = [](const std::vector<std::string>& v) {
      std::string out;
      for (const auto& x : v) out += (out.empty() ? "" : ", ") + x;
      return out.empty() ? std::string("-") : out;
    };
    for (const auto& c : records) {
      std::cout << c.id << "  " << (c.status.empty() ? "-" : c.status) << "\n"
                << "  given by:             " << c.given_by << "\n"
                << "  covers:               " << list(c.covers) << "\n"
                << "  purposes:             " << list(c.purposes) << "\n"
                << "  recipients:           " << list(c.recipients) << "\n"
                << "  withdrawn recipients: " << list(c.withdrawn_recipients) << "\n"
                << "  withdrawn purposes:   " << list(c.withdrawn_purposes) << "\n";
      if (!c.withdrawn_at.empty())
        std::cout << "  withdrawn:            " << c.withdrawn_at << " (" << c.withdrawal_scope << ")"
                  << (c.withdrawn_by.empty() ? "" : " by " + c.withdrawn_by)
                  << (c.withdrawal_channel.empty() ? "" : ", " + c.withdrawal_channel)
                  << (c.withdrawal_recorded_by.empty() ? "" : ", recorded by " + c.withdrawal_recorded_by) << "\n";
      if (!c.expires_at.empty()) std::cout << "  expires:              " << c.expires_at << "\n";
    }
    if (records.empty()) std::cout << "no consent records for family " << family << "\n";
    admin("consent-viewed", family, std::to_string(records.size()) + " consent records");
  } else if (withdraw->parsed()) {
    if (author != kOfficeAuthor && !must(caseload.practitioner_exists(author)))
      die("--by: no practitioner '" + author + "'", 3);
    require_one_of("--channel", channel, allowed("ConsentRecord", "withdrawal_channel"));
    for (const auto& p : purposes) require_one_of("--purposes", p, allowed("ConsentRecord", "withdrawn_purposes"));
    if (recipients.empty() && purposes.empty() && !full) die("give one of --recipients, --purposes or --full");
    Withdrawal w;
    w.family = family;
    w.consent = consent_id;
    w.scope = full ? Withdrawal::Scope::full : !recipients.empty() ? Withdrawal::Scope::recipients
                                                                  : Withdrawal::Scope::purposes;
    w.items = full ? std::vector<std::string>{} : !recipients.empty() ? recipients : purposes;
    w.withdrawn_by = withdrawn_by;
    w.recorded_by = recorded_by;
    w.channel = channel;
    w.reason = withdrawal_reason;
    w.author = author;
    // The withdrawal and the tasks it calls for (task_triggers.hpp: the lead's risk consideration,
    // the recipients' notices), in one transaction.
    auto ops = must(service.with_context(
        [&](ServiceContext& ctx) { return authority_write(ctx, {consent_withdrawal(w), record_tasks(family, consent_id)}); }));
    std::cout << "withdrawal recorded on " << consent_id << " (" << ops.size() << " ops); every team member's tablet "
              << "receives it at its next sync\n";
  } else if (tick->parsed()) {
    int64_t at = static_cast<int64_t>(now_ms());
    if (!as_of.empty()) {
      auto parsed = civil::parse_ms(as_of);
      if (!parsed) die("--as-of '" + as_of + "' is not a UTC date or time (YYYY-MM-DDTHH:MM:SSZ)");
      at = *parsed;
    }
    size_t families = 0, events = 0;
    bool more = true;
    for (int round = 0; more && round < 1000; ++round) {  // bounded: 1,000 rounds of kDueFamiliesPerRun families
      auto report = must(service.with_context([&](ServiceContext& ctx) { return run_due_events(ctx, at); }));
      for (const auto& line : report.lines) std::cout << line << "\n";
      families += report.families;
      events += report.lines.size();
      more = report.more;
    }
    std::cout << "due events as of " << civil::format_datetime(at) << ": " << events
              << (events == 1 ? " event" : " events") << " in " << families << (families == 1 ? " family" : " families")
              << " looked at\n";
  } else if (bulk->parsed()) {
    require_id("--prefix", bulk_prefix);
    const std::string org_id = bulk_prefix + "-org";
    if (!must(caseload.organisation_exists(org_id))) must(caseload.add_organisation(org_id, "Load generator", "OTHER"));
    for (int p = 1; p <= bulk_practitioners; ++p) {
      const std::string prac = bulk_prefix + "-p" + std::to_string(p);
      if (!must(caseload.practitioner_exists(prac))) must(caseload.add_practitioner(prac, org_id, prac, "PRACTITIONER"));
      for (int d = 0; d < bulk_devices; ++d) std::cout << prac << " " << must(service.issue_enrol_code(prac)) << "\n";
    }
    admin("bulk-enrol", "", bulk_prefix + ": " + std::to_string(bulk_practitioners) + " practitioners");
  } else if (code->parsed()) {
    std::cout << must(service.issue_enrol_code(practitioner)) << "\n";
  } else if (devices->parsed()) {
    for (const auto& line : must(service.with_context([](ServiceContext& ctx) { return device_lines(ctx); })))
      std::cout << line << "\n";
  } else if (wipe->parsed()) {
    auto said = service.with_context([&](ServiceContext& ctx) { return request_wipe(ctx, device, discard_unsynced); });
    if (!said && said.error().code == ErrorCode::conflict) die(said.error().message, 4);
    std::cout << must(std::move(said)) << "\n";
  } else if (revoke->parsed()) {
    if (!must(store->devices().revoke_device(device))) die("no device '" + device + "'", 3);
    admin("revoke", "", device);
    std::cout << "revoked " << device << "\n";
  } else if (verify->parsed() || checkpoint->parsed()) {
    json config = data.load_config();
    auto trail = must(audit::open_trail_file(data.database(config), data.audit_key(config)));
    if (checkpoint->parsed()) {
      auto cp = must(trail.trail->checkpoint(static_cast<int64_t>(now_ms())));
      fs::path file = audit::checkpoint_file_in(data.checkpoint_dir(config), cp);
      must(audit::write_checkpoint_file(file, cp));
      if (!checkpoint_out.empty()) must(audit::write_checkpoint_file(checkpoint_out, cp));
      std::cout << "audit checkpoint " << cp.number << " of " << cp.chains.size() << " chains written to "
                << file.string() << (checkpoint_out.empty() ? "" : " and " + checkpoint_out) << "\n";
      return 0;
    }
    int verdict = verify_audit_command(*trail.trail, checkpoint_files, data.checkpoint_dir(config));
    if (auto notes = admin::restore_notes(*trail.db); notes)  // why a trail may end at a backup
      for (const auto& n : *notes) std::cout << "note: " << n << "\n";
    return verdict;
  } else if (records_cmd->parsed()) {  // admin/records_command.hpp
    return records_command(*store, records_args, static_cast<int64_t>(now_ms()), std::cout, std::cerr);
  } else if (audit_cmd->parsed()) {  // the IG officer's query (admin/audit_query.hpp)
    json config = data.load_config();
    // The family keys open the details; the keyring says which families were erased.
    auto trail = must(audit::open_trail_file(data.database(config), data.audit_key(config), &store->keys()));
    return audit_query_command(*trail.trail, audit_args, static_cast<int64_t>(now_ms()), std::cout, std::cerr);
  } else if (config_show->parsed()) {
    TenantConfig current = must(store->settings().current());
    for (const auto& setting : TenantConfig::settings())
      std::cout << setting.key << " = " << current.get(setting.key) << "  (" << setting.unit << "; default "
                << (setting.default_value.empty() ? "none" : setting.default_value) << ") " << setting.description
                << "\n";
  } else if (config_set->parsed()) {
    if (config_key.size() > 64 || config_value.size() > 8192) die("a setting's key or value is too long");
    must(store->transaction([&]() -> Result<void> {
      if (auto r = store->settings().set(config_key, config_value, static_cast<int64_t>(now_ms()), "admin"); !r)
        return r;
      admin("config", "", config_key + " = " + config_value);
      // The notice before a consent expires moves every family's next due time.
      if (config_key == "consent_expiring_notice_days") return store->due().mark_all(0);
      return {};
    }));
    std::cout << config_key << " = " << must(store->settings().current()).get(config_key) << "\n";
  } else if (tasks->parsed()) {
    // An unknown name is a typo to report, not an empty list.
    if (!assignee.empty() && !must(store->caseload().practitioner_exists(assignee)))
      die("--assignee: no practitioner '" + printable(assignee) + "'", 3);
    if (!family.empty() && !must(store->ops().family_has_ops(family)))
      die("--family: this server holds no records of family '" + printable(family) + "'", 3);
    auto rows = must(service.with_context(
        [&](ServiceContext& ctx) { return list_tasks(ctx, TaskQuery{family, assignee, overdue}); }));
    for (const auto& t : rows) {
      std::cout << (t.due_at.empty() ? "-" : t.due_at) << "  " << t.status << "  " << t.type << "  " << t.family
                << "  for " << t.assignee << (t.escalated_to.empty() ? "" : " (escalated to " + t.escalated_to + ")")
                << "  " << t.id << "\n";
      if (!t.about.empty()) std::cout << "  about: " << t.about << "\n";
      if (!t.detail.empty()) std::cout << "  " << t.detail << "\n";
    }
    if (rows.empty()) std::cout << "no " << (overdue ? "overdue " : "") << "tasks\n";
    admin("tasks-viewed", family, std::to_string(rows.size()) + " tasks");
  } else if (held_list->parsed()) {
    if (!family.empty() && !must(store->ops().family_has_ops(family)))
      die("--family: this server holds no records of family '" + printable(family) + "'", 3);
    auto list = must(service.with_context([&](ServiceContext& ctx) {
      return held_ops(ctx, family.empty() ? std::nullopt : std::optional<std::string>(family));
    }));
    for (const auto& h : list) {
      std::cout << h.held.op_id << "  family " << h.held.family << "  by " << h.held.practitioner << "  at "
                << datetime_of(h.held.at) << "  for " << (h.held.route_to.empty() ? "-" : h.held.route_to) << "\n"
                << "  why:  " << h.held.reason << "\n"
                << "  what: " << h.what << "\n";
      if (const auto& d = h.held.decision)
        std::cout << "  " << (d->outcome == kHeldApplied ? "APPLIED" : "DISMISSED") << " by " << d->by << " at "
                  << datetime_of(d->at) << (d->note.empty() ? "" : ": " + d->note)
                  << (d->ops.empty() ? "" : " (ops " + d->ops + ")") << "\n";
      else
        std::cout << "  waiting for a decision\n";
    }
    if (list.empty()) std::cout << "no held ops" << (family.empty() ? "" : " for family " + family) << "\n";
    admin("held-viewed", family, std::to_string(list.size()) + " held ops");
  } else if (held_apply->parsed()) {
    require_id("--by", held_by);
    auto ops = must(service.with_context([&](ServiceContext& ctx) { return apply_held(ctx, held_op, held_by, held_text); }));
    std::cout << "applied held op " << held_op << " as " << held_by << " (" << ops.size() << (ops.size() == 1 ? " op" : " ops")
              << "); every team member's tablet receives it at its next sync\n";
  } else if (held_dismiss->parsed()) {
    require_id("--by", held_by);
    must(service.with_context([&](ServiceContext& ctx) { return dismiss_held(ctx, held_op, held_by, held_text); }));
    std::cout << "dismissed held op " << held_op << "; its author's tablet is told at its next sync\n";
  } else if (erase->parsed()) {
    require_id("--by", author);
    auto report = must(service.with_context([&](ServiceContext& ctx) {
      return erase_family(ctx, ErasureRequest{family, author, basis, reference});
    }));
    if (report.resumed) std::cout << "finished an erasure that had stopped before deleting the rows\n";
    std::cout << "erased family " << family << ": its key is destroyed and it is in the erasure register; "
              << (report.rows_deleted ? "its rows are deleted; " : "") << report.team.size()
              << " team members' devices are told to purge it at their next sync\n";
  } else if (erasures->parsed()) {
    auto list = must(store->keys().erasures());
    for (const auto& e : list) {
      std::cout << datetime_of(e.at) << "  " << e.family << "  " << e.basis << "  by " << e.by << "  " << e.reference << "\n";
      for (const auto& w : must(store->keys().late_work(e.family)))
        std::cout << "  work sent after the erasure, refused: op " << w.op_id << " by " << w.practitioner << " at "
                  << datetime_of(w.at) << " (it leaves that tablet with the family)\n";
    }
    if (list.empty()) std::cout << "no erasures\n";
    admin("erasures-viewed", "", std::to_string(list.size()) + " erasures");
  } else if (hold_place->parsed()) {
    require_id("--by", author);
    must(service.with_context([&](ServiceContext& ctx) { return place_legal_hold(ctx, family, author, hold_reason); }));
    std::cout << "legal hold placed on family " << family << "; it cannot be erased until the hold is lifted\n";
  } else if (hold_lift->parsed()) {
    require_id("--by", author);
    bool lifted = must(service.with_context([&](ServiceContext& ctx) { return lift_legal_hold(ctx, family, author); }));
    if (!lifted) die("family " + family + " has no legal hold", 3);
    std::cout << "legal hold on family " << family << " lifted\n";
  } else if (hold_list->parsed()) {
    auto list = must(store->keys().holds());
    for (const auto& h : list)
      std::cout << h.family << "  since " << datetime_of(h.at) << "  by " << h.by << "  " << h.reason << "\n";
    if (list.empty()) std::cout << "no legal holds\n";
  } else if (retention->parsed()) {
    int64_t at = static_cast<int64_t>(now_ms());
    if (!as_of.empty()) {
      auto parsed = civil::parse_ms(as_of);
      if (!parsed) die("--as-of '" + as_of + "' is not a UTC date or time (YYYY-MM-DDTHH:MM:SSZ)");
      at = *parsed;
    }
    auto due = must(service.with_context([&](ServiceContext& ctx) { return retention_due(ctx, at); }));
    for (const auto& d : due)
      std::cout << d.family << "  retain until " << civil::format_datetime(d.retain_until_ms) << " (" << d.rule << ")"
                << (d.hold ? "  LEGAL HOLD: " + d.hold->reason : "  due: erase-family --basis RETENTION_EXPIRED") << "\n";
    if (due.empty()) std::cout << "no family's retention has ended\n";
    admin("retention-viewed", "", std::to_string(due.size()) + " families due");
  } else if (step_up_cmd.decide->parsed()) {
    std::cout << must(run_step_up_decide(service, step_up_cmd));
  } else if (office_issue->parsed()) {
    std::string token = must(service.with_context([&](ServiceContext& ctx) { return issue_office_credential(ctx, name); }));
    std::cout << token << "\n";
    std::cerr << "hearth-server: office credential '" << name << "' issued; the token above is shown only once\n";
  } else if (office_list->parsed()) {
    auto list = must(store->office().list());
    for (const auto& c : list)
      std::cout << c.name << "  issued " << datetime_of(c.issued_at)
                << (c.revoked_at ? "  REVOKED " + datetime_of(*c.revoked_at) : std::string()) << "\n";
    if (list.empty()) std::cout << "no office credentials\n";
  } else if (office_revoke->parsed()) {
    must(service.with_context([&](ServiceContext& ctx) { return revoke_office_credential(ctx, name); }));
    std::cout << "revoked office credential " << name << "\n";
  } else if (office_cli_parsed(*office_cli)) {
    return run_office_cli(*office_cli, service, std::cout, std::cerr);
  } else if (sar_cmd->parsed()) {
    require_id("--person", sar_args.person);
    require_id("--by", sar_args.by);
    json config = data.load_config();
    // The family keys open the audit details that say when the request was logged.
    auto trail = must(audit::open_trail_file(data.database(config), data.audit_key(config), &store->keys()));
    return sar_command(*store, store->records(), *trail.trail, *served->second, sar_args, static_cast<int64_t>(now_ms()),
                       std::cout, std::cerr);
  } else if (flags->parsed()) {
    auto list = must(store->flags().list(family.empty() ? std::nullopt : std::optional<std::string>(family)));
    for (const auto& f : list)
      std::cout << datetime_of(f.at) << "  " << f.family << "  " << f.kind << "  op " << f.op_id << "  by " << f.practitioner
                << " on " << f.device << "  " << f.detail << "\n";
    if (list.empty()) std::cout << "no flags" << (family.empty() ? "" : " for family " + family) << "\n";
    admin("flags-viewed", family, std::to_string(list.size()) + " flags");
  }
  return 0;
}

}  // namespace

namespace hearth::server {

// No exception ends the program with a signal: anything unexpected (a data directory that is a
// file, a configuration value of the wrong type) is reported with what to do, exit code 1.

int hearth_server_main(int argc, char** argv, const SchemaChoices& schemas) {
  // Everything the server writes (database, WAL, keyring, keys, backups, logs it opens) is
  // readable by the service user alone.
  ::umask(077);
  try {
    return run(argc, argv, schemas);
  } catch (const std::exception& e) {
    std::cerr << "hearth-server: " << e.what() << "\n  what to do: check the --data directory and its "
              << "hearth-server.json (docs/deployment.md)\n";
  } catch (...) {
    std::cerr << "hearth-server: unexpected failure\n";
  }
  return 1;
}

}  // namespace hearth::server
