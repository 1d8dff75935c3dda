#include "held.hpp"

#include <set>

#include "authority_write.hpp"
#include "task_triggers.hpp"
#include "tasks.hpp"
#include "hearth/core/text.hpp"
#include "hearth/sync/encoding.hpp"

namespace hearth::server {

namespace {

std::string record_of(const sync::Op& op) { return op.entity_type + " " + op.entity_id; }

std::string decided_words(const HeldOp& h) {
  const HeldDecision& d = *h.decision;
  return "held op " + h.op_id + " was already " + d.outcome + " by " + d.by + " at " + datetime_of(d.at) +
         (d.note.empty() ? "" : " (" + d.note + ")");
}

// The held op, undecided, and the practitioner who decides; or the error naming the argument.
Result<HeldOp> undecided(ServiceContext& ctx, const std::string& op_id, const std::string& by) {
  auto held = ctx.store.flags().held_op(op_id);
  if (!held) return held.error();
  if (!*held) return make_error(ErrorCode::not_found, "--op: no held op '" + op_id + "' (see `hearth-server held list`)");
  if ((*held)->decision) return make_error(ErrorCode::conflict, decided_words(**held));
  auto known = ctx.store.caseload().practitioner_exists(by);
  if (!known) return known.error();
  if (!*known) return make_error(ErrorCode::not_found, "--by: no practitioner '" + by + "'");
  return std::move(**held);
}

// The op's edit in the terms of the authority's builders.
Result<AuthorityEdit> edit_of(const sync::Op& op) {
  auto text = [&] { return op.value.is_string() ? op.value.as_string() : std::string(); };
  switch (op.kind) {
    case sync::OpKind::Create: return AuthorityEdit::create(op.entity_type, op.entity_id, op.fields);
    case sync::OpKind::Set: return AuthorityEdit::set(op.entity_id, op.field, op.value);
    case sync::OpKind::Add: return AuthorityEdit::add(op.entity_id, op.field, text());
    case sync::OpKind::Remove: return AuthorityEdit::remove(op.entity_id, op.field, text());
    case sync::OpKind::Transition: return AuthorityEdit::transition(op.entity_id, text());
    case sync::OpKind::Delete: return AuthorityEdit::remove_record(op.entity_id);
    case sync::OpKind::Acknowledge:
    case sync::OpKind::Restamp: break;
  }
  return make_error(ErrorCode::invalid_argument, "op " + op.id.to_string() + " (" + sync::to_string(op.kind) +
                                                     ") has no edit to re-apply; dismiss it instead");
}

}  // namespace

std::string describe_op(const sync::Op& op) {
  switch (op.kind) {
    case sync::OpKind::Create: {
      std::string fields;
      for (const auto& [name, value] : op.fields) fields += (fields.empty() ? "" : ", ") + name + " = " + value.describe();
      return "create " + record_of(op) + (fields.empty() ? "" : " with " + fields);
    }
    case sync::OpKind::Set: return "set " + record_of(op) + " " + op.field + " to " + op.value.describe();
    case sync::OpKind::Add: return "add " + op.value.describe() + " to " + record_of(op) + " " + op.field;
    case sync::OpKind::Remove: return "remove " + op.value.describe() + " from " + record_of(op) + " " + op.field;
    case sync::OpKind::Transition:
      return "move " + record_of(op) + " " + op.field + " from " + op.text + " to " + op.value.describe();
    case sync::OpKind::Delete: return "delete " + record_of(op);
    case sync::OpKind::Acknowledge: return "acknowledge conflict " + op.text + " on " + record_of(op);
    case sync::OpKind::Restamp: return "re-stamp an op of " + record_of(op);
  }
  return record_of(op);
}

Result<std::vector<HeldSummary>> held_ops(ServiceContext& ctx, const std::optional<std::string>& family) {
  auto held = ctx.store.flags().held(family);
  if (!held) return held.error();
  std::vector<HeldSummary> out;
  for (auto& h : *held) {
    auto op = sync::decode(h.body);
    std::string what = op ? describe_op(*op) : "(the stored op does not decode: " + op.error().message + ")";
    out.push_back(HeldSummary{std::move(h), std::move(what)});
  }
  return out;
}

// A decision's note reaches the author's tablet in push answers (held_decided), whose reader
// takes reasons of at most 4,096 bytes of UTF-8: a longer one would make every later answer
// unreadable to that tablet.
namespace {

constexpr size_t kDecisionNoteBytes = 2000;

Result<void> check_decision_note(const std::string& option, const std::string& text) {
  if (text.size() > kDecisionNoteBytes)
    return make_error(ErrorCode::invalid_argument, option + ": at most " + std::to_string(kDecisionNoteBytes) +
                                                       " bytes, not " + std::to_string(text.size()));
  return check_utf8(option, text);
}

}  // namespace

Result<std::vector<std::string>> apply_held(ServiceContext& ctx, const std::string& op_id, const std::string& by,
                                            const std::string& note) {
  if (auto ok = check_decision_note("--note", note); !ok) return ok.error();
  std::vector<std::string> ids;
  std::string family, refused;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    auto held = undecided(ctx, op_id, by);
    if (!held) return held.error();
    family = held->family;
    auto decoded = sync::decode(held->body);
    if (!decoded) return make_error(ErrorCode::corrupt, "held op " + op_id + ": " + decoded.error().message);
    sync::Op op = std::move(*decoded);
    auto edit = edit_of(op);
    if (!edit) return edit.error();
    // The decider makes the write as their own: judged by the policy as any write of theirs,
    // against the family as it stands now. They decide at the office, knowing the family as it
    // is: no offline period of a device is in question.
    Caller decider{by, "", ctx.now(), "", {}};
    if (auto c = ctx.policy.complete(decider); !c) return c.error();
    auto merged = ctx.cache.get(family);
    if (!merged) return merged.error();
    access::FamilyFacts* facts = ctx.cache.facts(family);
    if (facts && facts->records.empty()) facts = nullptr;
    sync::Op as_decider = op;
    as_decider.author = by;
    auto decision = ctx.policy.may_write(decider, as_decider, facts, ctx.now());
    if (!decision) return decision.error();
    if (!decision->allowed()) {
      refused = decision->reason;
      auto member = ctx.store.caseload().membership(family, by);
      const bool off_team = member && (!*member || (*member)->removed_at);
      return make_error(ErrorCode::forbidden,
                        "--by: " + by + " may not make this write themselves (" + describe_op(op) +
                            "): " + decision->reason +
                            (off_team ? "; a manager decides once on the family's team: hearth-server allocate --family " +
                                            family + " --practitioner " + by
                                      : std::string()));
    }
    AuthorityWrite write;
    write.family = family;
    write.author = by;
    write.action = "held-apply";
    write.detail = "held op " + op_id + " by " + held->practitioner + " applied by " + by +
                   (note.empty() ? "" : " (" + note + ")") + ": " + describe_op(op);
    write.plan = [edit = *edit](ServiceContext&, const sync::Materialiser&) -> Result<std::vector<AuthorityEdit>> {
      return std::vector<AuthorityEdit>{edit};
    };
    auto written = write_as_authority(ctx, write);
    if (!written) return written.error();
    ids = *written;
    std::string listed;
    for (const auto& id : ids) listed += (listed.empty() ? "" : " ") + id;
    auto decided = ctx.store.flags().decide(op_id, HeldDecision{kHeldApplied, ctx.now(), by, note, listed});
    if (!decided) return decided.error();
    if (!*decided) return make_error(ErrorCode::conflict, "held op " + op_id + " was decided meanwhile");
    // Decided: its WRITE_REFUSED task is done; what the write calls for is raised (task_triggers.hpp).
    if (auto t = write_as_authority(ctx, close_tasks(family, task_type::kWriteRefused, op_id, "applied by " + by)); !t)
      return t.error();
    if (record_raises_tasks(op.entity_type))
      if (auto t = write_as_authority(ctx, record_tasks(family, op.entity_id)); !t) return t.error();
    return {};
  });
  if (!done) {
    if (!family.empty()) ctx.cache.forget(family);  // it may hold ops the rollback removed
    if (!refused.empty())
      (void)ctx.store.audit().append(AuditEvent{ctx.now(), by, "", "denied", family,
                                                "held-apply of " + op_id + " refused: " + refused});
    return done.error();
  }
  return ids;
}

Result<void> dismiss_held(ServiceContext& ctx, const std::string& op_id, const std::string& by,
                          const std::string& reason) {
  if (reason.empty()) return make_error(ErrorCode::invalid_argument, "--reason: say why the held op is dismissed");
  if (auto ok = check_decision_note("--reason", reason); !ok) return ok.error();
  std::string family;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    auto held = undecided(ctx, op_id, by);
    if (!held) return held.error();
    family = held->family;
    auto decided = ctx.store.flags().decide(op_id, HeldDecision{kHeldDismissed, ctx.now(), by, reason, ""});
    if (!decided) return decided.error();
    if (!*decided) return make_error(ErrorCode::conflict, "held op " + op_id + " was decided meanwhile");
    if (auto t = write_as_authority(ctx, close_tasks(held->family, task_type::kWriteRefused, op_id,
                                                     "dismissed by " + by + ": " + reason));
        !t)
      return t.error();
    auto op = sync::decode(held->body);
    std::string what = op ? describe_op(*op) : "op " + op_id;
    return ctx.store.audit().append(AuditEvent{ctx.now(), by, "", "held-dismiss", held->family,
                                               "held op " + op_id + " by " + held->practitioner + " dismissed by " +
                                                   by + ": " + reason + "; it would have: " + what});
  });
  if (!done && !family.empty()) ctx.cache.forget(family);  // it may hold the task's op the rollback removed
  return done;
}

Result<std::vector<sync::protocol::HeldDecided>> held_decisions(ServiceContext& ctx, const std::string& device,
                                                               const std::vector<std::string>& op_ids) {
  std::vector<sync::protocol::HeldDecided> out;
  std::set<std::string> seen;
  for (const auto& id : op_ids) {
    if (id.rfind(device + ":", 0) != 0 || !seen.insert(id).second) continue;
    auto held = ctx.store.flags().held_op(id);
    if (!held) return held.error();
    if (!*held || !(*held)->decision) continue;
    const HeldDecision& d = *(*held)->decision;
    out.push_back(sync::protocol::HeldDecided{id, d.outcome, d.by, d.note, static_cast<uint64_t>(d.at)});
  }
  return out;
}

}  // namespace hearth::server
