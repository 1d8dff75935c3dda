#include "push.hpp"

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <set>

#include "accepted.hpp"
#include "duplicates.hpp"
#include "hearth/sync/access_intent.hpp"
#include "hearth/sync/encoding.hpp"
#include "held.hpp"
#include "history.hpp"
#include "record_audit.hpp"
#include "task_triggers.hpp"
#include "sharing.hpp"
#include "step_up.hpp"
#include "team.hpp"

namespace hearth::server {

namespace {

using sync::protocol::OpResult;
using sync::protocol::OpStatus;
using sync::protocol::WireError;

// The record of a decision to share information, with or without consent (DOMAIN.md §6.5).
constexpr const char* kSharingDecisionType = "InformationSharingDecision";

// "InformationSharingDecision <id>: decision SHARE, with_consent NO_CONSENT_REFUSED, ...": its
// T0/T1 codes only; the risk description and the items shared are T3 and stay in the record.
std::string override_detail(const sync::Op& op) {
  std::string out = std::string(kSharingDecisionType) + " " + op.entity_id;
  const char* sep = ": ";
  for (const char* code : {"decision", "with_consent", "purpose", "lawful_basis", "subject_informed"}) {
    auto it = op.fields.find(code);
    if (it == op.fields.end() || !it->second.is_string()) continue;
    out += sep + std::string(code) + " " + it->second.as_string();
    sep = ", ";
  }
  return out;
}

OpResult rejected(std::string id, std::string reason, WireError code) {
  return OpResult{std::move(id), OpStatus::rejected, std::move(reason), code};
}

// Locks the families of a push's ops together, in sorted order, before any is read: a push
// that touches several families cannot wait in a cycle with another (FamilyLocks::lock_all).
// Ops that do not decode are refused one by one later.
Result<void> lock_families_of(ServiceContext& ctx, const std::vector<std::string>& ops) {
  std::set<std::string> families;
  for (const auto& bytes : ops)
    if (auto op = sync::decode(bytes)) families.insert(op->family);
  return ctx.locks.lock_all(families);
}

// One push, inside its transaction.
class PushRun {
 public:
  // floor_ms: the last server time the device adopted (docs/change-log.md, "Clocks"): stamps at
  // or above it are never moved later by the clock guard.
  PushRun(ServiceContext& ctx, const DeviceRecord& device, Caller caller, int64_t offset, uint64_t floor_ms)
      : ctx_(ctx),
        device_(device),
        caller_(std::move(caller)),
        offset_(offset),
        floor_ms_(floor_ms) {}

  Result<OpResult> one(const std::string& bytes) {
    auto op = sync::decode(bytes);
    if (!op) return rejected("", op.error().message, WireError::bad_request);
    std::string id = op->id.to_string();
    if (bytes.size() > ctx_.limits.wire.op_bytes)  // judged on its own: the device quarantines it, its queue goes on
      return rejected(id, "the op is " + std::to_string(bytes.size()) + " bytes, over the limit of " +
                              std::to_string(ctx_.limits.wire.op_bytes) + " bytes per op",
                      WireError::too_large);
    if (op->id.device != device_.id) return rejected(id, "op was made by another device", WireError::forbidden);
    if (op->author != device_.practitioner)
      return rejected(id, "op author " + op->author + " is not this device's practitioner", WireError::forbidden);
    auto dup = ctx_.store.ops().has_op(op->id.device, op->id.counter);
    if (!dup) return dup.error();
    if (*dup) return OpResult{id, OpStatus::duplicate, "", std::nullopt};
    // An erased family takes nothing more (DOMAIN.md §10.3): the device keeps the op in its
    // quarantine and reports it, so the work is seen before it goes.
    auto gone = ctx_.store.keys().erased(op->family);
    if (!gone) return gone.error();
    if (*gone) {
      ctx_.audit(&device_, "denied", "", "push: op " + id + " of erased family " + op->family);
      // The IG officer sees that it existed (`hearth-server erasures`): the device purges it
      // with the family once this refusal is acknowledged.
      if (auto n = ctx_.store.keys().note_late_work(LateWork{op->family, id, device_.practitioner, ctx_.now()}); !n)
        return n.error();
      return rejected(id, "family " + op->family + " was erased (" + (*gone)->basis + ", " + (*gone)->reference +
                              "): this work cannot be added to it; it stays on the tablet until the refusal is "
                              "acknowledged",
                      WireError::forbidden);
    }

    auto decision = decide(*op);
    if (!decision) return decision.error();
    if (decision->outcome == WriteDecision::Outcome::hold) return hold(*op, id, bytes, *decision);
    if (!decision->allowed()) {
      ctx_.audit(&device_, "denied", op->family, "push: " + decision->reason);
      return rejected(id, decision->reason, WireError::forbidden);
    }
    auto family = merged(op->family);
    if (!family) return family.error();
    if (auto ok = (*family)->check(*op); !ok) return rejected(id, ok.error().message, WireError::bad_request);
    const EntityDef* def = (*family)->schema().entity(op->entity_type);
    const bool sharing_act = op->kind == sync::OpKind::Create && def && def->sharing_act;
    touched_.insert(op->family);  // changed: its team's feeds move; on a rollback its cache entry goes
    const std::set<std::string> conflicts_before = conflict_ids(**family, op->entity_id);

    if (auto a = append(*op, bytes); !a) return a.error();
    if (auto wall = ctx_.guard.corrected_wall(op->hlc, offset_, ctx_.clock(), floor_ms_)) {
      sync::Op restamp = sync::make_restamp(*op, *wall);
      auto counter = ctx_.store.ops().next_server_counter();
      if (!counter) return counter.error();
      restamp.id = sync::OpId{"server", *counter};
      restamp.hlc = ctx_.server_clock.tick();
      restamp.author = "server";
      if (auto a = append(restamp, sync::encode(restamp)); !a) return a.error();
    }
    // A brand-new family: its creator leads its team, as a TeamMember record the server writes
    // in this transaction (the team index follows the record). A second push of the same
    // Create is a duplicate and never reaches here.
    if (decision->creates_family)
      if (auto w = write_as_authority(ctx_, creator_membership(op->family, device_.practitioner)); !w)
        return w.error();
    // A sharing act: decided once this push's ops are all in (decide_shares).
    if (sharing_act) shares_.emplace_back(op->family, op->entity_id);
    // A decision to share, with or without consent (DOMAIN.md §6.5, §9.1 OVERRIDE): its own event,
    // naming the decision's codes (never its narrative).
    // Required (§9.1): a failure to record it fails the push, which the device sends again.
    if (op->kind == sync::OpKind::Create && op->entity_type == kSharingDecisionType)
      if (auto a = ctx_.store.audit().append(AuditEvent{ctx_.now(), device_.practitioner, device_.id, "override",
                                                        op->family, override_detail(*op)});
          !a)
        return a.error();
    OpResult result{id, OpStatus::accepted, "", std::nullopt};
    if (decision->outcome == WriteDecision::Outcome::allow_flagged) {
      Flag flag{0, ctx_.now(), op->family, decision->flag_kind, id, device_.practitioner, device_.id, decision->reason};
      if (auto f = ctx_.store.flags().add(flag); !f) return f.error();
      ctx_.audit(&device_, "flag", op->family, decision->flag_kind + " " + id + ": " + decision->reason);
      result.reason = decision->reason;
    }
    if (auto t = raise_tasks(*op, id, conflicts_before, *decision); !t) return t.error();
    return result;
  }

  // Work the device holds in quarantine (refused earlier), reported so the lead sees that it
  // exists (DOMAIN.md §6.6). Only the device's own ops; each flagged once.
  Result<std::vector<std::string>> quarantine(const std::vector<sync::protocol::QuarantineNotice>& notices) {
    std::vector<std::string> acknowledged;
    for (const auto& n : notices) {
      if (n.op_id.rfind(device_.id + ":", 0) != 0) continue;
      // Work of an erased family: nobody leads it any more; the server chain records that the
      // device reported it (the family's own chain is sealed under the destroyed key).
      auto gone = ctx_.store.keys().erased(n.family);
      if (!gone) return gone.error();
      if (*gone) {
        ctx_.audit(&device_, "quarantine-reported", "", "op " + n.op_id + " of erased family " + n.family);
        acknowledged.push_back(n.op_id);
        continue;
      }
      Flag flag{0, ctx_.now(), n.family, kFlagQuarantinedOnDevice, n.op_id, device_.practitioner, device_.id, n.reason};
      auto added = ctx_.store.flags().add(flag);
      if (!added) return added.error();
      if (*added) ctx_.audit(&device_, "flag", n.family, std::string(kFlagQuarantinedOnDevice) + " " + n.op_id);
      acknowledged.push_back(n.op_id);
    }
    return acknowledged;
  }

  // The sharing acts this push created, decided against the family's records as they stand
  // after the whole push (DOMAIN.md §6.6, §6.8: at sync time); the outcomes are authority ops
  // the requesting tablet receives at its next pull (sharing.hpp).
  Result<void> decide_shares() {
    for (const auto& [family, request] : shares_) {
      auto decided = settle_share(ctx_, family, request);
      if (!decided) return decided.error();
    }
    return {};
  }

  // Everyone on the team of a family that changed sees it at their next sync.
  Result<void> bump_feeds() {
    for (const auto& f : touched_)
      if (auto b = bump_team_feeds(ctx_, f); !b) return b;
    return {};
  }

  const std::set<std::string>& touched() const { return touched_; }

  // The record-level events of this push's accepted ops: one audit event per family
  // (record_audit.hpp).
  Result<void> audit_changes(int64_t now) {
    return changes_.write(ctx_.store.audit(), now, device_.practitioner, device_.id);
  }

  // The views of T2/T3 records the device logged (DOMAIN.md §9.1 VIEW), written into the chain
  // of each family its practitioner holds or held (on the team now or before, or under a
  // break-glass grant, current or ended); views of other families are not written into any
  // family's chain, only counted. Views the device's bounded log dropped are said too.
  Result<void> audit_views(const sync::protocol::PushRequest& request, sync::protocol::PushReply& reply, int64_t now) {
    std::map<std::string, std::vector<sync::protocol::RecordView>> by_family;
    const auto delivered = static_cast<uint64_t>(std::max<int64_t>(0, device_.views_through));
    for (const auto& v : request.record_views) {
      reply.record_views_through = std::max(reply.record_views_through, v.seq);
      if (v.seq <= delivered) continue;  // delivered by an earlier push whose answer was lost
      by_family[v.family].push_back(v);
    }
    if (reply.record_views_through > delivered) {
      const auto through = static_cast<int64_t>(
          std::min<uint64_t>(reply.record_views_through, static_cast<uint64_t>(std::numeric_limits<int64_t>::max())));
      if (auto r = ctx_.store.devices().record_views_through(device_.id, through); !r) return r;
    }
    std::optional<std::set<std::string>> held;  // readable now or under an ended grant: read once, if needed
    size_t refused = 0, refused_families = 0;
    for (const auto& [family, views] : by_family) {
      auto member = ctx_.store.caseload().membership(family, device_.practitioner);
      if (!member) return member.error();
      bool may_see = member->has_value();
      if (!may_see) {
        if (!held) {
          held.emplace();
          auto readable = ctx_.policy.readable_families(caller_);
          if (!readable) return readable.error();
          auto ended = ctx_.store.due().ended_grant_families(device_.practitioner);
          if (!ended) return ended.error();
          held->insert(readable->begin(), readable->end());
          held->insert(ended->begin(), ended->end());
        }
        may_see = held->count(family) > 0;
      }
      if (!may_see) {
        refused += views.size();
        ++refused_families;
        continue;
      }
      if (auto a = ctx_.store.audit().append(AuditEvent{now, device_.practitioner, device_.id, kRecordViewedAction,
                                                        family, record_views_detail(views)});
          !a)
        return a;
    }
    if (refused > 0)
      if (auto a = ctx_.store.audit().append(
              AuditEvent{now, device_.practitioner, device_.id, "record-views-refused", "",
                         std::to_string(refused) + " views of " + std::to_string(refused_families) +
                             " families this device's practitioner never held were not recorded"});
          !a)
        return a;
    if (request.record_views_dropped > 0) {
      if (auto a = ctx_.store.audit().append(
              AuditEvent{now, device_.practitioner, device_.id, "record-views-dropped", "",
                         "the device's view log was full: " + std::to_string(request.record_views_dropped) +
                             " older views were dropped unsent"});
          !a)
        return a;
      reply.record_views_dropped = request.record_views_dropped;
    }
    return {};
  }

 private:
  Result<void> append(const sync::Op& op, const std::string& bytes) {
    auto seq = store_accepted(ctx_, op, bytes);
    if (!seq) return seq.error();
    changes_.add(op);  // a restamp is no record change: add() leaves it out
    return {};
  }

  ServiceContext& ctx_;
  const DeviceRecord& device_;
  Caller caller_;
  // The family's merged state: read up to date from the log once per push (one IMMEDIATE
  // transaction), then kept current by this push's own appends.
  Result<sync::Materialiser*> merged(const std::string& family) {
    if (checked_.count(family))
      if (auto* m = ctx_.cache.current(family)) return m;
    auto m = ctx_.cache.get(family);
    if (m) checked_.insert(family);
    return m;
  }

  // The family's records as the policy reads them, kept current by the family cache as this
  // push's ops are applied. nullptr while the family holds no record (the op may be the one
  // that creates it).
  Result<access::FamilyFacts*> facts(const std::string& family) {
    if (family.empty()) return static_cast<access::FamilyFacts*>(nullptr);
    auto m = merged(family);
    if (!m) return m.error();
    access::FamilyFacts* f = ctx_.cache.facts(family);
    if (!f || f->records.empty()) return static_cast<access::FamilyFacts*>(nullptr);
    return f;
  }

  // The policy's answer for one op, against the family's records as they stand.
  Result<WriteDecision> decide(const sync::Op& op) {
    auto f = facts(op.family);
    if (!f) return f.error();
    return ctx_.policy.may_write(caller_, op, *f, ctx_.now());
  }

  // An op beyond its author's rights (DOMAIN.md §7): kept at the server, flagged for the person
  // who decides, audited; the device is told why and by whom it will be decided.
  Result<OpResult> hold(const sync::Op& op, const std::string& id, const std::string& bytes, const WriteDecision& d) {
    HeldOp held{id, ctx_.now(), op.family, device_.practitioner, device_.id, d.route_to, d.reason, bytes};
    auto added = ctx_.store.flags().hold(held);
    if (!added) return added.error();
    if (*added) {
      Flag flag{0, ctx_.now(), op.family, kFlagHeldForDecision, id, device_.practitioner, device_.id,
                "for " + d.route_to + ": " + d.reason};
      if (auto f = ctx_.store.flags().add(flag); !f) return f.error();
      ctx_.audit(&device_, "held", op.family, id + " held for " + d.route_to + ": " + d.reason);
      // The person who decides gets a task naming them (issue 8 part 7).
      touched_.insert(op.family);
      if (auto t = write_as_authority(ctx_, held_op_tasks(op.family, id, device_.practitioner, d.route_to, d.reason)); !t)
        return t.error();
    }
    OpResult r{id, OpStatus::held, d.reason, std::nullopt};
    r.route_to = d.route_to;
    return r;
  }

  // The ids of the conflicts open on one record ("" when the record is not held yet).
  static std::set<std::string> conflict_ids(const sync::Materialiser& m, const std::string& entity_id) {
    std::set<std::string> ids;
    if (const sync::EntityMerge* e = m.entity(entity_id))
      for (const auto& c : e->conflicts()) ids.insert(c.id);
    return ids;
  }

  // The tasks an accepted op calls for (task_triggers.hpp): a conflict it opened, a flag it
  // carries, a consent withdrawal or an information-sharing decision it made or countersigned.
  // Written in this push's transaction, as the office's authority.
  Result<void> raise_tasks(const sync::Op& op, const std::string& id, const std::set<std::string>& conflicts_before,
                           const WriteDecision& decision) {
    std::vector<AuthorityWrite> writes;
    auto m = merged(op.family);
    if (!m) return m.error();
    std::vector<OpenedConflict> opened;
    const std::set<std::string> after = conflict_ids(**m, op.entity_id);
    for (const auto& c : after)
      if (!conflicts_before.count(c)) opened.push_back(OpenedConflict{op.entity_id, c});
    std::vector<std::string> resolved;
    for (const auto& c : conflicts_before)
      if (!after.count(c)) resolved.push_back(c);
    if (!opened.empty()) writes.push_back(conflict_tasks(op.family, std::move(opened)));
    if (!resolved.empty()) writes.push_back(resolved_conflict_tasks(op.family, std::move(resolved)));
    if (decision.outcome == WriteDecision::Outcome::allow_flagged)
      writes.push_back(flag_tasks(op.family, id, decision.flag_kind, decision.reason));
    if (record_raises_tasks(op.entity_type)) writes.push_back(record_tasks(op.family, op.entity_id));
    // A step-up submitted or a step-down received moves the episode and its plan (step_up.hpp).
    if (step_up_watches(op.entity_type)) writes.push_back(step_up_effects(op.family, op.entity_id));
    for (const auto& w : writes)
      if (auto done = write_as_authority(ctx_, w); !done) return done.error();
    return {};
  }

  int64_t offset_;
  uint64_t floor_ms_;
  std::set<std::string> checked_;
  std::set<std::string> touched_;
  std::vector<std::pair<std::string, std::string>> shares_;  // family, SharingRequest id
  RecordChanges changes_;
};

}  // namespace

Answer<sync::protocol::PushReply> push(ServiceContext& ctx, const DeviceRecord& device,
                                       const sync::protocol::PushRequest& request) {
  using A = Answer<sync::protocol::PushReply>;
  uint64_t now = ctx.clock();
  int64_t offset = request.device_time_ms != 0 ? ctx.guard.offset(request.device_time_ms, now) : 0;
  sync::protocol::PushReply reply;
  Caller caller{device.practitioner, device.id, device.last_pull_at, "", {}};
  if (auto c = ctx.policy.complete(caller); !c) return A::fail(WireError::server, c.error().message);
  PushRun run(ctx, device, std::move(caller), offset, request.clock_floor_ms);
  size_t accepted = 0, refused = 0, held = 0;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    // The device was told its ops up to delivered_counter were stored, under this very epoch:
    // if the log holds fewer, the server's history went back (a restore) and gets a new epoch,
    // so every device sends again what the server lacks (CONTRACTS.md, fault 3).
    auto went_back = history_went_back(ctx, device, HistoryClaims{request.history_epoch, request.delivered_counter, 0, std::nullopt},
                                       std::numeric_limits<int64_t>::max());
    if (!went_back) return went_back.error();
    auto history = ctx.history(*went_back, &device);
    if (!history) return history.error();
    reply.history = *history;
    if (auto locked = lock_families_of(ctx, request.ops); !locked) return locked;
    for (const auto& bytes : request.ops) {
      auto result = run.one(bytes);
      if (!result) return result.error();
      if (result->status == sync::protocol::OpStatus::accepted) ++accepted;
      if (result->status == sync::protocol::OpStatus::rejected) ++refused;
      if (result->status == sync::protocol::OpStatus::held) ++held;
      reply.results.push_back(std::move(*result));
    }
    auto acknowledged = run.quarantine(request.quarantined);
    if (!acknowledged) return acknowledged.error();
    reply.quarantine_acknowledged = std::move(*acknowledged);
    if (auto s = run.decide_shares(); !s) return s;
    // Probable duplicates among the persons and contacts this push changed: review tasks, never a merge.
    if (auto d = review_duplicates_of(ctx, {run.touched().begin(), run.touched().end()}); !d) return d.error();
    // The device learns what was decided about its held ops: those it still shows as waiting,
    // and any op of this push that was held and decided before (sent again after a new history).
    std::vector<std::string> asked = request.held_waiting;
    for (const auto& r : reply.results)
      if (r.status == sync::protocol::OpStatus::held) asked.push_back(r.op_id);
    auto decided = held_decisions(ctx, device.id, asked);
    if (!decided) return decided.error();
    reply.held_decided = std::move(*decided);
    if (auto b = run.bump_feeds(); !b) return b;
    if (auto a = run.audit_changes(static_cast<int64_t>(now)); !a) return a;
    if (auto v = run.audit_views(request, reply, static_cast<int64_t>(now)); !v) return v;
    return ctx.store.audit().append(AuditEvent{static_cast<int64_t>(now), device.practitioner, device.id, "push", "",
                                               std::to_string(accepted) + " accepted, " + std::to_string(refused) +
                                                   " rejected, " + std::to_string(held) + " held"});
  });
  if (!done) {
    for (const auto& f : run.touched()) ctx.cache.forget(f);  // the cache may hold ops the rollback removed
    return A::fail(WireError::server, "the push was not stored: " + done.error().message);
  }
  reply.server_time_ms = now;
  reply.clock_offset_ms = offset;
  reply.max_push_bytes = ctx.limits.wire.push_bytes;
  reply.max_op_bytes = ctx.limits.wire.op_bytes;
  return A::ok(std::move(reply));
}

}  // namespace hearth::server
