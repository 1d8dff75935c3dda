#include "accepted.hpp"

#include "team_index.hpp"

namespace hearth::server {

Result<int64_t> store_accepted(ServiceContext& ctx, const sync::Op& op, const std::string& bytes) {
  auto seq = ctx.store.ops().append(StoredOp{0, op.family, op.id.device, op.id.counter, bytes});
  if (!seq) return seq.error();
  if (auto a = ctx.cache.applied(op.family, op, *seq, bytes.size()); !a) return a.error();
  if (changes_team(op))
    if (auto r = reindex_team(ctx, op.family); !r) return r.error();
  return *seq;
}

Result<void> bump_team_feeds(ServiceContext& ctx, const std::string& family) {
  auto team = ctx.store.caseload().team_of(family);
  if (!team) return team.error();
  for (const auto& p : *team)
    if (auto b = ctx.store.caseload().bump_feed(p); !b) return b;
  return {};
}

}  // namespace hearth::server
