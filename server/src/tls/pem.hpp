#pragma once
// PEM in and out of OpenSSL's types, and reading the files that hold it: shared by the making
// (certificates.hpp) and the checking (tls_check.hpp) of certificates. Internal to server/src/tls.
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server::tls {

struct X509Free {
  void operator()(X509* p) const { X509_free(p); }
};
struct KeyFree {
  void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); }
};
struct ExtensionFree {
  void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); }
};
struct BignumFree {
  void operator()(BIGNUM* p) const { BN_free(p); }
};
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;
using ExtensionPtr = std::unique_ptr<X509_EXTENSION, ExtensionFree>;
using BignumPtr = std::unique_ptr<BIGNUM, BignumFree>;

// OpenSSL's queued errors as one line (the queue is emptied), or "no detail".
std::string openssl_error();

// The first certificate in `pem` (null if there is none).
X509Ptr parse_certificate(const std::string& pem);
// Every certificate in `pem`, in order (a server certificate followed by its intermediates).
std::vector<X509Ptr> parse_certificates(const std::string& pem);
// An unencrypted private key in `pem` (null if there is none, or it is encrypted: no
// passphrase is ever asked for on the terminal).
KeyPtr parse_private_key(const std::string& pem);
// Whether `pem` holds a private key encrypted under a passphrase.
bool is_encrypted_key(const std::string& pem);

std::string certificate_pem(X509* cert);   // empty on failure
std::string private_key_pem(EVP_PKEY* key);  // PKCS#8 "PRIVATE KEY"; empty on failure

// The bytes of `file`, at most 1 MiB. ErrorCode::not_found (missing) or ErrorCode::storage
// (unreadable: permission, a directory, too large), naming the file and the reason.
Result<std::string> read_text_file(const std::filesystem::path& file);

}  // namespace hearth::server::tls
