#include "hearth/platform/crypto.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>

#include <climits>

#include "hearth/platform/random.hpp"

namespace hearth::platform {

namespace {
const unsigned char* bytes(std::string_view s) { return reinterpret_cast<const unsigned char*>(s.data()); }

Error authentication_failed() {
  return make_error(ErrorCode::corrupt, "authentication failed: the value was altered or belongs elsewhere");
}
}  // namespace

Key::~Key() { OPENSSL_cleanse(bytes_.data(), bytes_.size()); }

Result<Key> Key::from_bytes(std::string_view raw) {
  if (raw.size() != kKeyBytes)
    return make_error(ErrorCode::invalid_argument,
                      "a key is exactly 32 bytes, got " + std::to_string(raw.size()));
  Key k;
  for (size_t i = 0; i < kKeyBytes; ++i) k.bytes_[i] = static_cast<uint8_t>(raw[i]);
  return k;
}

Result<Key> Key::random() {
  Key k;
  if (auto r = random_fill(k.bytes_); !r) return r.error();
  return k;
}

struct Sealer::Contexts {
  EVP_CIPHER_CTX* enc = EVP_CIPHER_CTX_new();
  EVP_CIPHER_CTX* dec = EVP_CIPHER_CTX_new();
  ~Contexts() {
    EVP_CIPHER_CTX_free(enc);
    EVP_CIPHER_CTX_free(dec);
  }
};

Sealer::Sealer(std::unique_ptr<Contexts> ctx) : ctx_(std::move(ctx)) {}
Sealer::~Sealer() = default;

Result<std::unique_ptr<Sealer>> Sealer::create(const Key& key) {
  auto ctx = std::make_unique<Contexts>();
  if (!ctx->enc || !ctx->dec ||
      EVP_EncryptInit_ex(ctx->enc, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx->dec, EVP_aes_256_gcm(), nullptr, key.data(), nullptr) != 1)
    return make_error(ErrorCode::storage, "AES-256-GCM setup failed (OpenSSL)");
  return std::unique_ptr<Sealer>(new Sealer(std::move(ctx)));
}

Result<std::string> Sealer::seal(std::string_view plaintext, std::string_view aad) {
  if (plaintext.size() > INT_MAX - kSealOverhead || aad.size() > INT_MAX)
    return make_error(ErrorCode::too_large, "a sealed value is limited to 2 GiB");
  std::string out(kNonceBytes + plaintext.size() + kTagBytes, '\0');
  auto* nonce = reinterpret_cast<uint8_t*>(out.data());
  if (auto r = random_fill({nonce, kNonceBytes}); !r) return r.error();
  int n = 0;
  auto* cipher = nonce + kNonceBytes;
  EVP_CIPHER_CTX* c = ctx_->enc;
  if (EVP_EncryptInit_ex(c, nullptr, nullptr, nullptr, nonce) != 1 ||
      (!aad.empty() && EVP_EncryptUpdate(c, nullptr, &n, bytes(aad), static_cast<int>(aad.size())) != 1) ||
      EVP_EncryptUpdate(c, cipher, &n, bytes(plaintext), static_cast<int>(plaintext.size())) != 1 ||
      EVP_EncryptFinal_ex(c, cipher + n, &n) != 1 ||
      EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, static_cast<int>(kTagBytes), cipher + plaintext.size()) != 1)
    return make_error(ErrorCode::storage, "AES-256-GCM encryption failed (OpenSSL)");
  return out;
}

Result<std::string> Sealer::open(std::string_view sealed, std::string_view aad) {
  if (sealed.size() < kSealOverhead)
    return make_error(ErrorCode::corrupt,
                      "sealed value is " + std::to_string(sealed.size()) + " bytes, shorter than nonce and tag");
  if (sealed.size() > INT_MAX || aad.size() > INT_MAX)
    return make_error(ErrorCode::too_large, "a sealed value is limited to 2 GiB");
  std::string_view cipher = sealed.substr(kNonceBytes, sealed.size() - kSealOverhead);
  std::array<unsigned char, kTagBytes> tag{};
  for (size_t i = 0; i < kTagBytes; ++i) tag[i] = static_cast<unsigned char>(sealed[sealed.size() - kTagBytes + i]);
  std::string out(cipher.size(), '\0');
  int n = 0;
  auto* plain = reinterpret_cast<unsigned char*>(out.data());
  EVP_CIPHER_CTX* c = ctx_->dec;
  bool ok = EVP_DecryptInit_ex(c, nullptr, nullptr, nullptr, bytes(sealed)) == 1 &&
            (aad.empty() || EVP_DecryptUpdate(c, nullptr, &n, bytes(aad), static_cast<int>(aad.size())) == 1) &&
            EVP_DecryptUpdate(c, plain, &n, bytes(cipher), static_cast<int>(cipher.size())) == 1 &&
            EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, static_cast<int>(kTagBytes), tag.data()) == 1 &&
            EVP_DecryptFinal_ex(c, plain + n, &n) == 1;
  if (!ok) {
    OPENSSL_cleanse(out.data(), out.size());
    return authentication_failed();
  }
  return out;
}

Result<std::string> seal(const Key& key, std::string_view plaintext, std::string_view aad) {
  auto sealer = Sealer::create(key);
  if (!sealer) return sealer.error();
  return (*sealer)->seal(plaintext, aad);
}

Result<std::string> open(const Key& key, std::string_view sealed, std::string_view aad) {
  auto sealer = Sealer::create(key);
  if (!sealer) return sealer.error();
  return (*sealer)->open(sealed, aad);
}

Result<Key> derive_key(std::string_view secret, std::string_view salt, const ScryptParams& p) {
  // maxmem: what scrypt needs (128 * N * r, plus 128 * r * p) with slack; refused above 1 GiB.
  if (p.n < 2 || p.r == 0 || p.p == 0 || p.n > (uint64_t{1} << 24) || p.r > 64 || p.p > 64)
    return make_error(ErrorCode::invalid_argument, "scrypt parameters out of range (N=" + std::to_string(p.n) +
                                                       ", r=" + std::to_string(p.r) + ", p=" + std::to_string(p.p) + ")");
  uint64_t maxmem = 128 * p.n * p.r * (p.p + 1) + (1u << 20);
  std::array<unsigned char, kKeyBytes> out{};
  if (EVP_PBE_scrypt(secret.data(), secret.size(), bytes(salt), salt.size(), p.n, p.r, p.p, maxmem, out.data(),
                     out.size()) != 1)
    return make_error(ErrorCode::invalid_argument, "scrypt rejected its parameters (N=" + std::to_string(p.n) +
                                                       ", r=" + std::to_string(p.r) + ", p=" + std::to_string(p.p) + ")");
  auto k = Key::from_bytes({reinterpret_cast<const char*>(out.data()), out.size()});
  OPENSSL_cleanse(out.data(), out.size());
  return k;
}

}  // namespace hearth::platform
