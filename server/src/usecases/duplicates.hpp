#pragma once
// Probable duplicates at the server (DOMAIN.md §2 G1, §8.3 C-1 and C-20, §13 S5), found by the
// one rule in core/duplicates.hpp, which the tablet runs too (client Store::probable_duplicates).
//
// When: every accepted Person or Contact op marks its family pending (note_for_duplicates,
// called by store_accepted); the push that accepted it reviews the pending families before it
// commits (review_duplicates), so does a person merge and `hearth-server duplicates`.
// A review of a family:
//  - brings the blocking-key index up to date for the family's persons (storage/duplicates.hpp:
//    keyed hashes, never a value in clear), skipping persons whose facts have not changed;
//  - finds the probable duplicate persons and contacts within the family (bounded per family,
//    core/duplicates.hpp), and for each person that changed, the probable duplicates in other
//    families among the persons sharing one of its blocking keys (at most kMaxCandidates);
//  - records each pair once (a dismissed or merged pair is never raised again); for the pairs new
//    in this review, writes one audit event per family ("duplicate-found") and raises one
//    DUPLICATE_REVIEW task per family involved and kind (persons, contacts: a run of double-saved
//    visits is one task, not one per pair),
//    about the first new pair, to the family's team manager (tasks.hpp manager_for), else its lead
//    professional; the task's detail names up to 5 pairs by id with the rule's reasons, never a
//    value, and for a pair across two families names only this family's record (the other
//    family's existence is for the office: `hearth-server duplicates`). Nothing is ever merged
//    automatically (C-20).
// Thread-safety: as ServiceContext (callers serialise).
#include <string>
#include <vector>

#include "context.hpp"
#include "hearth/sync/op.hpp"
#include "storage/duplicates.hpp"

namespace hearth::server {

// Persons looked at in other families per changed person.
inline constexpr size_t kMaxCandidates = 64;
// Families reviewed per call of review_duplicates (the rest stay pending for the next).
inline constexpr size_t kReviewFamiliesPerCall = 64;

// Marks the op's family pending when the op is on a Person or a Contact. In the op's transaction.
Result<void> note_for_duplicates(ServiceContext& ctx, const sync::Op& op);

// Reviews up to `max_families` pending families inside the caller's transaction; returns the
// findings raised for the first time.
Result<std::vector<DuplicateFinding>> review_duplicates(ServiceContext& ctx, size_t max_families = kReviewFamiliesPerCall);
// Reviews those of `families` that are pending (a push's own families: one family that cannot be
// reviewed then fails only the pushes that touch it, and a push's time follows its own families).
Result<std::vector<DuplicateFinding>> review_duplicates_of(ServiceContext& ctx, const std::vector<std::string>& families);

// Reviews every pending family in transactions of its own (kReviewFamiliesPerCall families
// each). A merge and `hearth-server duplicates` call it first, so the index is current.
Result<void> review_all_pending(ServiceContext& ctx);

// Reviews every pending family (in transactions of kReviewFamiliesPerCall families), then lists
// the findings touching `family` ("" = every family); open ones only unless `all`.
Result<std::vector<DuplicateFinding>> list_duplicates(ServiceContext& ctx, const std::string& family, bool all);

}  // namespace hearth::server
