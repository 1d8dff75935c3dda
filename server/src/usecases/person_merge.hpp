#pragma once
// Merging a duplicate person into the one kept (DOMAIN.md §2 G1, §3.3, §8.3 C-20, §13 S5): by a
// team manager (`hearth-server merge-person`) or by the office system (the inbound office
// endpoint calls merge_persons with by = kOfficeAuthor). Never automatic: a probable duplicate
// only raises a review (duplicates.hpp).
//
// What a merge writes, as server-authority ops (authority_write.hpp) in one transaction, so every
// replica converges at its next sync:
//  - on the merged-away Person: merged_into = the kept person's id (the marker; core/duplicates.hpp
//    kMergedIntoField). The record is kept with everything recorded on it, never deleted: its
//    values stay readable and in the field history. Readers that count people (KPIs, §12.1
//    "persons merged away" excluded) skip a Person whose merged_into is set;
//  - on every other record of every family involved, each Ref or RefSet field to Person naming
//    the merged-away person names the kept one instead (subjects, memberships, relationships,
//    consents, episodes, referrals, findings, the merged_into of persons merged into it before,
//    so chains stay one step). A FamilyMembership of the merged-away person in a family where
//    the kept person already has a live membership is removed (a tombstone: its history stays)
//    rather than duplicated;
//  - records that may not be edited (APPEND records: contacts, outcome measurements, sharing
//    decisions, amendments; DOMAIN.md §3.14, §6.5) keep their reference as recorded: they are
//    evidence as written. A reader resolves such a reference through the merged-away person's
//    merged_into. They are listed in the outcome and the audit.
// The families involved: the kept person's, the merged-away person's, the families of persons
// merged into the merged-away one earlier, and any family whose current records name the
// merged-away person as a subject (storage/records.hpp). Across two families (the same newborn registered in
// two families), both families' records name the kept id afterwards; each person record stays in
// its own family (the merged-away one, marked, in its family), and neither family's team receives
// the other family's records by this (the access policy is unchanged).
// The open DUPLICATE_REVIEW tasks about the pair are set DONE and its finding is marked MERGED.
// Audited: "person-merge" in each family (who, the pair, the reason, what was re-pointed and what
// was kept as recorded); a refusal is audited as "person-merge-refused".
// Thread-safety: as ServiceContext (callers serialise; SyncService::with_context).
#include <string>
#include <vector>

#include "context.hpp"

namespace hearth::server {

struct PersonMergeOutcome {
  std::string keep;
  std::string merged_away;
  std::vector<std::string> families;       // every family written
  size_t repointed = 0;                    // references re-pointed (fields and set elements)
  size_t memberships_removed = 0;          // duplicate memberships removed
  std::vector<std::string> kept_as_recorded;  // "Type id.field": references left as written (APPEND)
  std::vector<std::string> ops;            // the ops written, in order
  // The merged-away person was already merged into `keep` (the same merge again, e.g. an office
  // message delivered twice): nothing is written.
  bool already_merged = false;
};

// Merges `merged_away` into `keep`. `by`: a practitioner with the TEAM_MANAGER role, or
// kOfficeAuthor (the office system). `reason`: why (required, 1 to 1024 bytes of text).
// Errors, each naming the id at fault, nothing written:
//   invalid_argument: an id malformed, the same person twice, an empty or overlong reason;
//   not_found: no such person on this server, no such practitioner;
//   forbidden: `by` is not a team manager;
//   conflict: `keep` was merged into another person, `merged_away` was merged into another
//     person than `keep`, or either is deleted.
// The same merge again succeeds with already_merged set and writes nothing (idempotent).
Result<PersonMergeOutcome> merge_persons(ServiceContext& ctx, const std::string& keep, const std::string& merged_away,
                                         const std::string& by, const std::string& reason);

}  // namespace hearth::server
