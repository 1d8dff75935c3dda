#include "kek.hpp"

#include <openssl/crypto.h>

#include <cstdlib>

#include "key_file.hpp"

namespace hearth::server::keys {

namespace fs = std::filesystem;

namespace {
const KeyFileKind kKekFile{"hearth-kek v1", "the key-encryption key (KEK)",
                           "restore the KEK from your key backup, or name the right file in the config's \"kek\" "
                           "(docs/server-encryption.md, \"Key ceremony\")"};
constexpr const char* kWrapLabel = "hearth server family key v1";
}  // namespace

Result<std::unique_ptr<FileKek>> FileKek::from_secret(std::string_view secret, std::string where) {
  auto key = platform::Key::from_bytes(secret);
  if (!key) return key.error();
  auto ring = platform::Keyring::create(*key, kWrapLabel);
  if (!ring) return ring.error();
  return std::unique_ptr<FileKek>(new FileKek(std::move(*ring), std::move(where)));
}

Result<std::unique_ptr<FileKek>> FileKek::load(const fs::path& file) {
  auto secret = read_key_file(file, kKekFile);
  if (!secret) return secret.error();
  auto kek = from_secret(*secret, "the KEK file " + file.string());
  OPENSSL_cleanse(secret->data(), secret->size());
  return kek;
}

Result<std::unique_ptr<FileKek>> FileKek::create(const fs::path& file) {
  auto secret = create_key_file(file, kKekFile);
  if (!secret) return secret.error();
  auto kek = from_secret(*secret, "the KEK file " + file.string());
  OPENSSL_cleanse(secret->data(), secret->size());
  return kek;
}

Result<std::string> FileKek::wrap(std::string_view partition, const platform::Key& data_key) {
  return wrapper_.wrap(partition, data_key);
}

Result<platform::Key> FileKek::unwrap(std::string_view partition, std::string_view wrapped) {
  return wrapper_.unwrap(partition, wrapped);
}

fs::path locate_kek(const fs::path& data_dir, const std::string& configured) {
  if (!configured.empty()) return configured;
  if (const char* creds = std::getenv("CREDENTIALS_DIRECTORY"); creds && *creds) return fs::path(creds) / "hearth-kek";
  return data_dir / "keys" / "kek.key";
}

}  // namespace hearth::server::keys
