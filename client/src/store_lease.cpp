// Store: the key lease (N5, docs/encryption.md). The store's keys may be used offline only
// until the lease ends; after it every call of the app's API that needs them is refused and the
// store opens only to sync, which renews the lease (SyncPort::record_policy). The end is a
// secret sealed under the device key; the master key's wrapping (vault.cpp) says that the
// store keeps one, so a deleted record counts as an ended lease, never as none. Time is the
// later of the store's clock and the highest time it has seen (store_offline.cpp), so setting
// the tablet's clock back does not extend the lease.
#include <algorithm>
#include <charconv>

#include "hearth/core/civil_time.hpp"
#include "store_impl.hpp"

namespace hearth::client {

namespace {
constexpr const char* kLeaseSecret = "key_lease";
}  // namespace

Result<std::optional<uint64_t>> Store::Impl::read_lease() {
  auto st = db->cached("SELECT value FROM secrets WHERE name = ?");
  if (!st) return st.error();
  (*st)->bind(1, kLeaseSecret);
  auto row = (*st)->step();
  if (!row) return row.error();
  if (!*row) {
    (*st)->reset();
    return std::optional<uint64_t>();
  }
  std::string sealed = (*st)->blob(0);
  (*st)->reset();
  auto plain = vault->open(kDevicePartition, sealed, aad::secret(kLeaseSecret));
  if (!plain) return make_error(plain.error().code, "the key lease: " + plain.error().message);
  uint64_t ends = 0;
  auto [end, ec] = std::from_chars(plain->data(), plain->data() + plain->size(), ends);
  if (ec != std::errc() || end != plain->data() + plain->size()) return make_error(ErrorCode::corrupt, "the key lease is malformed");
  return std::optional<uint64_t>(ends);
}

Result<void> Store::Impl::write_lease(uint64_t ends_at_ms) {
  auto sealed = vault->seal(kDevicePartition, std::to_string(ends_at_ms), aad::secret(kLeaseSecret));
  if (!sealed) return sealed.error();
  auto st = db->cached("INSERT OR REPLACE INTO secrets(name, value) VALUES(?, ?)");
  if (!st) return st.error();
  (*st)->bind(1, kLeaseSecret).bind_blob(2, *sealed);
  if (auto r = (*st)->run(); !r) return r;
  lease_cache.reset();
  return {};
}

Result<void> Store::Impl::start_lease() {
  auto existing = read_lease();
  if (!existing) return existing.error();
  if (*existing) return {};  // a store without encryption keeps the one it has
  const uint64_t now = clock.physical_now();
  auto policy = read_policy();
  if (!policy) return policy.error();
  // A store made before the lease: as the last policy it received would have given it.
  uint64_t ends = now + kDefaultKeyLeaseMs;
  if (*policy) ends = (*policy)->issued_at_ms + ((*policy)->key_lease_ms ? (*policy)->key_lease_ms : kDefaultKeyLeaseMs);
  if (auto r = write_lease(ends); !r) return r;
  return note_seen(now);
}

Result<void> Store::Impl::guard_seen() {
  if (!vault->lease_anchored()) return {};
  auto seen = read_seen();
  if (!seen) return seen.error();
  if (*seen != 0) return {};
  auto lease = read_lease();
  if (!lease) return lease.error();
  // The row was deleted: the store counts as at its lease's end (or now, if later).
  return note_seen(std::max<uint64_t>(clock.physical_now(), lease->value_or(0)), /*reset*/ true);
}

Result<KeyLease> Store::Impl::key_lease() {
  if (!lease_cache) {
    auto lease = read_lease();
    if (!lease) return lease.error();
    auto seen = read_seen();
    if (!seen) return seen.error();
    lease_cache = LeaseCache{lease->has_value(), lease->value_or(0), *seen};
  }
  const uint64_t now = std::max<uint64_t>(clock.physical_now(), lease_cache->seen);
  KeyLease out;
  out.ends_at_ms = lease_cache->ends_at;
  out.ended = !lease_cache->present || now >= lease_cache->ends_at;
  out.remaining_ms = out.ended ? 0 : static_cast<int64_t>(lease_cache->ends_at - now);
  return out;
}

Result<void> Store::Impl::check_lease(const char* what) {
  auto lease = key_lease();
  if (!lease) return lease.error();
  if (!lease->ended) return {};
  const std::string when = lease_cache && lease_cache->present
                               ? "ended at " + civil::format_datetime_seconds(static_cast<int64_t>(lease->ends_at_ms))
                               : "record is missing (the store's files were altered), so it counts as ended";
  return make_error(ErrorCode::locked, std::string(what) + ": the key lease of this device " + when +
                                           "; sync to renew it (`hearth sync`). Until then this store opens only to "
                                           "sync (N5); nothing recorded on it is lost.");
}

Result<KeyLease> Store::key_lease() const {
  return impl_->call("key_lease", [&] { return impl_->key_lease(); });
}

}  // namespace hearth::client
