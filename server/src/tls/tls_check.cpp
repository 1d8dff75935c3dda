#include "tls_check.hpp"

#include <arpa/inet.h>
#include <sys/stat.h>

#include <cstdio>
#include <ctime>

#include "pem.hpp"

namespace hearth::server::tls {

namespace {

struct StoreFree {
  void operator()(X509_STORE* p) const { X509_STORE_free(p); }
};
struct StoreCtxFree {
  void operator()(X509_STORE_CTX* p) const { X509_STORE_CTX_free(p); }
};
struct StackFree {
  void operator()(STACK_OF(X509) * p) const { sk_X509_free(p); }
};

// "/etc/hearth/tls/server.crt (ssl_certificate in /etc/nginx/conf.d/hearth.conf)"
std::string label(const std::string& file, const std::string& named_by) {
  return file + (named_by.empty() ? "" : " (" + named_by + ")");
}

int64_t unix_time(const ASN1_TIME* t) {
  struct tm tm {};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return 0;
  return static_cast<int64_t>(timegm(&tm));
}

bool is_ip_address(const std::string& name) {
  unsigned char buf[16];
  return inet_pton(AF_INET, name.c_str(), buf) == 1 || inet_pton(AF_INET6, name.c_str(), buf) == 1;
}

std::string names_of(X509* cert) {
  std::string out;
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  for (int i = 0; names && i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* n = sk_GENERAL_NAME_value(names, i);
    std::string one;
    if (n->type == GEN_DNS) {
      const ASN1_STRING* s = n->d.dNSName;
      one = "DNS:" + std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                                 static_cast<size_t>(ASN1_STRING_length(s)));
    } else if (n->type == GEN_IPADD) {
      const ASN1_OCTET_STRING* s = n->d.iPAddress;
      char text[INET6_ADDRSTRLEN] = {};
      const int len = ASN1_STRING_length(s);
      if ((len == 4 || len == 16) && inet_ntop(len == 4 ? AF_INET : AF_INET6, ASN1_STRING_get0_data(s), text, sizeof text))
        one = std::string("IP:") + text;
    }
    if (!one.empty()) out += (out.empty() ? "" : " ") + one;
  }
  GENERAL_NAMES_free(names);
  if (!out.empty()) return out;
  char cn[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0)
    return std::string("CN:") + cn + " (no subjectAltName)";
  return "no name";
}

bool covers(X509* cert, const std::string& name) {
  const bool yes = is_ip_address(name) ? X509_check_ip_asc(cert, name.c_str(), 0) == 1
                                       : X509_check_host(cert, name.data(), name.size(), 0, nullptr) == 1;
  ERR_clear_error();
  return yes;
}

std::string common_name(X509* cert) {
  char cn[256] = {};
  if (X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof cn) > 0) return cn;
  return "(no CN)";
}

// Whether `chain` (the leaf first) leads to one of `ca_pem`'s certificates; else why not.
std::string chain_error(const std::vector<X509Ptr>& chain, const std::string& ca_pem, int64_t now) {
  auto cas = parse_certificates(ca_pem);
  if (cas.empty()) return "it holds no PEM certificate";
  std::unique_ptr<X509_STORE, StoreFree> store(X509_STORE_new());
  std::unique_ptr<X509_STORE_CTX, StoreCtxFree> ctx(X509_STORE_CTX_new());
  std::unique_ptr<STACK_OF(X509), StackFree> untrusted(sk_X509_new_null());
  if (!store || !ctx || !untrusted) return "out of memory";
  for (const auto& ca : cas) X509_STORE_add_cert(store.get(), ca.get());
  for (size_t i = 1; i < chain.size(); ++i) sk_X509_push(untrusted.get(), chain[i].get());
  if (X509_STORE_CTX_init(ctx.get(), store.get(), chain[0].get(), untrusted.get()) != 1) return openssl_error();
  X509_STORE_CTX_set_time(ctx.get(), 0, static_cast<time_t>(now));
  X509_STORE_CTX_set_purpose(ctx.get(), X509_PURPOSE_SSL_SERVER);
  if (X509_verify_cert(ctx.get()) == 1) return {};
  std::string why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(ctx.get()));
  ERR_clear_error();
  return why;
}

// Why read_text_file failed, without the file name it starts with ("cannot read F: why").
std::string reason(const Error& e) {
  const size_t at = e.message.rfind(": ");
  return at == std::string::npos ? e.message : e.message.substr(at + 2);
}

std::string octal_mode(mode_t mode) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

}  // namespace

bool TlsCheck::ok() const {
  for (const auto& f : findings)
    if (f.problem) return false;
  return true;
}

std::string TlsCheck::problems() const {
  std::string out;
  for (const auto& f : findings)
    if (f.problem) out += (out.empty() ? "" : "\n") + f.message;
  return out;
}

std::string iso_time(int64_t unix_seconds) {
  time_t t = static_cast<time_t>(unix_seconds);
  struct tm tm {};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string covered_names(const std::string& cert_pem) {
  X509Ptr cert = parse_certificate(cert_pem);
  return cert ? names_of(cert.get()) : "no certificate";
}

bool covers_name(const std::string& cert_pem, const std::string& name) {
  X509Ptr cert = parse_certificate(cert_pem);
  return cert && covers(cert.get(), name);
}

TlsCheck check_tls_files(const TlsFiles& files, const TlsCheckOptions& options) {
  TlsCheck out;
  auto problem = [&](std::string m) { out.findings.push_back({true, std::move(m)}); };
  auto warning = [&](std::string m) { out.findings.push_back({false, std::move(m)}); };
  const std::string cert_label = label(files.cert, files.cert_named_by), key_label = label(files.key, files.key_named_by);

  // Both files read first, so one run names every problem.
  std::vector<X509Ptr> chain;
  if (files.cert.empty()) {
    problem("no server certificate is named (" + files.cert_named_by + ")");
  } else if (auto text = read_text_file(files.cert); !text) {
    problem("cannot read the server certificate " + cert_label + ": " + reason(text.error()));
  } else {
    out.pem.cert = std::move(*text);
    chain = parse_certificates(out.pem.cert);
    if (chain.empty()) problem("the server certificate " + cert_label + " holds no PEM certificate (-----BEGIN CERTIFICATE-----)");
  }
  KeyPtr key;
  if (files.key.empty()) {
    problem("no private key is named (" + files.key_named_by + ")");
  } else if (auto text = read_text_file(files.key); !text) {
    problem("cannot read the private key " + key_label + ": " + reason(text.error()));
  } else {
    out.pem.key = std::move(*text);
    key = parse_private_key(out.pem.key);
    if (!key && is_encrypted_key(out.pem.key))
      problem("the private key " + key_label + " is encrypted with a passphrase, which cannot be given at start: "
              "decrypt it (`openssl pkey -in KEY -out NEW_KEY`) and keep it readable by the service user alone");
    else if (!key)
      problem("the private key " + key_label + " holds no PEM private key (-----BEGIN PRIVATE KEY-----)");
    struct stat st {};
    if (::stat(files.key.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
      problem("the private key " + key_label + " can be read by any user (mode " + octal_mode(st.st_mode) +
              "): run `chmod 600 " + files.key + "` and replace the key if others could have copied it");
    else if (::stat(files.key.c_str(), &st) == 0 && (st.st_mode & S_IRGRP))
      warning("the private key " + key_label + " can be read by its group (mode " + octal_mode(st.st_mode) +
              "): keep it readable by the service user alone (chmod 600) unless that group is meant to read it");
  }
  if (chain.empty()) return out;
  X509* cert = chain[0].get();

  if (key && X509_check_private_key(cert, key.get()) != 1) {
    ERR_clear_error();
    problem("the private key " + key_label + " does not match the server certificate " + cert_label +
            ": they are not a pair (was one of them replaced without the other?)");
  }
  const int64_t not_before = unix_time(X509_get0_notBefore(cert)), not_after = unix_time(X509_get0_notAfter(cert));
  if (not_after < options.now)
    problem("the server certificate " + cert_label + " expired on " + iso_time(not_after) + ": renew it");
  else if (not_before > options.now)
    problem("the server certificate " + cert_label + " is not valid until " + iso_time(not_before) +
            " (is this machine's clock right?)");
  else if (not_after - options.now < options.warn_days_left * 86400)
    warning("the server certificate " + cert_label + " expires on " + iso_time(not_after) + ", in " +
            std::to_string((not_after - options.now) / 86400) + " days: renew it before then");

  const std::string names = names_of(cert);
  if (!options.name.empty()) {
    if (!covers(cert, options.name))
      problem("the server certificate " + cert_label + " does not cover " + options.name +
              ", the name tablets connect to (it covers " + names + "): every handshake would fail");
  }
  if (!files.ca.empty()) {
    const std::string ca_label = label(files.ca, files.ca_named_by);
    if (auto ca = read_text_file(files.ca); !ca)
      warning("cannot read the organisation CA " + ca_label + ", so the server certificate was not checked against "
              "it: " + reason(ca.error()));
    else if (std::string why = chain_error(chain, *ca, options.now); !why.empty())
      warning("the server certificate " + cert_label + " does not chain to the organisation CA " + ca_label + " (" +
              why + "): tablets that were given that CA at enrolment will refuse this server");
  }
  out.summary = "CN=" + common_name(cert) + ", covers " + names + ", valid until " + iso_time(not_after) +
                (chain.size() > 1 ? ", with " + std::to_string(chain.size() - 1) + " intermediate certificate(s)" : "");
  return out;
}

}  // namespace hearth::server::tls
