#include "config_keys.hpp"

#include "storage/sql/connection.hpp"
#include "usecases/office_repeater.hpp"

namespace hearth::server::config {

using nlohmann::json;

namespace {

constexpr int64_t kDaySeconds = 86400;

std::string kind_words(const Key& k) {
  switch (k.kind) {
    case Kind::text: return "a string";
    case Kind::path: return "a string (a file path)";
    case Kind::boolean: return "true or false";
    case Kind::integer: return "a whole number from " + std::to_string(k.min) + " to " + std::to_string(k.max);
    case Kind::number: return "a number from " + std::to_string(k.min) + " to " + std::to_string(k.max);
    case Kind::object: return "an object";
  }
  return "?";
}

bool of_kind(const Key& k, const json& v) {
  switch (k.kind) {
    case Kind::text:
    case Kind::path: return v.is_string();
    case Kind::boolean: return v.is_boolean();
    case Kind::integer:
      if (v.is_number_unsigned()) {  // within int64_t once it is at most max
        const uint64_t u = v.get<uint64_t>();
        return u <= static_cast<uint64_t>(k.max) && static_cast<int64_t>(u) >= k.min;
      }
      return v.is_number_integer() && v.get<int64_t>() >= k.min && v.get<int64_t>() <= k.max;
    case Kind::number:
      return v.is_number() && v.get<double>() >= static_cast<double>(k.min) && v.get<double>() <= static_cast<double>(k.max);
    case Kind::object: return v.is_object() || v.is_null();
  }
  return false;
}

bool is_wildcard(const std::string& host) { return host.empty() || host == "0.0.0.0" || host == "::" || host == "[::]"; }

}  // namespace

const std::vector<Key>& keys() {
  static const std::vector<Key> table = {
      {"listen", Kind::text, 0, 0, "127.0.0.1",
       "The address hearth-server listens on (`serve --host` overrides it). Plain HTTP (`behind_proxy`) is served on "
       "a loopback address only."},
      {"port", Kind::integer, 0, 65535, "8443 (`init --behind-proxy` writes 8080)",
       "The TCP port (`serve --port` overrides it; 0: any free port, see `serve --port-file`)."},
      {"behind_proxy", Kind::boolean, 0, 0, "false",
       "true: plain HTTP on a loopback address behind nginx, which terminates TLS and whose X-Forwarded-For "
       "names the client (`serve --behind-proxy` does the same). false: hearth-server serves TLS itself with "
       "`cert` and `key`."},
      {"tls", Kind::boolean, 0, 0, "written by `init`",
       "Written by `init` for the reader (true unless `--behind-proxy`); hearth-server does not read it: "
       "`behind_proxy` decides."},
      {"server_name", Kind::text, 0, 0, "the `listen` address, unless it is 0.0.0.0 or ::",
       "The DNS name or IP address tablets connect to. At start (when serving TLS itself) and in `check-config`, "
       "the server certificate must cover it."},
      {"cert", Kind::path, 0, 0, "DATA/certs/server.crt (written by `init`)",
       "PEM: the server certificate, followed by any intermediate certificates. Read when hearth-server serves "
       "TLS itself; it must match `key`, be valid now and cover `server_name`, or the server does not start."},
      {"key", Kind::path, 0, 0, "DATA/certs/server.key (written by `init`)",
       "PEM: the certificate's private key, unencrypted, readable by the service user alone (mode 0600)."},
      {"ca", Kind::path, 0, 0, "DATA/certs/ca.crt (written by `init`)",
       "PEM: the organisation CA that tablets are given at enrolment. The server does not read it to serve; "
       "`check-config` and the start warn when `cert` does not chain to it."},
      {"credential_days", Kind::number, 0, 3650, "365",
       "Days a device credential issued at enrolment stays valid (a fraction is allowed; 0: expires at once)."},
      {"database", Kind::text, 0, 0, "DATA/hearth-server.db (SQLite)",
       "The store: a SQLite file path, or postgresql://USER@HOST:PORT/DATABASE for the PostgreSQL store several "
       "servers can share (docs/postgres.md). A password belongs in ~/.pgpass, never here."},
      {"keyring", Kind::text, 0, 0, "DATA/keyring/keyring.db; on PostgreSQL the `database`",
       "The keyring of per-family data keys, the erasure register and legal holds: a SQLite file, or a "
       "postgresql:// URI. Keep it apart from the data's backups (docs/server-encryption.md)."},
      {"kek", Kind::path, 0, 0, "$CREDENTIALS_DIRECTORY/hearth-kek, else DATA/keys/kek.key",
       "The key-encryption key file that wraps every family's data key. Under systemd it comes from "
       "`LoadCredential=hearth-kek:...` (deploy/systemd/hearth-server.service)."},
      {"encrypt_at_rest", Kind::boolean, 0, 0, "true",
       "false stores personal data in clear (tests' controls and benchmarks only; a warning at every start)."},
      {"audit_key", Kind::path, 0, 0, "$CREDENTIALS_DIRECTORY/hearth-audit-key, else DATA/keys/audit.key",
       "The key of the keyed audit chains (docs/audit.md). Under systemd it comes from "
       "`LoadCredential=hearth-audit-key:...`."},
      {"audit_checkpoint_dir", Kind::path, 0, 0, "DATA/audit-checkpoints",
       "Where signed audit checkpoints are exported (keep it where the database's writer cannot rewrite it)."},
      {"audit_checkpoint_seconds", Kind::integer, 0, kDaySeconds, "3600",
       "Seconds between exported audit checkpoints while serving (also one at shutdown); 0: only at shutdown."},
      {"tick_seconds", Kind::integer, 0, kDaySeconds, "60",
       "Seconds between runs of the time-driven events (consent and break-glass expiry, tasks due and overdue); "
       "0: never (`serve --tick-seconds` overrides it)."},
      {"workers", Kind::integer, 1, 64, "the number of processor cores",
       "Requests handled at once, each on a database connection and a family cache of its own."},
      {"request_queue", Kind::integer, 1, 100000, "64",
       "Requests waiting for a worker; beyond it the answer is 503 with Retry-After: 1, which tablets retry."},
      {"cache_families", Kind::integer, 0, 10000000, "1000",
       "Families each worker keeps decoded in memory (least recently used dropped first)."},
      {"cache_mib", Kind::integer, 0, 65536, "256",
       "MiB of ops each worker's family cache may hold; the memory bound is workers x cache_mib."},
      {"office_endpoint", Kind::object, 0, 0, "none (the repeater is off)",
       "The office system the repeater posts record changes to: {\"url\", \"ca_file\", \"token\", \"name\", "
       "\"max_attempts\", \"retry_base_ms\", \"retry_max_ms\", \"timeout_ms\", \"idle_ms\"} (docs/office.md)."},
      {"lsoa_table", Kind::path, 0, 0, "none",
       "The council's postcode-to-LSOA CSV the KPI report reads (`report --lsoa-table` overrides it; "
       "docs/report.md)."},
  };
  return table;
}

const Key* find_key(std::string_view name) {
  for (const auto& k : keys())
    if (k.name == name) return &k;
  return nullptr;
}

std::vector<Finding> validate(const json& config) {
  std::vector<Finding> out;
  if (!config.is_object()) return {{true, "the configuration must be a JSON object {\"key\": value, ...}"}};
  for (const auto& [name, value] : config.items()) {
    const Key* k = find_key(name);
    if (!k) {
      out.push_back({false, "unknown key \"" + name + "\": hearth-server does not read it (misspelt? "
                            "docs/configuration.md lists every key)"});
      continue;
    }
    if (!of_kind(*k, value)) {
      out.push_back({true, "\"" + name + "\" in the configuration must be " + kind_words(*k) + ", not " + value.dump()});
      continue;
    }
    if ((k->kind == Kind::path) && value.get<std::string>().empty())
      out.push_back({false, "\"" + name + "\" is empty: its default applies (docs/configuration.md)"});
  }
  // A value meant as a connection string but mistyped would be taken for a SQLite file of that
  // name (an empty store of its own, named with a password): refused, without echoing it.
  for (const char* name : {"database", "keyring"}) {
    auto it = config.find(name);
    if (it == config.end() || !it->is_string()) continue;
    const std::string v = it->get<std::string>();
    if (!sql::is_postgres_uri(v) && (v.find("://") != std::string::npos || v.rfind("postgres", 0) == 0))
      out.push_back({true, std::string("\"") + name + "\" looks like a connection string but is not a PostgreSQL one: "
                           "write postgresql://USER@HOST:PORT/DATABASE (a password belongs in ~/.pgpass), or a file "
                           "path for SQLite (docs/postgres.md)"});
  }
  if (auto office = config.find("office_endpoint"); office != config.end() && office->is_object())
    if (auto c = repeater_config_from_json(office->dump()); !c) out.push_back({true, c.error().message});
  return out;
}

std::string served_name(const json& config, const std::string& host) {
  auto it = config.find("server_name");
  if (it != config.end() && it->is_string() && !it->get<std::string>().empty()) return it->get<std::string>();
  return is_wildcard(host) ? std::string() : host;
}

}  // namespace hearth::server::config
