#pragma once
// Held ops decided at the office (DOMAIN.md §7; issue 8 part 3). A push keeps an op beyond its
// author's rights in the held store (storage/flags.hpp HeldOp) and tells the device who decides
// (route_to). Here the person entitled to decides it:
//  - apply: the decider must be entitled to make that very write themselves (the access policy
//    judges the op as the decider's own, against the family as it stands now); the op's edits are
//    then written as the server's authority ops (authority_write.hpp) with the decider as author,
//    so every device of the team receives the value at its next pull;
//  - dismiss: nothing is written to the family; the held op is kept, marked with who dismissed
//    it, when and why.
// Both are audit events ("held-apply", "held-dismiss"; a refused apply is audited "denied"). A
// decided op is never decided again. The device that made the op learns the decision in its
// next push answer (sync::protocol::HeldDecided).
// Thread-safety: as ServiceContext (callers serialise; SyncService::with_context).
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"
#include "hearth/sync/op.hpp"

namespace hearth::server {

// One held op as the office reads it.
struct HeldSummary {
  HeldOp held;
  std::string what;  // what the op would do, in words: "set EarlyHelpEpisode ep-1 level_of_need to \"L3\""
};

// What an op would do, in words: the record, the field and the value.
std::string describe_op(const sync::Op& op);

// Every held op, oldest first; of one family when given. A body that no longer decodes is
// listed with its decoding error as `what`.
Result<std::vector<HeldSummary>> held_ops(ServiceContext& ctx, const std::optional<std::string>& family);

// Applies held op `op_id` as practitioner `by` (note optional). Returns the authority op ids.
// Errors, nothing written: no such held op or practitioner (not_found); decided already
// (conflict, naming the decision); `by` not entitled to the write (forbidden, with the policy's
// reason; audited); the op no longer applies to the family as it stands (e.g. its record was
// deleted since: the Materialiser's error); an acknowledgement or re-stamp, which has no edit to
// re-apply (invalid_argument: dismiss it instead).
Result<std::vector<std::string>> apply_held(ServiceContext& ctx, const std::string& op_id, const std::string& by,
                                            const std::string& note);

// Dismisses held op `op_id` as practitioner `by`, for `reason` (required). Errors: no such held
// op or practitioner (not_found), an empty reason (invalid_argument), decided already (conflict).
Result<void> dismiss_held(ServiceContext& ctx, const std::string& op_id, const std::string& by,
                          const std::string& reason);

// The decisions taken on `device`'s ops among `op_ids` (other devices' ids are ignored).
Result<std::vector<sync::protocol::HeldDecided>> held_decisions(ServiceContext& ctx, const std::string& device,
                                                               const std::vector<std::string>& op_ids);

}  // namespace hearth::server
