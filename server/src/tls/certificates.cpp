#include "certificates.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <utility>

#include "hearth/platform/random.hpp"
#include "pem.hpp"

namespace hearth::server::tls {

namespace fs = std::filesystem;

namespace {

Error fail(const std::string& what) { return make_error(ErrorCode::invalid_argument, what + ": " + openssl_error()); }

// Adds one extension written in OpenSSL's configuration syntax ("critical,CA:TRUE").
bool add_extension(X509* cert, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer, cert, nullptr, nullptr, 0);
  ExtensionPtr ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
  return ext && X509_add_ext(cert, ext.get(), -1) == 1;
}

// 16 random bytes, the top bit cleared: a positive serial that is never zero in practice.
bool set_random_serial(X509* cert) {
  auto bytes = platform::random_bytes(16);
  if (!bytes) return false;
  (*bytes)[0] = static_cast<char>(static_cast<unsigned char>((*bytes)[0]) & 0x7f);
  BignumPtr bn(BN_bin2bn(reinterpret_cast<const unsigned char*>(bytes->data()), 16, nullptr));
  return bn && BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert)) != nullptr;
}

std::string join_san(const CertificateSpec& spec) {
  std::string san;
  for (const auto& d : spec.dns_names) san += (san.empty() ? "" : ",") + std::string("DNS:") + d;
  for (const auto& ip : spec.ip_addresses) san += (san.empty() ? "" : ",") + std::string("IP:") + ip;
  return san;
}

}  // namespace

Result<PemPair> make_certificate(const CertificateSpec& spec, const PemPair* issuer) {
  KeyPtr key(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"));
  if (!key) return fail("making a P-256 key failed");
  X509Ptr issuer_cert;
  KeyPtr issuer_key;
  if (issuer) {
    issuer_cert = parse_certificate(issuer->cert);
    issuer_key = parse_private_key(issuer->key);
    if (!issuer_cert || !issuer_key) return fail("the issuer's certificate or key is not PEM");
    if (X509_check_private_key(issuer_cert.get(), issuer_key.get()) != 1)
      return fail("the issuer's key does not match its certificate");
  }
  X509Ptr cert(X509_new());
  if (!cert || X509_set_version(cert.get(), 2) != 1 || !set_random_serial(cert.get()) ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after)) ||
      X509_set_pubkey(cert.get(), key.get()) != 1)
    return fail("making the certificate of " + spec.common_name + " failed");
  X509_NAME* subject = X509_get_subject_name(cert.get());
  if (X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_UTF8,
                                 reinterpret_cast<const unsigned char*>(spec.common_name.c_str()), -1, -1, 0) != 1 ||
      X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer_cert.get()) : subject) != 1)
    return fail("naming the certificate of " + spec.common_name + " failed");
  // The same extensions `openssl req -x509` / `openssl x509 -req` gave the development
  // certificates: constraints and usages, the names, and the key identifiers that link a
  // certificate to its issuer.
  X509* signer = issuer ? issuer_cert.get() : cert.get();
  bool ok = true;
  if (spec.ca) {
    ok = add_extension(cert.get(), signer, NID_basic_constraints,
                       "critical,CA:TRUE,pathlen:" + std::to_string(spec.path_length)) &&
         add_extension(cert.get(), signer, NID_key_usage, "critical,keyCertSign,cRLSign");
  } else {
    ok = add_extension(cert.get(), signer, NID_basic_constraints, "critical,CA:FALSE") &&
         (!spec.digital_signature || add_extension(cert.get(), signer, NID_key_usage, "critical,digitalSignature")) &&
         add_extension(cert.get(), signer, NID_ext_key_usage, "serverAuth");
  }
  if (const std::string san = join_san(spec); ok && !san.empty())
    ok = add_extension(cert.get(), signer, NID_subject_alt_name, san);
  ok = ok && add_extension(cert.get(), signer, NID_subject_key_identifier, "hash") &&
       add_extension(cert.get(), signer, NID_authority_key_identifier, "keyid:always");
  if (!ok) return fail("adding the extensions of " + spec.common_name + " failed");
  if (X509_sign(cert.get(), issuer ? issuer_key.get() : key.get(), EVP_sha256()) <= 0)
    return fail("signing the certificate of " + spec.common_name + " failed");
  PemPair out{certificate_pem(cert.get()), private_key_pem(key.get())};
  if (out.cert.empty() || out.key.empty()) return fail("encoding the certificate of " + spec.common_name + " failed");
  return out;
}

Result<void> write_file_atomically(const fs::path& file, const std::string& content, unsigned mode) {
  const fs::path tmp = file.string() + ".tmp";
  ::unlink(tmp.c_str());  // a temporary file left by an earlier run that stopped
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, static_cast<mode_t>(mode));
  if (fd < 0) return make_error(ErrorCode::storage, "cannot write " + tmp.string() + ": " + std::strerror(errno));
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  const int saved = errno;
  // Exactly the mode asked for, then the bytes on disk.
  const bool ok = done == content.size() && ::fchmod(fd, static_cast<mode_t>(mode)) == 0 && ::fsync(fd) == 0;
  ::close(fd);
  if (!ok || std::rename(tmp.c_str(), file.c_str()) != 0) {
    const std::string why = std::strerror(ok ? errno : saved);
    ::unlink(tmp.c_str());
    return make_error(ErrorCode::storage, "cannot write " + file.string() + ": " + why);
  }
  return {};
}

Result<DevCertificates> make_dev_certificates(const fs::path& dir, int64_t now) {
  std::error_code ec;
  if (!fs::exists(dir, ec)) {
    fs::create_directories(dir, ec);
    if (ec) return make_error(ErrorCode::storage, "cannot make " + dir.string() + ": " + ec.message());
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  constexpr int64_t kDay = 86400;
  struct Wanted {
    const char* name;
    const char* issuer;  // nullptr: self-signed
    CertificateSpec spec;
  };
  const std::vector<Wanted> wanted = {
      {"ca", nullptr, {"Hearth Development CA", {}, {}, true, false, now, now + 825 * kDay}},
      {"rogue-ca", nullptr, {"Hearth Rogue Test CA", {}, {}, true, false, now, now + 825 * kDay}},
      {"server", "ca", {"localhost", {"localhost"}, {"127.0.0.1"}, false, true, now, now + 397 * kDay}},
      {"rogue-server", "rogue-ca", {"localhost", {"localhost"}, {"127.0.0.1"}, false, false, now, now + 397 * kDay}},
  };
  DevCertificates report;
  for (const auto& w : wanted) {
    const fs::path crt = dir / (std::string(w.name) + ".crt"), key = dir / (std::string(w.name) + ".key");
    if (fs::exists(crt, ec)) {
      report.kept.push_back(crt.filename().string());
      continue;
    }
    PemPair issuer;
    if (w.issuer) {  // from disk: made just now, or kept from an earlier run
      auto cert = read_text_file(dir / (std::string(w.issuer) + ".crt"));
      auto issuer_key = read_text_file(dir / (std::string(w.issuer) + ".key"));
      if (!cert) return cert.error();
      if (!issuer_key) return issuer_key.error();
      issuer = PemPair{std::move(*cert), std::move(*issuer_key)};
    }
    auto made = make_certificate(w.spec, w.issuer ? &issuer : nullptr);
    if (!made) return make_error(made.error().code, crt.string() + ": " + made.error().message);
    // The key first: a certificate on disk always has its key beside it.
    if (auto r = write_file_atomically(key, made->key, 0600); !r) return r.error();
    if (auto r = write_file_atomically(crt, made->cert, 0600); !r) return r.error();
    report.made.push_back(key.filename().string());
    report.made.push_back(crt.filename().string());
  }
  return report;
}

}  // namespace hearth::server::tls
