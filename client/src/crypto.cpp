#include "crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/rand.h>

#include <memory>
#include <stdexcept>

namespace hearth::client::crypto {

namespace {
using CipherCtx = std::unique_ptr<EVP_CIPHER_CTX, decltype(&EVP_CIPHER_CTX_free)>;
CipherCtx new_ctx() { return CipherCtx(EVP_CIPHER_CTX_new(), &EVP_CIPHER_CTX_free); }
const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }
int len(std::string_view s) { return static_cast<int>(s.size()); }
}  // namespace

Key::Key(std::string_view raw) {
  if (raw.size() != kKeyBytes) throw std::invalid_argument("a key is exactly 32 bytes");
  for (size_t i = 0; i < kKeyBytes; ++i) bytes_[i] = static_cast<uint8_t>(raw[i]);
}

Key::~Key() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

std::string random_bytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1)
    throw std::runtime_error("OpenSSL RAND_bytes failed");
  return out;
}

Key Key::random() {
  std::string raw = random_bytes(kKeyBytes);
  Key k(raw);
  OPENSSL_cleanse(raw.data(), raw.size());
  return k;
}

std::string seal(const Key& key, std::string_view plaintext, std::string_view aad) {
  std::string out = random_bytes(kNonceBytes);
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  auto ctx = new_ctx();
  int n = 0;
  auto* cipher = reinterpret_cast<unsigned char*>(out.data() + kNonceBytes);
  if (!ctx || EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), bytes(out)) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(ctx.get(), nullptr, &n, bytes(aad), len(aad)) != 1) ||
      EVP_EncryptUpdate(ctx.get(), cipher, &n, bytes(plaintext), len(plaintext)) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), cipher + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          out.data() + kNonceBytes + plaintext.size()) != 1)
    throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

Result<std::string> open(const Key& key, std::string_view sealed, std::string_view aad) {
  if (sealed.size() < kSealOverhead)
    return make_error(ErrorCode::corrupt, "sealed value is " + std::to_string(sealed.size()) + " bytes, shorter than nonce and tag");
  std::string_view nonce = sealed.substr(0, kNonceBytes);
  std::string_view cipher = sealed.substr(kNonceBytes, sealed.size() - kSealOverhead);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::string out(cipher.size(), '\0');
  auto ctx = new_ctx();
  int n = 0;
  auto* plain = reinterpret_cast<unsigned char*>(out.data());
  bool ok = ctx && EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, key.data(), bytes(nonce)) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(ctx.get(), nullptr, &n, bytes(aad), len(aad)) == 1) &&
            EVP_DecryptUpdate(ctx.get(), plain, &n, bytes(cipher), len(cipher)) == 1 &&
            EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1 &&
            EVP_DecryptFinal_ex(ctx.get(), plain + n, &n) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return make_error(ErrorCode::corrupt, "authentication failed: the value was altered or belongs elsewhere");
  }
  return out;
}

struct Sealer::Contexts {
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  ~Contexts() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
  }
};

Sealer::Sealer(const Key& key) : ctx_(std::make_unique<Contexts>()) {
  if (!ctx_->enc || !ctx_->dec ||
      EVP_EncryptInit_ex(ctx_->enc, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx_->dec, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1)
    throw std::runtime_error("AES-256-GCM setup failed");
}

Sealer::~Sealer() = default;

std::string Sealer::seal(std::string_view plaintext, std::string_view aad) {
  std::string out = random_bytes(kNonceBytes);
  out.resize(kNonceBytes + plaintext.size() + kTagBytes);
  int n = 0;
  auto* cipher = reinterpret_cast<unsigned char*>(out.data() + kNonceBytes);
  EVP_CIPHER_CTX* c = ctx_->enc;
  if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, bytes(out)) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(c, nullptr, &n, bytes(aad), len(aad)) != 1) ||
      EVP_EncryptUpdate(c, cipher, &n, bytes(plaintext), len(plaintext)) != 1 ||
      EVP_EncryptFinal_ex(c, cipher + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes),
                          out.data() + kNonceBytes + plaintext.size()) != 1)
    throw std::runtime_error("AES-256-GCM encryption failed");
  return out;
}

Result<std::string> Sealer::open(std::string_view sealed, std::string_view aad) {
  if (sealed.size() < kSealOverhead)
    return make_error(ErrorCode::corrupt, "sealed value is " + std::to_string(sealed.size()) + " bytes, shorter than nonce and tag");
  std::string_view cipher = sealed.substr(kNonceBytes, sealed.size() - kSealOverhead);
  std::string tag(sealed.substr(sealed.size() - kTagBytes));
  std::string out(cipher.size(), '\0');
  int n = 0;
  auto* plain = reinterpret_cast<unsigned char*>(out.data());
  EVP_CIPHER_CTX* c = ctx_->dec;
  bool ok = EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, bytes(sealed)) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(c, nullptr, &n, bytes(aad), len(aad)) == 1) &&
            EVP_DecryptUpdate(c, plain, &n, bytes(cipher), len(cipher)) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1 &&
            EVP_DecryptFinal_ex(c, plain + n, &n) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return make_error(ErrorCode::corrupt, "authentication failed: the value was altered or belongs elsewhere");
  }
  return out;
}

Result<Key> derive_key(std::string_view secret, std::string_view salt, const ScryptParams& p) {
  std::string out(kKeyBytes, '\0');
  // maxmem: what scrypt needs (128 * N * r) plus slack.
  uint64_t maxmem = 128 * p.n * p.r * (p.p + 1) + (1u << 20);
  if (EVP_PBE_scrypt(secret.data(), secret.size(), bytes(salt), salt.size(), p.n, p.r, p.p, maxmem,
                     reinterpret_cast<unsigned char*>(out.data()), out.size()) != 1)
    return make_error(ErrorCode::invalid_argument, "scrypt rejected its parameters (N=" + std::to_string(p.n) +
                                                       ", r=" + std::to_string(p.r) + ", p=" + std::to_string(p.p) + ")");
  Key k(out);
  OPENSSL_cleanse(out.data(), out.size());
  return k;
}

}  // namespace hearth::client::crypto
