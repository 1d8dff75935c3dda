#include "current_records.hpp"

#include <map>

#include "hearth/core/civil_time.hpp"
#include "hearth/sync/encoding.hpp"

namespace hearth::server {

namespace {

// The business date of a record: its occurred_field when set, else the day it last changed.
std::string occurred_of(const sync::EntityMerge& e, int64_t now_ms) {
  const std::string& field = e.def().occurred_field;
  if (!field.empty()) {
    Value v = e.value(field);
    if (v.is_string() && !v.as_string().empty()) return v.as_string();
  }
  return civil::format_date(civil::day_of(now_ms));
}

// The persons the record is about (DOMAIN.md §6.3): itself for a Person, else its subject
// fields' values; none means the whole family.
std::vector<std::string> persons_of(const sync::EntityMerge& e) {
  std::vector<std::string> out;
  if (e.def().subject_is_self) return {e.id()};
  for (const auto& field : e.def().subject_fields) {
    Value v = e.value(field);
    if (v.is_string() && !v.as_string().empty()) out.push_back(v.as_string());
    if (v.is_list())
      for (const auto& p : v.as_list()) out.push_back(p);
  }
  return out;
}

}  // namespace

Result<StoredRecord> stored_record_of(const sync::EntityMerge& e, int64_t revision, int64_t now_ms) {
  auto json = e.render();
  if (!json) return json.error();
  StoredRecord r;
  r.id = e.id();
  r.type = e.def().name;
  r.family = e.family();
  r.revision = revision;
  r.updated_at = now_ms;
  r.occurred = occurred_of(e, now_ms);
  r.deleted = e.deleted();
  r.persons = persons_of(e);
  r.json = std::move(*json);
  return r;
}

namespace {

// The record `id` of `family` as the family's merge state now holds it, written with revision `seq`.
Result<void> write_record(ServiceContext& ctx, const std::string& family, const std::string& id, int64_t seq) {
  const sync::Materialiser* merged = ctx.cache.current(family);
  if (!merged) {  // evicted meanwhile: read back from the log, which holds the op already
    auto fresh = ctx.cache.get(family);
    if (!fresh) return fresh.error();
    merged = *fresh;
  }
  const sync::EntityMerge* e = merged->entity(id);
  if (!e || !e->created() || e->def().derived) return {};  // an op ahead of its record's creation, or a derived one
  auto r = stored_record_of(*e, seq, ctx.now());
  if (!r) return r.error();
  return ctx.store.records().put(*r);
}

Result<void> write_changed(ServiceContext& ctx) {
  auto changed = std::move(ctx.changed.latest);
  ctx.changed.latest.clear();
  for (const auto& [id, at] : changed)
    if (auto w = write_record(ctx, at.first, id, at.second); !w) return w;
  return {};
}

}  // namespace

Result<void> record_changed(ServiceContext& ctx, const sync::Op& op, int64_t seq) {
  const uint64_t transaction = ctx.store.transaction_id();
  if (transaction == 0) return write_record(ctx, op.family, op.entity_id, seq);
  if (ctx.changed.transaction != transaction) {  // the first change of this transaction
    ctx.changed.transaction = transaction;
    ctx.changed.latest.clear();  // left by a transaction that rolled back
    ctx.changed.families.clear();
    ctx.store.before_commit([&ctx]() { return write_changed(ctx); });
    // A rollback removes the ops from the log, not from the family cache: every family this
    // transaction wrote (a push's own, and those its authority writes reached) is read afresh.
    ctx.store.after_rollback([&ctx]() {
      for (const auto& family : ctx.changed.families) ctx.cache.forget(family);
      ctx.changed.families.clear();
      ctx.changed.latest.clear();
    });
  }
  ctx.changed.latest[op.entity_id] = {op.family, seq};
  ctx.changed.families.insert(op.family);
  return {};
}

Result<size_t> build_current_records(Storage& store, const Schema& schema, int64_t now_ms) {
  auto built = store.records().built();
  if (!built) return built.error();
  if (*built) return size_t{0};
  size_t families = 0;
  auto done = store.transaction([&]() -> Result<void> {
    auto all = store.ops().families();
    if (!all) return all.error();
    for (const auto& family : *all) {
      sync::Materialiser merge(schema);
      std::map<std::string, int64_t> revision;  // record id -> the sequence number that last changed it
      for (int64_t after = 0;;) {  // bounded: each page moves `after` forward
        auto page = store.ops().ops_after(family, after, 4u << 20);
        if (!page) return page.error();
        if (page->empty()) break;
        for (const auto& so : *page) {
          auto op = sync::decode(so.body);
          if (!op) return make_error(op.error().code, "stored op " + std::to_string(so.seq) + ": " + op.error().message);
          if (auto a = merge.apply(*op); !a) return a.error();
          revision[op->entity_id] = so.seq;
          after = so.seq;
        }
      }
      for (const sync::EntityMerge* e : merge.entities(family)) {
        if (!e->created() || e->def().derived) continue;
        auto r = stored_record_of(*e, revision[e->id()], now_ms);
        if (!r) return r.error();
        if (auto p = store.records().put(*r); !p) return p;
      }
      ++families;
    }
    return store.records().mark_built();
  });
  if (!done) return done.error();
  return families;
}

}  // namespace hearth::server
