#pragma once
// The server's key-encryption key (KEK): it wraps every family's data key (keyring.hpp) and is
// kept OUTSIDE the database and the keyring (docs/server-encryption.md, "Key ceremony").
// KeyEncryptionKey is the seam for where the KEK lives: FileKek reads a key file (a file only
// the service user can read, or a systemd credential); an HSM or a cloud KMS implements the
// same two calls (wrap and unwrap a 32-byte data key) without the KEK ever leaving it.
// Where the key file is looked for (locate_kek): the config's "kek", else
// $CREDENTIALS_DIRECTORY/hearth-kek (systemd LoadCredential=), else DATA/keys/kek.key.
// Thread-safety: not thread-safe; used under the keyring's owner's lock.
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "hearth/core/error.hpp"
#include "hearth/platform/crypto.hpp"
#include "hearth/platform/keyring.hpp"

namespace hearth::server::keys {

class KeyEncryptionKey {
 public:
  virtual ~KeyEncryptionKey() = default;
  // Where the KEK is, for messages ("the KEK file /etc/hearth/kek.key").
  virtual std::string describe() const = 0;
  // `data_key` wrapped for `partition` (a family id): AES-256-GCM under the KEK with the
  // associated data "hearth server family key v1|<partition>", so a wrapped key moved to another
  // family's row does not unwrap.
  virtual Result<std::string> wrap(std::string_view partition, const platform::Key& data_key) = 0;
  // ErrorCode::corrupt when `wrapped` was altered, belongs to another partition or was wrapped
  // under another KEK.
  virtual Result<platform::Key> unwrap(std::string_view partition, std::string_view wrapped) = 0;
};

class FileKek final : public KeyEncryptionKey {
 public:
  // Reads a KEK file ("hearth-kek v1" and 64 hex digits, mode 0600). ErrorCode::locked says
  // what is wrong and what to do (a missing file, loose permissions, not a KEK file).
  static Result<std::unique_ptr<FileKek>> load(const std::filesystem::path& file);
  // Makes a new random KEK file (never over an existing one: ErrorCode::conflict).
  static Result<std::unique_ptr<FileKek>> create(const std::filesystem::path& file);
  // From 32 secret bytes (tests).
  static Result<std::unique_ptr<FileKek>> from_secret(std::string_view secret, std::string where);

  std::string describe() const override { return where_; }
  Result<std::string> wrap(std::string_view partition, const platform::Key& data_key) override;
  Result<platform::Key> unwrap(std::string_view partition, std::string_view wrapped) override;

 private:
  FileKek(platform::Keyring wrapper, std::string where) : wrapper_(std::move(wrapper)), where_(std::move(where)) {}
  platform::Keyring wrapper_;
  std::string where_;
};

// Where the KEK file is: `configured` (the config's "kek") when not empty; else
// $CREDENTIALS_DIRECTORY/hearth-kek when that variable is set; else DATA/keys/kek.key.
std::filesystem::path locate_kek(const std::filesystem::path& data_dir, const std::string& configured);

}  // namespace hearth::server::keys
