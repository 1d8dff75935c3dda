#include "hearth/platform/keyring.hpp"

#include <openssl/crypto.h>

namespace hearth::platform {

Result<Keyring> Keyring::create(const Key& wrapping_key, std::string label) {
  auto wrapper = Sealer::create(wrapping_key);
  if (!wrapper) return wrapper.error();
  return Keyring(std::move(*wrapper), std::move(label));
}

std::string Keyring::aad(std::string_view partition) const {
  std::string out = label_;
  out += '|';
  out += partition;
  return out;
}

Result<std::string> Keyring::wrap(std::string_view partition, const Key& data_key) {
  return wrapper_->seal(data_key.view(), aad(partition));
}

Result<Key> Keyring::unwrap(std::string_view partition, std::string_view wrapped) {
  auto raw = wrapper_->open(wrapped, aad(partition));
  if (!raw)
    return make_error(ErrorCode::corrupt, "the key of " + std::string(partition) +
                                              " failed authentication (altered, another partition's, or wrapped by another key)");
  auto key = Key::from_bytes(*raw);
  OPENSSL_cleanse(raw->data(), raw->size());
  if (!key) return make_error(ErrorCode::corrupt, "the key of " + std::string(partition) + " has the wrong length");
  return key;
}

Result<std::string> Keyring::rewrap(std::string_view partition, std::string_view wrapped, Keyring& target) {
  auto key = unwrap(partition, wrapped);
  if (!key) return key.error();
  return target.wrap(partition, *key);
}

Result<std::string> Keyring::create_key(const std::string& partition) {
  if (loaded(partition)) return make_error(ErrorCode::conflict, "partition " + partition + " already has a key");
  auto key = Key::random();
  if (!key) return key.error();
  auto wrapped = wrap(partition, *key);
  if (!wrapped) return wrapped.error();
  auto sealer = Sealer::create(*key);
  if (!sealer) return sealer.error();
  sealers_.emplace(partition, std::move(*sealer));
  return wrapped;
}

Result<void> Keyring::load(const std::string& partition, std::string_view wrapped) {
  auto key = unwrap(partition, wrapped);
  if (!key) return key.error();
  auto sealer = Sealer::create(*key);
  if (!sealer) return sealer.error();
  sealers_.insert_or_assign(partition, std::move(*sealer));
  return {};
}

Result<Sealer*> Keyring::sealer(const std::string& partition) {
  auto it = sealers_.find(partition);
  if (it == sealers_.end()) return make_error(ErrorCode::not_found, "no key is loaded for " + partition);
  return it->second.get();
}

}  // namespace hearth::platform
