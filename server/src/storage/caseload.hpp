#pragma once
// The caseload: organisations, practitioners, and who is on each family's team. The family's
// records (TeamMember, EarlyHelpEpisode.lead_professional) are the one source of truth for its
// team; the memberships kept here are an index derived from them (reconcile_team), in the same
// transaction as the ops that change them, so a query by practitioner stays cheap.
// Team membership keeps its history: a removal closes the membership (removed_at) rather than
// deleting it, so the access policy can tell "removed after the device's last sync" from
// "never on the team" (DOMAIN.md §6.6, recording is not sharing).
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

// A practitioner as the directory knows them (DOMAIN.md §3.2).
struct PractitionerProfile {
  std::string id;
  std::string organisation;
  std::string role;  // the system role given by `hearth-server add-practitioner --role`
};

struct Membership {
  std::string family;
  std::string practitioner;
  bool lead = false;
  int64_t joined_at = 0;                // server time, ms since the epoch
  std::optional<int64_t> removed_at;    // set once taken off the team
};

// One practitioner of a family's team as the family's records say (usecases/team_index.hpp).
struct RecordedMember {
  std::string practitioner;
  bool current = false;  // on the team now (no left_at, a scope other than NONE)
  bool lead = false;
};

class Caseload {
 public:
  virtual ~Caseload() = default;

  // A duplicate id is ErrorCode::conflict naming it.
  virtual Result<void> add_organisation(const std::string& id, const std::string& name, const std::string& type) = 0;
  // An unknown organisation is ErrorCode::not_found; a duplicate id ErrorCode::conflict.
  virtual Result<void> add_practitioner(const std::string& id, const std::string& organisation,
                                        const std::string& name, const std::string& role) = 0;
  virtual Result<bool> practitioner_exists(const std::string& id) = 0;
  // The practitioner's organisation and role; an unknown id is ErrorCode::not_found.
  virtual Result<PractitionerProfile> practitioner(const std::string& id) = 0;
  virtual Result<bool> organisation_exists(const std::string& id) = 0;
  // Every practitioner holding system role `role` (DOMAIN.md §3.2), of `organisation` when it is
  // not empty, by id: who a task for "a manager" or "the IG officer" goes to (N6).
  virtual Result<std::vector<std::string>> practitioners_with_role(const std::string& role,
                                                                   const std::string& organisation) = 0;
  // The practitioner's organisation; ErrorCode::not_found naming an unknown practitioner.
  virtual Result<std::string> organisation_of(const std::string& practitioner) = 0;
  // The organisation's org_type (DOMAIN.md §3.1): the KPI report's initiating agency (§12.2
  // K-02). ErrorCode::not_found naming an unknown organisation.
  virtual Result<std::string> organisation_type(const std::string& organisation) = 0;

  // Brings the index of `family` into line with what its records say, at server time `at` (the
  // time the server learned of the change: DOMAIN.md §6.6 judges later writes against it).
  // A practitioner the records name is on the team exactly when `current`; a membership the
  // index took from the records earlier and the records no longer name is closed; memberships
  // made directly (allocate() below, and databases from before the records were authoritative)
  // stay until the records name their practitioner. Bumps the feed of every practitioner whose
  // membership changed and returns them, by id.
  virtual Result<std::vector<std::string>> reconcile_team(const std::string& family,
                                                          const std::vector<RecordedMember>& recorded, int64_t at) = 0;

  // Index-only writes, kept for tests and upgrades; the office's commands write TeamMember
  // records instead (usecases/team.hpp).
  // Puts a practitioner on a family's team (or changes their lead flag), at server time `at`.
  // Bumps the practitioner's feed. An unknown practitioner is ErrorCode::not_found.
  virtual Result<void> allocate(const std::string& family, const std::string& practitioner, bool lead, int64_t at) = 0;
  // Takes a practitioner off the team at `at`, keeping the membership as history. Not being on
  // the team is ErrorCode::not_found.
  virtual Result<void> deallocate(const std::string& family, const std::string& practitioner, int64_t at) = 0;

  virtual Result<std::vector<std::string>> families_of(const std::string& practitioner) = 0;  // current, by id
  virtual Result<std::vector<std::string>> team_of(const std::string& family) = 0;            // current, by id
  // The practitioner's latest membership of the family (current or removed), if any.
  virtual Result<std::optional<Membership>> membership(const std::string& family, const std::string& practitioner) = 0;
  // True once the office has allocated the family to anyone, even if all were removed since.
  virtual Result<bool> family_allocated(const std::string& family) = 0;

  // A counter per practitioner, bumped whenever anything they may see changes: an empty sync
  // compares it and does nothing else.
  virtual Result<int64_t> feed_version(const std::string& practitioner) = 0;
  virtual Result<void> bump_feed(const std::string& practitioner) = 0;
};

}  // namespace hearth::server
