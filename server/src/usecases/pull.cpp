#include "pull.hpp"

#include <algorithm>
#include <optional>

#include "hearth/sync/encoding.hpp"
#include "history.hpp"

namespace hearth::server {

using sync::protocol::WireError;

namespace {

// The op as this practitioner may receive it (DOMAIN.md §5-§7): nullopt when it is about a
// withheld record or field; a Create loses its withheld fields (absent, not even ciphertext).
// A stored op that does not decode is an error naming it, never an abort.
Result<std::optional<std::string>> as_viewed(const StoredOp& stored, const access::FamilyView& view) {
  auto op = sync::decode(stored.body);
  if (!op) return make_error(ErrorCode::corrupt, "stored op " + stored.device + ":" + std::to_string(stored.counter) +
                                                     " of family " + stored.family + ": " + op.error().message);
  if (!view.record_visible(op->entity_id)) return std::optional<std::string>();
  switch (op->kind) {
    case sync::OpKind::Create: {
      bool stripped = false;
      for (auto it = op->fields.begin(); it != op->fields.end();) {
        if (view.field_visible(op->entity_id, it->first)) {
          ++it;
        } else {
          it = op->fields.erase(it);
          stripped = true;
        }
      }
      return std::optional<std::string>(stripped ? sync::encode(*op) : stored.body);
    }
    case sync::OpKind::Set:
    case sync::OpKind::Add:
    case sync::OpKind::Remove:
    case sync::OpKind::Transition:
      if (!view.field_visible(op->entity_id, op->field)) return std::optional<std::string>();
      return std::optional<std::string>(stored.body);
    default:
      return std::optional<std::string>(stored.body);
  }
}

// The withheld list of a page: "<record id>" or "<record id>#<field>" (docs/protocol.md).
std::vector<std::string> withheld_list(const access::FamilyView& view) {
  std::vector<std::string> out;
  for (const auto& [id, why] : view.withheld_records) out.push_back(id);
  for (const auto& [id, fields] : view.withheld_fields)
    for (const auto& [field, why] : fields) out.push_back(id + "#" + field);
  return out;
}

// What the device enforces offline until its next sync (DOMAIN.md §6.8): who it is for, and
// the periods of the tenant configuration, as of this answer's server time.
Result<sync::protocol::PolicySnapshot> policy_snapshot(ServiceContext& ctx, const Caller& caller) {
  auto config = ctx.store.settings().current();
  if (!config) return config.error();
  sync::protocol::PolicySnapshot p;
  p.issued_at_ms = static_cast<uint64_t>(ctx.now());
  p.practitioner = caller.practitioner;
  p.organisation = caller.organisation;
  p.system_roles.assign(caller.system_roles.begin(), caller.system_roles.end());
  p.sharing_block_after_ms = static_cast<uint64_t>(config->sharing_block_after_ms());
  p.lock_after_ms = static_cast<uint64_t>(config->lock_after_ms());
  p.purge_after_ms = static_cast<uint64_t>(config->purge_after_ms());
  p.key_lease_ms = static_cast<uint64_t>(config->key_lease_ms());
  return p;
}

bool withholds_nothing(const access::FamilyView& view) {
  return view.withheld_records.empty() && view.withheld_fields.empty();
}

}  // namespace

Answer<sync::protocol::PullReply> pull(ServiceContext& ctx, const DeviceRecord& device,
                                       const sync::protocol::PullRequest& request) {
  using A = Answer<sync::protocol::PullReply>;
  sync::protocol::PullReply reply;
  Caller caller{device.practitioner, device.id, device.last_pull_at, "", {}};
  if (auto c = ctx.policy.complete(caller); !c) return A::fail(WireError::server, c.error().message);
  auto snapshot = policy_snapshot(ctx, caller);
  if (!snapshot) return A::fail(WireError::server, snapshot.error().message);
  // The lease this answer gives (N5), recorded before the answer leaves: `hearth-server
  // devices` never shows an end earlier than the one the device holds.
  if (auto r = ctx.store.devices().record_lease(device.id, static_cast<int64_t>(snapshot->issued_at_ms + snapshot->key_lease_ms));
      !r)
    return A::fail(WireError::server, r.error().message);
  reply.policy = std::move(*snapshot);
  auto current = ctx.store.caseload().feed_version(device.practitioner);
  if (!current) return A::fail(WireError::server, current.error().message);
  // A history that went back is looked for first: after a restore an unchanged-looking feed
  // version proves nothing. Constant work; the cursors of each family are checked below.
  HistoryClaims claims{request.history_epoch, request.delivered_counter, request.highest_cursor, request.feed_version};
  auto went_back = history_went_back(ctx, device, claims, *current);
  if (!went_back) return A::fail(WireError::server, went_back.error().message);
  auto history = ctx.history(*went_back, &device);
  if (!history) return A::fail(WireError::server, history.error().message);
  reply.history = *history;
  // An empty sync: nothing this practitioner may see has changed. Constant work.
  bool unchanged = request.feed_version && *request.feed_version == *current && request.history_epoch == history->epoch;
  if (unchanged || request.probe) {
    if (unchanged) (void)ctx.store.devices().record_pull(device.id, ctx.now());
    reply.more = !unchanged;
    reply.changed = !unchanged;
    reply.feed_version = *current;
    return A::ok(std::move(reply));
  }

  auto readable = ctx.policy.readable_families(caller);
  if (!readable) return A::fail(WireError::server, readable.error().message);
  auto cursors_back = cursors_went_back(ctx, request.history_epoch, request.cursors, *readable);
  if (!cursors_back) return A::fail(WireError::server, cursors_back.error().message);
  if (!cursors_back->empty()) {
    history = ctx.history("device " + device.id + ": " + *cursors_back, &device);
    if (!history) return A::fail(WireError::server, history.error().message);
    reply.history = *history;
  }
  size_t budget = ctx.limits.wire.page_bytes;
  if (request.max_bytes != 0) budget = std::min<size_t>(budget, std::max<size_t>(4096, request.max_bytes));
  // Families the device holds but may not read are to be purged. Each one the practitioner was
  // taken off is audited on its own; names never on their caseload (a forged or stale list)
  // make one event, so a long list cannot fill the audit trail.
  size_t unknown = 0;
  std::optional<std::vector<std::string>> ended_grants;  // read once, when first needed
  for (const auto& [family, cursor] : request.cursors) {
    if (std::binary_search(readable->begin(), readable->end(), family)) continue;
    reply.purge.push_back(family);
    auto was = ctx.store.caseload().membership(family, device.practitioner);
    if (!was) return A::fail(WireError::server, was.error().message);
    auto gone = ctx.store.keys().erased(family);
    if (!gone) return A::fail(WireError::server, gone.error().message);
    if (*gone) {  // its chain's details are sealed under the destroyed key: the server chain says it
      ctx.audit(&device, "purge-instruction", "", "family " + family + " was erased (" + (*gone)->basis + ")");
      continue;
    }
    if (*was) {
      ctx.audit(&device, "purge-instruction", family, "family no longer on the caseload");
      continue;
    }
    if (!ended_grants) {  // a break-glass grant that has ended (usecases/due_events.hpp)
      auto ended = ctx.store.due().ended_grant_families(device.practitioner);
      if (!ended) return A::fail(WireError::server, ended.error().message);
      ended_grants = std::move(*ended);
    }
    if (std::binary_search(ended_grants->begin(), ended_grants->end(), family))
      ctx.audit(&device, "purge-instruction", family, "break-glass grant ended");
    else
      ++unknown;
  }
  if (unknown)
    ctx.audit(&device, "purge-instruction", "", std::to_string(unknown) + " families never on the caseload");
  size_t used = 0;
  for (const auto& family : *readable) {
    if (used >= budget) {
      reply.more = true;
      break;
    }
    auto it = request.cursors.find(family);
    const bool held = it != request.cursors.end();
    int64_t after = held ? it->second : 0;
    auto known_view = request.views.find(family);
    // Erased by another process whose row deletion has not finished: nothing to send, purge it.
    auto erased = ctx.store.keys().erased(family);
    if (!erased) return A::fail(WireError::server, erased.error().message);
    if (*erased) {
      if (held) reply.purge.push_back(family);
      continue;
    }
    auto page = ctx.store.ops().ops_after(family, after, budget - used);
    if (!page) return A::fail(WireError::server, page.error().message);
    // The view changes only with the family's records, so a device that holds the family under
    // a known view and has nothing new to receive needs no evaluation.
    if (page->empty() && held && known_view != request.views.end()) continue;
    auto state = ctx.cache.get(family);
    if (!state) return A::fail(WireError::server, state.error().message);
    access::FamilyFacts* facts = ctx.cache.facts(family);  // cached with the merge state
    if (!facts) return A::fail(WireError::server, "family " + family + " left the cache while in use");
    auto view = ctx.policy.view(caller, *facts, ctx.now());
    if (!view) return A::fail(WireError::server, view.error().message);
    if (!view->family_visible()) {  // on the team index but with no standing (e.g. scope NONE)
      if (held) {
        reply.purge.push_back(family);
        ctx.audit(&device, "purge-instruction", family, view->reason);
      }
      continue;
    }
    std::string digest = view->digest();
    const bool changed = known_view == request.views.end() || known_view->second != digest;
    if (held && changed) {
      // What the device holds was made under another view: it purges the family and receives
      // it again from the start under this one (a shrunk view removes what is now withheld, a
      // grown one brings what was missing; DOMAIN.md §6.6).
      reply.purge.push_back(family);
      after = 0;
      page = ctx.store.ops().ops_after(family, 0, budget - used);
      if (!page) return A::fail(WireError::server, page.error().message);
    }
    if (changed && !withholds_nothing(*view))
      ctx.audit(&device, "withheld", family,
                std::to_string(view->withheld_records.size()) + " records and " +
                    std::to_string(view->withheld_fields.size()) + " records' fields withheld (" + view->reason + ")");
    if (page->empty() && !changed) continue;
    sync::protocol::FamilyPage out{family, {}, page->empty() ? after : page->back().seq, digest, withheld_list(*view)};
    const bool all = withholds_nothing(*view);
    // The device's own ops in a family it holds under this view are in its log already: the
    // cursor moves past them, they are not sent back. A family it receives afresh (new to it,
    // a view change, a history that went back) brings them too.
    const bool skip_own = held && !changed;
    for (auto& so : *page) {
      // The budget counts the stored ops read, sent or withheld: a page the log cut short at
      // the budget must end the reply with `more`, or the rest of the family would be skipped.
      used += so.body.size();
      if (skip_own && so.device == device.id) continue;
      if (all) {
        out.ops.push_back(std::move(so.body));
        continue;
      }
      auto viewed = as_viewed(so, *view);
      if (!viewed) return A::fail(WireError::server, viewed.error().message);
      if (*viewed) out.ops.push_back(std::move(**viewed));
    }
    reply.families.push_back(std::move(out));
    if (used >= budget) reply.more = true;
  }
  ctx.audit(&device, "pull", "",
            std::to_string(reply.families.size()) + " families, " + std::to_string(used) + " bytes");
  if (!reply.more) {
    reply.feed_version = *current;
    // The device now holds everything its practitioner may see: a removal from a team after
    // this is something it knows nothing of until its next pull (DOMAIN.md §6.6).
    (void)ctx.store.devices().record_pull(device.id, ctx.now());
  }
  return A::ok(std::move(reply));
}

}  // namespace hearth::server
