#include "audit_key.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstdlib>

#include "hearth/platform/encoding.hpp"
#include "hex.hpp"
#include "keys/key_file.hpp"

namespace hearth::server::audit {

namespace fs = std::filesystem;

namespace {

constexpr size_t kSecretBytes = 32;
const keys::KeyFileKind kKeyFile{"hearth-audit-key v1", "the audit key",
                                 "restore the audit key from your key backup (docs/audit.md)"};
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
  auto secret = keys::read_key_file(file, kKeyFile);
  if (!secret) return secret.error();
  auto key = from_secret(*secret);
  OPENSSL_cleanse(secret->data(), secret->size());
  return key;
}

Result<AuditKey> AuditKey::create_file(const fs::path& file) {
  auto secret = keys::create_key_file(file, kKeyFile);
  if (!secret) return secret.error();
  auto key = from_secret(*secret);
  OPENSSL_cleanse(secret->data(), secret->size());
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
