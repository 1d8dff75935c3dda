#include "pem.hpp"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/pem.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hearth::server::tls {

namespace {

struct BioFree {
  void operator()(BIO* p) const { BIO_free(p); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;

BioPtr read_bio(const std::string& pem) { return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

// Refuses every passphrase request, so an encrypted key fails instead of prompting.
int no_passphrase(char*, int, int, void*) { return -1; }

std::string drain(BIO* bio) {
  std::string out;
  char buf[4096];
  int n;
  while ((n = BIO_read(bio, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  return out;
}

constexpr size_t kMaxFileBytes = 1 << 20;

}  // namespace

std::string openssl_error() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    out += (out.empty() ? "" : "; ") + std::string(buf);
  }
  return out.empty() ? "no detail" : out;
}

X509Ptr parse_certificate(const std::string& pem) {
  BioPtr bio = read_bio(pem);
  X509Ptr cert(bio ? PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  ERR_clear_error();
  return cert;
}

std::vector<X509Ptr> parse_certificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = read_bio(pem);
  while (bio && out.size() < 32) {
    X509Ptr cert(PEM_read_bio_X509(bio.get(), nullptr, no_passphrase, nullptr));
    if (!cert) break;
    out.push_back(std::move(cert));
  }
  ERR_clear_error();  // the end of the text reads as an error
  return out;
}

KeyPtr parse_private_key(const std::string& pem) {
  BioPtr bio = read_bio(pem);
  KeyPtr key(bio ? PEM_read_bio_PrivateKey(bio.get(), nullptr, no_passphrase, nullptr) : nullptr);
  ERR_clear_error();
  return key;
}

bool is_encrypted_key(const std::string& pem) {
  return pem.find("-----BEGIN ENCRYPTED PRIVATE KEY-----") != std::string::npos ||
         pem.find("Proc-Type: 4,ENCRYPTED") != std::string::npos;
}

std::string certificate_pem(X509* cert) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return {};
  return drain(bio.get());
}

std::string private_key_pem(EVP_PKEY* key) {
  BioPtr bio(BIO_new(BIO_s_mem()));
  if (!bio || PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) return {};
  return drain(bio.get());
}

Result<std::string> read_text_file(const std::filesystem::path& file) {
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(errno == ENOENT ? ErrorCode::not_found : ErrorCode::storage,
                      "cannot read " + file.string() + ": " + std::strerror(errno));
  std::string text;
  char buf[4096];
  ssize_t n = 0;
  while (text.size() <= kMaxFileBytes && (n = ::read(fd, buf, sizeof buf)) > 0) text.append(buf, static_cast<size_t>(n));
  const int saved = errno;
  ::close(fd);
  if (n < 0) return make_error(ErrorCode::storage, "cannot read " + file.string() + ": " + std::strerror(saved));
  if (text.size() > kMaxFileBytes)
    return make_error(ErrorCode::storage, "cannot read " + file.string() + ": larger than 1 MiB, not a PEM file");
  return text;
}

}  // namespace hearth::server::tls
