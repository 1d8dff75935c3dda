#include "pull.hpp"

#include <algorithm>

#include "history.hpp"

namespace hearth::server {

using sync::protocol::WireError;

Answer<sync::protocol::PullReply> pull(ServiceContext& ctx, const DeviceRecord& device,
                                       const sync::protocol::PullRequest& request) {
  using A = Answer<sync::protocol::PullReply>;
  sync::protocol::PullReply reply;
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

  Caller caller{device.practitioner, device.id, device.last_pull_at};
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
  for (const auto& [family, cursor] : request.cursors) {
    if (std::binary_search(readable->begin(), readable->end(), family)) continue;
    reply.purge.push_back(family);
    auto was = ctx.store.caseload().membership(family, device.practitioner);
    if (!was) return A::fail(WireError::server, was.error().message);
    if (*was) ctx.audit(&device, "purge-instruction", family, "family no longer on the caseload");
    else ++unknown;
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
    int64_t after = it == request.cursors.end() ? 0 : it->second;
    auto page = ctx.store.ops().ops_after(family, after, budget - used);
    if (!page) return A::fail(WireError::server, page.error().message);
    if (page->empty()) continue;
    sync::protocol::FamilyPage out{family, {}, page->back().seq};
    for (auto& so : *page) {
      used += so.body.size();
      out.ops.push_back(std::move(so.body));
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
