#pragma once
// Certificates made with OpenSSL's C API, inside hearth-server: the development certificates of
// `hearth-server init --dev` (a binary installed far from the source tree makes them too), and
// the fixtures the certificate checks are tested with (tls_check.hpp). Keys are ECDSA P-256,
// signatures SHA-256, key files PKCS#8 PEM with mode 0600.
// Never for production: a council's PKI issues the server certificate (docs/configuration.md).
// Errors are values; thread-safe (no shared state).
#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server::tls {

// A certificate and its private key, both PEM.
struct PemPair {
  std::string cert;
  std::string key;
};

// What to put in a certificate.
struct CertificateSpec {
  std::string common_name;
  std::vector<std::string> dns_names;     // subjectAltName DNS entries
  std::vector<std::string> ip_addresses;  // subjectAltName IP entries ("127.0.0.1", "::1")
  // A CA: basicConstraints critical CA:TRUE with pathlen `path_length`, keyUsage critical
  // keyCertSign, cRLSign. Otherwise basicConstraints critical CA:FALSE and extendedKeyUsage
  // serverAuth.
  bool ca = false;
  bool digital_signature = true;  // a leaf's keyUsage critical digitalSignature (false: no keyUsage)
  int64_t not_before = 0;         // Unix seconds
  int64_t not_after = 0;          // Unix seconds
  int path_length = 0;            // a CA's intermediate CAs below it (0: it issues leaves only)
};

// A new P-256 key and a certificate for it, signed by `issuer` (its certificate and key), or
// self-signed when `issuer` is null. The serial number is 127 random bits. ErrorCode::
// invalid_argument when the issuer's PEM does not parse or the key does not match.
Result<PemPair> make_certificate(const CertificateSpec& spec, const PemPair* issuer);

// The certificates of `init --dev`, in `dir` (made with mode 0700 if missing):
//   ca.crt, ca.key                   "Hearth Development CA", 825 days
//   server.crt, server.key           CN localhost, SAN DNS:localhost and IP:127.0.0.1, issued by
//                                    ca, 397 days, serverAuth
//   rogue-ca.crt, rogue-ca.key       "Hearth Rogue Test CA": a CA no tablet trusts
//   rogue-server.crt, rogue-server.key   a server certificate from rogue-ca, for the tests that
//                                    must see a wrong server refused
// A pair whose .crt exists is kept as it is (so a second run changes nothing); the others are
// made from `now` (Unix seconds). Each file is written whole under a temporary name, then given
// its name, with mode 0600 (keys and certificates alike, as before).
struct DevCertificates {
  std::vector<std::string> made;  // file names written, e.g. "server.crt"
  std::vector<std::string> kept;  // file names already there
};
Result<DevCertificates> make_dev_certificates(const std::filesystem::path& dir, int64_t now);

// Writes `content` to `file` under a temporary name, flushed, then renamed over it, with
// exactly `mode` (whatever the umask). ErrorCode::storage naming the file on failure.
Result<void> write_file_atomically(const std::filesystem::path& file, const std::string& content, unsigned mode);

}  // namespace hearth::server::tls
