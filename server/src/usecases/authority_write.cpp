#include "authority_write.hpp"

#include <set>

#include "accepted.hpp"
#include "record_audit.hpp"
#include "hearth/core/civil_time.hpp"
#include "hearth/sync/encoding.hpp"

namespace hearth::server {

AuthorityEdit AuthorityEdit::create(std::string type, std::string id, FieldValues fields) {
  AuthorityEdit e;
  e.kind = Kind::create;
  e.entity_type = std::move(type);
  e.entity_id = std::move(id);
  e.fields = std::move(fields);
  return e;
}

AuthorityEdit AuthorityEdit::set(std::string id, std::string field, Value value) {
  AuthorityEdit e;
  e.kind = Kind::set;
  e.entity_id = std::move(id);
  e.field = std::move(field);
  e.value = std::move(value);
  return e;
}

AuthorityEdit AuthorityEdit::add(std::string id, std::string field, std::string element) {
  AuthorityEdit e = set(std::move(id), std::move(field), Value(std::move(element)));
  e.kind = Kind::add;
  return e;
}

AuthorityEdit AuthorityEdit::remove(std::string id, std::string field, std::string element) {
  AuthorityEdit e = add(std::move(id), std::move(field), std::move(element));
  e.kind = Kind::remove;
  return e;
}

AuthorityEdit AuthorityEdit::transition(std::string id, std::string to) {
  AuthorityEdit e;
  e.kind = Kind::transition;
  e.entity_id = std::move(id);
  e.value = Value(std::move(to));
  return e;
}

AuthorityEdit AuthorityEdit::remove_record(std::string id) {
  AuthorityEdit e;
  e.kind = Kind::remove_record;
  e.entity_id = std::move(id);
  return e;
}

std::string datetime_of(int64_t ms) { return civil::format_datetime(ms); }

namespace {

Result<sync::Op> build(const sync::Materialiser& m, const std::string& family, const AuthorityEdit& e) {
  using K = AuthorityEdit::Kind;
  switch (e.kind) {
    case K::create: return m.make_create(family, e.entity_type, e.entity_id, e.fields);
    case K::set: return m.make_set(e.entity_id, e.field, e.value);
    case K::add: return m.make_add(e.entity_id, e.field, e.value.is_string() ? e.value.as_string() : std::string());
    case K::remove: return m.make_remove(e.entity_id, e.field, e.value.is_string() ? e.value.as_string() : std::string());
    case K::transition: return m.make_transition(e.entity_id, e.value.is_string() ? e.value.as_string() : std::string());
    case K::remove_record: return m.make_delete(e.entity_id);
  }
  return make_error(ErrorCode::invalid_argument, "unknown edit");
}

}  // namespace

Result<std::vector<std::string>> write_as_authority(ServiceContext& ctx, const AuthorityWrite& write) {
  auto merged = ctx.cache.get(write.family);
  if (!merged) return merged.error();
  // Every op the server writes comes after everything it holds of the family, so a Set or a
  // transition it makes is ordered after what it read (a device's clock may run ahead).
  auto held = (*merged)->ops(write.family);
  if (!held.empty()) (void)ctx.server_clock.observe((*merged)->effective_stamp(*held.back()));
  auto edits = write.plan(ctx, **merged);
  if (!edits) return edits.error();
  std::vector<std::string> ids;
  std::set<std::string> records;
  RecordChanges changes;  // the record-level events of this write (record_audit.hpp)
  for (const auto& edit : *edits) {
    merged = ctx.cache.get(write.family);  // up to date with this write's own ops
    if (!merged) return merged.error();
    auto op = build(**merged, write.family, edit);
    if (!op) return op.error();
    auto counter = ctx.store.ops().next_authority_counter();
    if (!counter) return counter.error();
    op->id = sync::OpId{kAuthorityDevice, *counter};
    op->hlc = ctx.server_clock.tick();
    op->author = write.author;
    if (auto ok = (*merged)->check(*op); !ok) return ok.error();
    std::string bytes = sync::encode(*op);
    if (bytes.size() > ctx.limits.wire.op_bytes)
      return make_error(ErrorCode::too_large, "the op for " + op->entity_id + " is " + std::to_string(bytes.size()) +
                                                  " bytes, over the limit of " +
                                                  std::to_string(ctx.limits.wire.op_bytes) + " bytes per op");
    if (auto stored = store_accepted(ctx, *op, bytes); !stored) return stored.error();
    ids.push_back(op->id.to_string());
    records.insert(op->entity_type + " " + op->entity_id);
    changes.add(*op);
  }
  if (ids.empty()) return ids;
  if (auto b = bump_team_feeds(ctx, write.family); !b) return b.error();
  std::string detail = write.detail + (write.detail.empty() ? "" : "; ");
  std::string named, listed;
  for (const auto& r : records) named += (named.empty() ? "" : ", ") + r;
  for (const auto& id : ids) listed += (listed.empty() ? "" : " ") + id;
  detail += named + "; ops " + listed;
  if (auto a = ctx.store.audit().append(AuditEvent{ctx.now(), write.author, kAuthorityDevice, write.action,
                                                   write.family, detail});
      !a)
    return a.error();
  if (auto a = changes.write(ctx.store.audit(), ctx.now(), write.author, kAuthorityDevice); !a) return a.error();
  return ids;
}

Result<std::vector<std::string>> authority_write(ServiceContext& ctx, const std::vector<AuthorityWrite>& writes) {
  std::vector<std::string> ids;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    std::set<std::string> families;  // locked together in sorted order (FamilyLocks::lock_all)
    for (const auto& w : writes) families.insert(w.family);
    if (auto locked = ctx.locks.lock_all(families); !locked) return locked;
    for (const auto& w : writes) {
      auto written = write_as_authority(ctx, w);
      if (!written) return written.error();
      ids.insert(ids.end(), written->begin(), written->end());
    }
    return {};
  });
  if (!done) {
    for (const auto& w : writes) ctx.cache.forget(w.family);  // it may hold ops the rollback removed
    return done.error();
  }
  return ids;
}

}  // namespace hearth::server
