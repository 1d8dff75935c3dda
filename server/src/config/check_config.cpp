#include "check_config.hpp"

#include <cstdlib>

#include "audit/audit_key.hpp"
#include "hearth/server/http.hpp"
#include "keys/kek.hpp"
#include "nginx_tls.hpp"
#include "tls/pem.hpp"

namespace hearth::server::config {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

// The lines printed and the count of problems and warnings.
struct Report {
  std::ostream& out;
  int problems = 0;
  int warnings = 0;
  void ok(const std::string& m) { out << "ok: " << m << "\n"; }
  void add(const Finding& f) {
    out << (f.problem ? "PROBLEM: " : "warning: ") << f.message << "\n";
    ++(f.problem ? problems : warnings);
  }
  void add(const std::vector<Finding>& fs) {
    for (const auto& f : fs) add(f);
  }
};

std::string text_of(const json& config, const char* key) {
  auto it = config.find(key);
  return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
}

bool flag_of(const json& config, const char* key, bool fallback) {
  auto it = config.find(key);
  return it != config.end() && it->is_boolean() ? it->get<bool>() : fallback;
}

// A key file (the KEK, the audit key) where the server will look for it. When it would come
// from systemd's LoadCredential= (no "kek" in the config, no $CREDENTIALS_DIRECTORY here), a
// missing file is only a warning: this run cannot see the credential.
template <typename Load>
void check_key_file(Report& r, const std::string& what, const char* config_key, const fs::path& file,
                    const json& config, Load load) {
  const char* creds = std::getenv("CREDENTIALS_DIRECTORY");
  const bool placed = !text_of(config, config_key).empty() || (creds && *creds);
  std::error_code ec;
  if (!fs::exists(file, ec) && !placed) {
    r.add({false, what + " is not at " + file.string() + ": under systemd it comes from the unit's LoadCredential= "
                         "(deploy/systemd/hearth-server.service), which this check cannot see; otherwise name it in "
                         "\"" + config_key + "\""});
    return;
  }
  if (auto loaded = load(file); !loaded)
    r.add({true, loaded.error().message});
  else
    r.ok(what + " " + file.string() + " can be read and is a key file of its kind");
}

void check_server_tls(Report& r, const json& config, const std::string& config_file, int64_t now) {
  const std::string host = text_of(config, "listen").empty() ? "127.0.0.1" : text_of(config, "listen");
  const std::string name = served_name(config, host);
  if (name.empty())
    r.add({false, "\"listen\" is " + host + " and no \"server_name\" is set, so the name the server certificate must "
                  "cover is not known and is not checked: set \"server_name\" to the name tablets connect to"});
  auto check = tls::check_tls_files(server_tls_files(config, config_file), tls::TlsCheckOptions{name, now});
  r.add(check.findings);
  if (check.ok())
    r.ok("hearth-server serves TLS itself with " + text_of(config, "cert") + " and its key " + text_of(config, "key") +
         " (" + check.summary + ")");
}

// Names nginx may be reached by that a certificate can be checked against (not "_", regular
// expressions or wildcards).
std::vector<std::string> checkable(const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names)
    if (!n.empty() && n != "_" && n[0] != '~' && n.find('*') == std::string::npos) out.push_back(n);
  return out;
}

void check_nginx(Report& r, const std::string& conf, int64_t now) {
  auto text = tls::read_text_file(conf);
  if (!text) {
    r.add({true, "the nginx configuration: " + text.error().message});
    return;
  }
  auto servers = nginx_tls_servers(*text);
  if (!servers) {
    r.add({true, "the nginx configuration " + conf + " cannot be read as nginx's syntax: " + servers.error().message});
    return;
  }
  if (servers->empty()) r.add({true, "the nginx configuration " + conf + " has no server block naming an ssl_certificate"});
  for (const auto& s : *servers) {
    const std::string where = " in " + conf + " (server block of line " + std::to_string(s.line) + ")";
    const auto names = checkable(s.names);
    for (const auto& n : names)
      if (n == "hearth.example.org")
        r.add({true, "server_name" + where + " is still the example's hearth.example.org: set the name tablets "
                     "connect to"});
    if (names.empty())
      r.add({false, "no server_name" + where + " names a host, so the certificate's names are not checked"});
    tls::TlsFiles files{s.cert, s.key, "", "ssl_certificate" + where, "ssl_certificate_key" + where, ""};
    auto check = tls::check_tls_files(files, tls::TlsCheckOptions{names.empty() ? "" : names[0], now});
    r.add(check.findings);
    for (size_t i = 1; i < names.size() && !check.pem.cert.empty(); ++i)
      if (!tls::covers_name(check.pem.cert, names[i]))
        r.add({true, "the certificate " + s.cert + " (ssl_certificate" + where + ") does not cover " + names[i] +
                     ", one of its server_name values (it covers " + tls::covered_names(check.pem.cert) + ")"});
    if (check.ok()) r.ok("nginx serves " + s.cert + " and its key " + s.key + where + " (" + check.summary + ")");
  }
}

}  // namespace

tls::TlsFiles server_tls_files(const json& config, const std::string& config_file) {
  auto named = [&](const char* key) { return "\"" + std::string(key) + "\" in " + config_file; };
  return tls::TlsFiles{text_of(config, "cert"), text_of(config, "key"), text_of(config, "ca"),
                       named("cert"),           named("key"),           named("ca")};
}

Result<void> refuse_on_problems(const std::vector<Finding>& findings, std::vector<std::string>& warnings) {
  std::string problems;
  for (const auto& f : findings) {
    if (f.problem)
      problems += (problems.empty() ? "" : "\n  ") + f.message;
    else
      warnings.push_back(f.message);
  }
  if (problems.empty()) return {};
  return make_error(ErrorCode::invalid_argument, problems);
}

int check_config(const CheckConfigRequest& request, std::ostream& out) {
  Report r{out};
  const std::string file = request.config_file.string();
  out << "checking " << file << (request.nginx_conf.empty() ? "" : " and " + request.nginx_conf) << "\n";
  json config;
  if (auto text = tls::read_text_file(request.config_file); !text) {
    r.add({true, "the configuration: " + text.error().message +
                     (text.error().code == ErrorCode::not_found ? " (make one with `hearth-server --data DIR init`)" : "")});
  } else {
    config = json::parse(*text, nullptr, false);
    if (config.is_discarded()) {
      r.add({true, file + " is not valid JSON"});
    } else {
      const int before = r.problems;
      r.add(validate(config));
      if (r.problems == before) r.ok(file + ": every key is of its kind and range");
    }
  }
  if (config.is_object()) {
    const std::string listen = text_of(config, "listen").empty() ? "127.0.0.1" : text_of(config, "listen");
    if (flag_of(config, "behind_proxy", false) && !is_loopback_address(listen)) {
      r.add({true, "\"behind_proxy\": plain HTTP is served on a loopback address only, and \"listen\" is \"" + listen +
                       "\": use 127.0.0.1 (nginx terminates TLS in front)"});
    } else if (flag_of(config, "behind_proxy", false)) {
      r.ok("plain HTTP on " + listen + " behind nginx, which terminates TLS" +
           (request.nginx_conf.empty() ? ": check nginx's certificate with --nginx /etc/nginx/conf.d/hearth.conf" : ""));
    } else {
      check_server_tls(r, config, file, request.now);
    }
    if (flag_of(config, "encrypt_at_rest", true))
      check_key_file(r, "the key-encryption key (KEK)", "kek", keys::locate_kek(request.data_dir, text_of(config, "kek")),
                     config, [](const fs::path& f) { return keys::FileKek::load(f); });
    check_key_file(r, "the audit key", "audit_key", audit::locate_audit_key(request.data_dir, text_of(config, "audit_key")),
                   config, [](const fs::path& f) { return audit::AuditKey::load(f); });
    if (auto office = config.find("office_endpoint"); office != config.end() && office->is_object()) {
      const std::string ca = office->value("ca_file", "");
      if (!ca.empty() && (!fs::path(ca).is_absolute() || !tls::read_text_file(ca)))
        r.add({true, "office_endpoint.ca_file: '" + ca + "' must be the absolute path of a readable file of PEM CA "
                     "certificates (docs/office.md)"});
    }
    if (const std::string lsoa = text_of(config, "lsoa_table"); !lsoa.empty())
      if (auto t = tls::read_text_file(lsoa); !t) r.add({false, "\"lsoa_table\": " + t.error().message + " (only `report` reads it)"});
  }
  if (!request.nginx_conf.empty()) check_nginx(r, request.nginx_conf, request.now);
  if (r.problems == 0) {
    out << "configuration OK" << (r.warnings ? " (" + std::to_string(r.warnings) + " warning" + (r.warnings == 1 ? ")" : "s)") : "")
        << "\n";
    return 0;
  }
  out << r.problems << " problem" << (r.problems == 1 ? "" : "s") << " found: fix each PROBLEM line, then run check-config again\n";
  return 2;
}

}  // namespace hearth::server::config
