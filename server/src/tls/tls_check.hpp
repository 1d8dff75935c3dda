#pragma once
// The checks of a TLS certificate and its key before anything listens with them: `serve` (when
// hearth-server terminates TLS itself) refuses to start on a problem, and `check-config` runs
// the same checks, also on the files nginx is configured with (docs/configuration.md).
// Without them a key that does not match its certificate logs "listening" and then every
// handshake fails, unseen by the server.
// Errors are values; thread-safe (no shared state).
#include <cstdint>
#include <string>
#include <vector>

#include "certificates.hpp"
#include "hearth/core/error.hpp"

namespace hearth::server::tls {

// The files to check, and where they were named (for messages: `"cert" in FILE`,
// `ssl_certificate in /etc/nginx/conf.d/hearth.conf`).
struct TlsFiles {
  std::string cert;  // PEM: the server certificate, then any intermediate certificates
  std::string key;   // PEM: its private key, unencrypted
  std::string ca;    // optional PEM: the organisation CA that tablets pin at enrolment
  std::string cert_named_by;
  std::string key_named_by;
  std::string ca_named_by;
};

struct TlsCheckOptions {
  // The name tablets connect to (a DNS name or an IP address); empty: not checked.
  std::string name;
  int64_t now = 0;               // Unix seconds
  int64_t warn_days_left = 30;   // a certificate ending sooner is warned about
};

struct Finding {
  bool problem = true;  // false: a warning (the server can still start)
  std::string message;  // names the file it is about
};

struct TlsCheck {
  std::vector<Finding> findings;
  PemPair pem;          // the bytes checked, for the listener (no second read)
  std::string summary;  // "CN=localhost, covers DNS:localhost IP:127.0.0.1, valid until 2027-..."
  bool ok() const;      // no problem (warnings allowed)
  std::string problems() const;  // every problem's message, one per line
};

// Checks, each reported with the file it is about:
// - both files can be read (a missing file, a directory, no permission);
// - the certificate file holds a PEM certificate, the key file an unencrypted PEM private key;
// - the key is not readable by others (a problem) or by the group (a warning);
// - the key matches the certificate;
// - the certificate is valid now (not expired, not yet valid), with a warning when it ends
//   within `warn_days_left` days;
// - it covers `name` (subjectAltName, as clients check it);
// - when `ca` is given: the certificate chains to it (a warning otherwise: tablets that
//   pinned that CA would refuse the server; the server itself does not read the CA).
TlsCheck check_tls_files(const TlsFiles& files, const TlsCheckOptions& options);

// The names a certificate covers, for messages: "DNS:localhost IP:127.0.0.1" (its CN when it
// has no subjectAltName).
std::string covered_names(const std::string& cert_pem);

// Whether the first certificate in `cert_pem` covers `name` (a DNS name or an IP address).
bool covers_name(const std::string& cert_pem, const std::string& name);

// "2027-01-02T08:07:24Z" from Unix seconds.
std::string iso_time(int64_t unix_seconds);

}  // namespace hearth::server::tls
