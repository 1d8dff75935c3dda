#pragma once
// Erasure of a family by crypto-shredding, legal holds and the retention schedule
// (DOMAIN.md §10.1, §10.3; docs/server-encryption.md "Erasure").
//
// erase_family, in this order:
//   1. checks the basis, the reference and who asks; refuses a family under a legal hold;
//   2. destroys the family's data key and enters the family in the erasure register
//      (keys/keyring.hpp) - from here nothing of the family can be read, here or in any backup;
//   3. in one transaction, records the erasure in the server chain (readable: family id, who,
//      basis, reference; the family's own chain is sealed under the destroyed key), deletes the
//      family's rows (Storage::delete_family) and moves its team's feeds, so every
//      device that holds the family is told to purge it at its next sync (pull.cpp), and any op
//      of the family a device sends again is refused (push.cpp), kept in that device's
//      quarantine and reported there: nothing recorded vanishes unseen.
// Thread-safety: run under the service's lock (SyncService::with_context).
#include <optional>
#include <string>
#include <vector>

#include "context.hpp"

namespace hearth::server {

// The grounds DOMAIN.md §10.3 allows: a family opened in error, an erasure approved on request,
// retention expired (§10.1).
inline const std::vector<std::string>& erasure_bases() {
  static const std::vector<std::string> all = {"OPENED_IN_ERROR", "APPROVED_ERASURE", "RETENTION_EXPIRED"};
  return all;
}

struct ErasureRequest {
  std::string family;
  std::string by;         // a practitioner with the IG_OFFICER role, or "admin"
  std::string basis;      // one of erasure_bases()
  std::string reference;  // the approval's reference, 1..200 bytes of UTF-8, no personal data
};

struct ErasureReport {
  std::vector<std::string> team;  // practitioners whose devices are told to purge the family
  bool rows_deleted = false;
  bool resumed = false;  // the key was destroyed by an earlier run whose row deletion failed
};

// Errors: invalid_argument (basis, reference), not_found (no such family or practitioner),
// forbidden (not an IG officer; a legal hold stands), conflict (erased already). Run again
// for a family whose key is gone but whose rows are still here, it deletes them (resumed).
Result<ErasureReport> erase_family(ServiceContext& ctx, const ErasureRequest& request);

// Deletes the rows of every family in the erasure register that this database still holds: an
// erasure interrupted between its key and its rows, or a restored backup taken before the
// erasure. Each is audited at `now_ms`. Runs in its own transaction unless `in_transaction`
// (the caller's is open); returns those families.
Result<std::vector<std::string>> apply_erasure_register(Storage& store, int64_t now_ms, bool in_transaction = false);

// Legal holds (keys/keyring.hpp LegalHold). `reason`: 1..200 bytes of UTF-8. Audited.
Result<void> place_legal_hold(ServiceContext& ctx, const std::string& family, const std::string& by,
                              const std::string& reason);
Result<bool> lift_legal_hold(ServiceContext& ctx, const std::string& family, const std::string& by);

// One family of the retention schedule (DOMAIN.md §10.1): every episode closed, and its
// retention ended: the youngest person's date of birth + retention_age_years, or, with no date
// of birth recorded (an unborn child), the last closure + retention_unborn_years.
struct RetentionDue {
  std::string family;
  int64_t retain_until_ms = 0;
  std::string rule;                 // which of the two rules gave the date
  std::optional<LegalHold> hold;    // a hold that blocks the erasure
};
// Families whose retention ended by `now_ms`, by family id. Bounded: reads at most
// `max_families` families (each through the family cache).
Result<std::vector<RetentionDue>> retention_due(ServiceContext& ctx, int64_t now_ms, size_t max_families = 100000);

}  // namespace hearth::server
