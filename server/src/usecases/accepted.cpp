#include "accepted.hpp"

#include "current_records.hpp"
#include "duplicates.hpp"
#include "hearth/core/civil_time.hpp"
#include "office_outbox.hpp"
#include "team_index.hpp"

namespace hearth::server {

namespace {

// The records whose times drive server events (usecases/due_events.hpp).
bool carries_due_time(const std::string& type) {
  return type == "ConsentRecord" || type == "BreakGlassGrant" || type == "Task" || type == "FamilyPlan" ||
         type == "Referral";
}

// A change to a record with a due time has the family looked at by the next run of the due
// events; a new break-glass grant is indexed at once, so its grantee's next pull brings the
// family (DOMAIN.md §7).
Result<void> index_due(ServiceContext& ctx, const sync::Op& op) {
  if (!carries_due_time(op.entity_type)) return {};
  if (auto m = ctx.store.due().mark(op.family, 0); !m) return m;
  if (op.kind != sync::OpKind::Create || op.entity_type != "BreakGlassGrant") return {};
  auto text = [&](const char* field) {
    auto it = op.fields.find(field);
    return it != op.fields.end() && it->second.is_string() ? it->second.as_string() : std::string();
  };
  auto expires = civil::parse_ms(text("expires_at"));
  if (text("practitioner").empty() || !expires) return {};
  auto added = ctx.store.due().add_grant(GrantEntry{op.entity_id, op.family, text("practitioner"), *expires, std::nullopt});
  if (!added) return added.error();
  if (*added) return ctx.store.caseload().bump_feed(text("practitioner"));
  return {};
}

}  // namespace

Result<int64_t> store_accepted(ServiceContext& ctx, const sync::Op& op, const std::string& bytes) {
  auto seq = ctx.store.ops().append(StoredOp{0, op.family, op.id.device, op.id.counter, bytes});
  if (!seq) return seq.error();
  if (auto a = ctx.cache.applied(op.family, op, *seq, bytes.size()); !a) return a.error();
  if (auto r = record_changed(ctx, op, *seq); !r) return r.error();
  if (changes_team(op))
    if (auto r = reindex_team(ctx, op.family); !r) return r.error();
  if (auto r = index_due(ctx, op); !r) return r.error();
  // The office's copy, in this transaction (office_outbox.hpp).
  if (auto r = queue_for_office(ctx, op, *seq); !r) return r.error();
  // A Person or Contact changed: the family is reviewed for probable duplicates (duplicates.hpp).
  if (auto r = note_for_duplicates(ctx, op); !r) return r.error();
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
