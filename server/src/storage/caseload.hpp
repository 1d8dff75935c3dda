#pragma once
// The caseload: organisations, practitioners, and who is on each family's team. Team
// membership keeps its history: a removal closes the membership (removed_at) rather than
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
