#include "family_cache.hpp"

#include "hearth/sync/access_intent.hpp"
#include "hearth/sync/encoding.hpp"

namespace hearth::server {

FamilyCache::FamilyCache(const Schema& schema, OpLog& ops, FamilyCacheLimits limits)
    : schema_(schema), ops_(ops), limits_(limits) {}

Result<void> FamilyCache::catch_up(Entry& e, const std::string& family, int64_t highest) {
  while (e.seq < highest) {
    auto page = ops_.ops_after(family, e.seq, 4u << 20);
    if (!page) return page.error();
    if (page->empty()) break;
    for (const auto& so : *page) {
      auto op = sync::decode(so.body);
      if (!op) return make_error(op.error().code, "stored op " + std::to_string(so.seq) + ": " + op.error().message);
      if (auto a = e.merge.apply(*op); !a) return a.error();
      refresh(e, op->entity_id);
      e.seq = so.seq;
      e.bytes += so.body.size();
      bytes_ += so.body.size();
    }
  }
  return {};
}

Result<sync::Materialiser*> FamilyCache::get(const std::string& family) {
  if (lock_)
    if (auto locked = lock_(family); !locked) return locked.error();
  auto highest = ops_.highest_seq(family);
  if (!highest) return highest.error();
  auto it = entries_.find(family);
  if (it == entries_.end()) {
    auto entry = std::make_unique<Entry>(schema_);
    lru_.push_front(family);
    entry->lru = lru_.begin();
    it = entries_.emplace(family, std::move(entry)).first;
  } else {
    lru_.splice(lru_.begin(), lru_, it->second->lru);
  }
  Entry& e = *it->second;
  if (e.seq > *highest) {  // the log went back (a restore): start again from the log
    forget(family);
    return get(family);
  }
  if (auto r = catch_up(e, family, *highest); !r) {
    forget(family);
    return r.error();
  }
  evict(family);
  return &e.merge;
}

sync::Materialiser* FamilyCache::current(const std::string& family) {
  if (holds_ && !holds_(family)) return nullptr;  // not read in this transaction: get() checks it
  auto it = entries_.find(family);
  if (it == entries_.end()) return nullptr;
  lru_.splice(lru_.begin(), lru_, it->second->lru);
  return &it->second->merge;
}

Result<void> FamilyCache::applied(const std::string& family, const sync::Op& op, int64_t seq, size_t bytes) {
  auto it = entries_.find(family);
  if (it == entries_.end()) return {};  // not cached: the next get() reads it from the log
  Entry& e = *it->second;
  if (auto a = e.merge.apply(op); !a) {
    forget(family);
    return a.error();
  }
  refresh(e, op.entity_id);
  e.seq = std::max(e.seq, seq);
  e.bytes += bytes;
  bytes_ += bytes;
  evict(family);
  return {};
}

access::FamilyFacts* FamilyCache::facts(const std::string& family) {
  auto it = entries_.find(family);
  if (it == entries_.end()) return nullptr;
  Entry& e = *it->second;
  if (!e.facts) {
    e.facts = std::make_unique<Facts>();
    e.facts->records = sync::family_facts(e.merge, family);
    for (size_t i = 0; i < e.facts->records.records.size(); ++i) e.facts->at[e.facts->records.records[i].id] = i;
  }
  return &e.facts->records;
}

void FamilyCache::refresh(Entry& e, const std::string& entity_id) {
  if (!e.facts) return;  // built from the merge state when first asked for
  Facts& f = *e.facts;
  auto at = f.at.find(entity_id);
  const sync::EntityMerge* m = e.merge.entity(entity_id);
  if (!m || !m->created() || m->deleted()) {  // gone (or not a record): out of the facts
    if (at == f.at.end()) return;
    size_t i = at->second, last = f.records.records.size() - 1;
    if (i != last) {
      f.records.records[i] = std::move(f.records.records[last]);
      f.at[f.records.records[i].id] = i;
    }
    f.records.records.pop_back();
    f.at.erase(entity_id);
    return;
  }
  access::RecordFacts r = sync::record_facts(*m);
  if (at == f.at.end()) {
    f.at[entity_id] = f.records.records.size();
    f.records.records.push_back(std::move(r));
  } else {
    f.records.records[at->second] = std::move(r);
  }
}

void FamilyCache::forget(const std::string& family) {
  auto it = entries_.find(family);
  if (it == entries_.end()) return;
  bytes_ -= it->second->bytes;
  lru_.erase(it->second->lru);
  entries_.erase(it);
}

void FamilyCache::evict(const std::string& keep) {
  while (!lru_.empty() && (entries_.size() > limits_.max_families || bytes_ > limits_.max_bytes)) {
    const std::string& oldest = lru_.back();
    if (oldest == keep) break;  // the entry in use stays, even alone over the byte bound
    forget(std::string(oldest));
  }
}

}  // namespace hearth::server
