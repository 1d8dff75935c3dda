#include "audit_key.hpp"

#include <fcntl.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "hearth/platform/encoding.hpp"
#include "hex.hpp"

namespace hearth::server::audit {

namespace fs = std::filesystem;

namespace {

constexpr size_t kSecretBytes = 32;
constexpr const char* kFileHeader = "hearth-audit-key v1";
constexpr const char* kChainLabel = "hearth audit chain key v1";
constexpr const char* kCheckpointLabel = "hearth audit checkpoint signing key v1";

Error openssl_error(const std::string& what) { return make_error(ErrorCode::storage, "OpenSSL failed to " + what); }

// HMAC-SHA256(key, message), one shot; used to derive the two keys from the secret.
Result<std::string> hmac_once(std::string_view key, std::string_view message) {
  unsigned char out[32];
  size_t len = 0;
  if (!EVP_Q_mac(nullptr, "HMAC", nullptr, "SHA256", nullptr, key.data(), key.size(),
                 reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, sizeof out, &len) ||
      len != sizeof out)
    return openssl_error("compute an HMAC");
  return std::string(reinterpret_cast<char*>(out), len);
}

}  // namespace

struct AuditKey::Material {
  std::string chain_key;
  std::string public_key;
  EVP_MAC_CTX* mac_template = nullptr;  // keyed once; each MAC works on a copy
  EVP_PKEY* signing_key = nullptr;

  ~Material() {
    EVP_MAC_CTX_free(mac_template);
    EVP_PKEY_free(signing_key);
    OPENSSL_cleanse(chain_key.data(), chain_key.size());
  }
};

Result<AuditKey> AuditKey::generate() {
  auto drawn = platform::random_hex(kSecretBytes);
  if (!drawn) return drawn.error();
  auto secret = from_hex(*drawn);
  if (!secret) return openssl_error("draw random bytes");
  auto key = from_secret(*secret);
  OPENSSL_cleanse(secret->data(), secret->size());
  return key;
}

Result<AuditKey> AuditKey::from_secret(std::string_view secret) {
  if (secret.size() != kSecretBytes)
    return make_error(ErrorCode::invalid_argument, "an audit key is 32 bytes, not " + std::to_string(secret.size()));
  auto m = std::make_shared<Material>();
  auto chain = hmac_once(secret, kChainLabel);
  if (!chain) return chain.error();
  m->chain_key = std::move(*chain);
  auto seed = hmac_once(secret, kCheckpointLabel);
  if (!seed) return seed.error();

  m->signing_key = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr,
                                                reinterpret_cast<const unsigned char*>(seed->data()), seed->size());
  OPENSSL_cleanse(seed->data(), seed->size());
  if (!m->signing_key) return openssl_error("make the Ed25519 checkpoint key");
  unsigned char pub[32];
  size_t pub_len = sizeof pub;
  if (!EVP_PKEY_get_raw_public_key(m->signing_key, pub, &pub_len) || pub_len != sizeof pub)
    return openssl_error("read the checkpoint public key");
  m->public_key.assign(reinterpret_cast<char*>(pub), pub_len);

  EVP_MAC* hmac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (!hmac) return openssl_error("fetch HMAC");
  m->mac_template = EVP_MAC_CTX_new(hmac);
  EVP_MAC_free(hmac);
  if (!m->mac_template) return openssl_error("make an HMAC context");
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (!EVP_MAC_init(m->mac_template, reinterpret_cast<const unsigned char*>(m->chain_key.data()), m->chain_key.size(),
                    params))
    return openssl_error("key the HMAC");
  return AuditKey(std::move(m));
}

Result<AuditKey> AuditKey::load(const fs::path& file) {
  const std::string restore = "restore the audit key from your key backup (docs/audit.md)";
  int fd = ::open(file.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return make_error(ErrorCode::locked, "cannot read the audit key " + file.string() + ": " + std::strerror(errno) +
                                             "; " + restore);
  struct stat st {};
  bool stat_ok = ::fstat(fd, &st) == 0;
  std::string text;
  char buf[256];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0 && text.size() < 4096) text.append(buf, static_cast<size_t>(n));
  ::close(fd);
  if (!stat_ok || !S_ISREG(st.st_mode))
    return make_error(ErrorCode::locked, "the audit key " + file.string() + " is not a regular file; " + restore);
  if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0)
    return make_error(ErrorCode::locked, "the audit key " + file.string() +
                                             " can be read or written by group or others; run `chmod 600 " +
                                             file.string() + "` (and check who could have copied it)");
  std::istringstream in(text);
  std::string header, hex;
  std::getline(in, header);
  std::getline(in, hex);
  auto secret = from_hex(hex);
  if (header != kFileHeader || !secret || secret->size() != kSecretBytes)
    return make_error(ErrorCode::locked, "the audit key " + file.string() + " is not a hearth audit key file; " + restore);
  auto key = from_secret(*secret);
  OPENSSL_cleanse(secret->data(), secret->size());
  OPENSSL_cleanse(text.data(), text.size());
  OPENSSL_cleanse(hex.data(), hex.size());
  return key;
}

Result<AuditKey> AuditKey::create_file(const fs::path& file) {
  std::error_code ec;
  if (file.has_parent_path() && !fs::exists(file.parent_path(), ec)) {
    fs::create_directories(file.parent_path(), ec);
    if (ec) return make_error(ErrorCode::storage, "cannot create " + file.parent_path().string() + ": " + ec.message());
    fs::permissions(file.parent_path(), fs::perms::owner_all, fs::perm_options::replace, ec);
  }
  auto drawn = platform::random_hex(kSecretBytes);
  if (!drawn) return drawn.error();
  auto secret = from_hex(*drawn);
  if (!secret) return openssl_error("draw random bytes");
  auto key = from_secret(*secret);
  if (!key) return key;
  std::string text = std::string(kFileHeader) + "\n" + to_hex(*secret) + "\n";
  OPENSSL_cleanse(secret->data(), secret->size());
  int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    OPENSSL_cleanse(text.data(), text.size());
    return make_error(errno == EEXIST ? ErrorCode::conflict : ErrorCode::storage,
                      "cannot create the audit key " + file.string() + ": " + std::strerror(errno));
  }
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  OPENSSL_cleanse(text.data(), text.size());
  if (!written) {
    ::unlink(file.c_str());
    return make_error(ErrorCode::storage, "cannot write the audit key " + file.string());
  }
  return key;
}

Result<std::string> AuditKey::mac(std::string_view message) const {
  EVP_MAC_CTX* ctx = EVP_MAC_CTX_dup(m_->mac_template);
  if (!ctx) return openssl_error("copy the HMAC context");
  unsigned char out[32];
  size_t len = 0;
  bool ok = EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(message.data()), message.size()) &&
            EVP_MAC_final(ctx, out, &len, sizeof out) && len == sizeof out;
  EVP_MAC_CTX_free(ctx);
  if (!ok) return openssl_error("compute an HMAC");
  return std::string(reinterpret_cast<char*>(out), len);
}

Result<std::string> AuditKey::sign(std::string_view message) const {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  if (!ctx) return openssl_error("make a signing context");
  unsigned char sig[64];
  size_t len = sizeof sig;
  bool ok = EVP_DigestSignInit(ctx, nullptr, nullptr, nullptr, m_->signing_key) == 1 &&
            EVP_DigestSign(ctx, sig, &len, reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  if (!ok || len != sizeof sig) return openssl_error("sign a checkpoint");
  return std::string(reinterpret_cast<char*>(sig), len);
}

const std::string& AuditKey::public_key() const { return m_->public_key; }

bool verify_signature(std::string_view public_key, std::string_view message, std::string_view signature) {
  if (public_key.size() != 32 || signature.size() != 64) return false;
  EVP_PKEY* pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr,
                                               reinterpret_cast<const unsigned char*>(public_key.data()), 32);
  if (!pkey) return false;
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  bool ok = ctx && EVP_DigestVerifyInit(ctx, nullptr, nullptr, nullptr, pkey) == 1 &&
            EVP_DigestVerify(ctx, reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
                             reinterpret_cast<const unsigned char*>(message.data()), message.size()) == 1;
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(pkey);
  return ok;
}

fs::path locate_audit_key(const fs::path& data_dir, const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds && *creds)
    return fs::path(creds) / "hearth-audit-key";
  return data_dir / "keys" / "audit.key";
}

bool is_default_key_location(const fs::path& data_dir, const fs::path& key) {
  return key.lexically_normal() == (data_dir / "keys" / "audit.key").lexically_normal();
}

}  // namespace hearth::server::audit
