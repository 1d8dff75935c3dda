#pragma once
// The merge state of recently used families, so a push can check ops against what the family
// holds without reading its whole log each time. Each entry knows the highest sequence number
// it has applied and, whenever it is used, checks itself against the op log's highest sequence
// number for its family and applies what it lacks: an entry can never be stale, even when
// another process (another server) wrote to the same database.
// Bounded: least recently used families are dropped beyond `max_families` or `max_bytes`
// (the encoded size of the ops an entry holds, a proxy for its memory).
// Thread-safety: not thread-safe; one per storage connection (SyncService keeps one per worker).
#include <cstddef>
#include <functional>
#include <list>
#include <map>
#include <memory>
#include <string>

#include "hearth/core/access.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/sync/materialiser.hpp"
#include "storage/op_log.hpp"

namespace hearth::server {

struct FamilyCacheLimits {
  size_t max_families = 1000;
  size_t max_bytes = 256u << 20;
};

class FamilyCache {
 public:
  FamilyCache(const Schema& schema, OpLog& ops, FamilyCacheLimits limits = {});

  // `lock` is called by every get() before it reads the log, with the family: the sync service
  // passes FamilyLocks::lock (usecases/context.hpp), so a transaction that reads a family's
  // state to write holds the family's lock (Storage::lock_family) until it ends; its error is
  // get()'s. `holds` says whether the current transaction holds it: current() answers only for
  // such a family (another connection may have written the others since), else nullptr.
  void lock_with(std::function<Result<void>(const std::string&)> lock, std::function<bool(const std::string&)> holds) {
    lock_ = std::move(lock);
    holds_ = std::move(holds);
  }
  // The family's merge state, brought up to the op log's highest sequence number. Call it in
  // the same transaction as the writes that follow. The pointer stays valid until the next
  // call to get() or forget().
  Result<sync::Materialiser*> get(const std::string& family);
  // The entry of a family that get() brought up to date earlier in the same write transaction
  // (no other writer runs meanwhile, and this transaction's appends reach it through
  // applied()), without reading the log again; nullptr when it is not cached: call get().
  sync::Materialiser* current(const std::string& family);
  // Records an op just appended to the log with sequence number `seq`, after get(family) in the
  // same transaction. Ops in between (none, within one transaction) would be read by get().
  Result<void> applied(const std::string& family, const sync::Op& op, int64_t seq, size_t bytes);
  // The family's live records as the access policy reads them (sync/access_intent.hpp), kept
  // current record by record as ops are applied, so neither pull nor push copies a whole family
  // per request. Call after get() or current() in the same transaction; nullptr when the family
  // is not cached. The pointer stays valid until the next call to get(), applied() or forget().
  // The policy may add organisations to it (FamilyFacts::organisation_of), which stay cached.
  access::FamilyFacts* facts(const std::string& family);
  // Drops the family (e.g. after a rolled-back transaction whose ops it had applied).
  void forget(const std::string& family);

  size_t families() const { return entries_.size(); }
  size_t bytes() const { return bytes_; }
  bool holds(const std::string& family) const { return entries_.count(family) != 0; }

 private:
  struct Facts {
    access::FamilyFacts records;
    std::map<std::string, size_t> at;  // record id -> index in records.records
  };
  struct Entry {
    explicit Entry(const Schema& schema) : merge(schema) {}
    sync::Materialiser merge;
    std::unique_ptr<Facts> facts;  // built at the first facts() call, then kept current
    int64_t seq = 0;  // highest sequence number applied
    size_t bytes = 0;
    std::list<std::string>::iterator lru;
  };
  Result<void> catch_up(Entry& e, const std::string& family, int64_t highest);
  // After an op of `entity_id` was applied to `e.merge`: that record in e.facts as it now stands.
  static void refresh(Entry& e, const std::string& entity_id);
  void evict(const std::string& keep);

  const Schema& schema_;
  OpLog& ops_;
  FamilyCacheLimits limits_;
  std::function<Result<void>(const std::string&)> lock_;
  std::function<bool(const std::string&)> holds_;
  std::map<std::string, std::unique_ptr<Entry>> entries_;
  std::list<std::string> lru_;  // most recently used first
  size_t bytes_ = 0;
};

}  // namespace hearth::server
