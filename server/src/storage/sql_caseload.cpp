#include <map>
#include <set>

#include "sql_parts.hpp"
#include "sql_util.hpp"

namespace hearth::server::sql {

Result<void> SqlCaseload::add_organisation(const std::string& id, const std::string& name, const std::string& type) {
  auto known = exists(db_, "SELECT 1 FROM organisations WHERE id = ?", id);
  if (!known) return known.error();
  if (*known) return make_error(ErrorCode::conflict, "an organisation with id '" + id + "' already exists");
  return run(db_, "INSERT INTO organisations(id, name, org_type) VALUES(?, ?, ?)", {id, name, type});
}

std::string practitioner_aad(const std::string& id) { return "hearth-server practitioner v1|" + id; }

Result<void> SqlCaseload::add_practitioner(const std::string& id, const std::string& org, const std::string& name,
                                              const std::string& role) {
  auto known_org = exists(db_, "SELECT 1 FROM organisations WHERE id = ?", org);
  if (!known_org) return known_org.error();
  if (!*known_org) return make_error(ErrorCode::not_found, "no organisation '" + org + "'");
  auto known = practitioner_exists(id);
  if (!known) return known.error();
  if (*known) return make_error(ErrorCode::conflict, "a practitioner with id '" + id + "' already exists");
  // A member of staff's name is personal data too: sealed under the directory's key.
  auto sealed = sealer_.seal(kDirectoryPartition, name, practitioner_aad(id));
  if (!sealed) return sealed.error();
  auto st = db_.prepare("INSERT INTO practitioners(id, organisation, display_name, role) VALUES(?, ?, ?, ?)");
  if (!st) return st.error();
  st->bind(1, id).bind(2, org).bind_blob(3, *sealed).bind(4, role);
  return st->run();
}

Result<bool> SqlCaseload::practitioner_exists(const std::string& id) {
  return exists(db_, "SELECT 1 FROM practitioners WHERE id = ?", id);
}

Result<PractitionerProfile> SqlCaseload::practitioner(const std::string& id) {
  auto st = db_.cached("SELECT organisation, role FROM practitioners WHERE id = ?");
  if (!st) return st.error();
  (*st)->bind(1, id);
  auto row = (*st)->step();
  if (!row || !*row) {
    (*st)->reset();
    if (!row) return row.error();
    return make_error(ErrorCode::not_found, "no practitioner '" + id + "'");
  }
  PractitionerProfile p{id, (*st)->text(0), (*st)->text(1)};
  (*st)->reset();
  return p;
}

Result<bool> SqlCaseload::organisation_exists(const std::string& id) {
  return exists(db_, "SELECT 1 FROM organisations WHERE id = ?", id);
}

Result<std::vector<std::string>> SqlCaseload::practitioners_with_role(const std::string& role,
                                                                         const std::string& organisation) {
  if (organisation.empty()) return strings(db_, "SELECT id FROM practitioners WHERE role = ? ORDER BY id", role);
  auto st = db_.cached("SELECT id FROM practitioners WHERE role = ? AND organisation = ? ORDER BY id");
  if (!st) return st.error();
  (*st)->bind(1, role);
  (*st)->bind(2, organisation);
  std::vector<std::string> out;
  for (;;) {
    auto row = (*st)->step();
    if (!row) {
      (*st)->reset();
      return row.error();
    }
    if (!*row) break;
    out.push_back((*st)->text(0));
  }
  (*st)->reset();
  return out;
}

Result<std::string> SqlCaseload::organisation_of(const std::string& practitioner) {
  auto found = strings(db_, "SELECT organisation FROM practitioners WHERE id = ?", practitioner);
  if (!found) return found.error();
  if (found->empty()) return make_error(ErrorCode::not_found, "no practitioner '" + practitioner + "'");
  return found->front();
}

Result<std::string> SqlCaseload::organisation_type(const std::string& organisation) {
  auto found = strings(db_, "SELECT org_type FROM organisations WHERE id = ?", organisation);
  if (!found) return found.error();
  if (found->empty()) return make_error(ErrorCode::not_found, "no organisation '" + organisation + "'");
  return found->front();
}

Result<std::vector<std::string>> SqlCaseload::reconcile_team(const std::string& family,
                                                                const std::vector<RecordedMember>& recorded,
                                                                int64_t at) {
  struct Row {
    bool lead = false;
    bool from_records = false;
  };
  std::map<std::string, Row> current;  // the index's current memberships of the family
  {
    auto st = db_.prepare("SELECT practitioner, lead, from_records FROM memberships WHERE family = ? AND removed_at IS NULL");
    if (!st) return st.error();
    st->bind(1, family);
    auto done = st->each([&](Statement& r) { current[r.text(0)] = Row{r.integer(1) != 0, r.integer(2) != 0}; });
    if (!done) return done.error();
  }
  std::set<std::string> changed, named;
  auto close = [&](const std::string& practitioner) -> Result<void> {
    changed.insert(practitioner);
    return run(db_, "UPDATE memberships SET removed_at = CAST(? AS BIGINT) WHERE family = ? AND practitioner = ? "
                    "AND removed_at IS NULL",
               {std::to_string(at), family, practitioner});
  };
  for (const auto& m : recorded) {
    named.insert(m.practitioner);
    auto it = current.find(m.practitioner);
    if (!m.current) {
      if (it != current.end())
        if (auto r = close(m.practitioner); !r) return r.error();
      continue;
    }
    if (it == current.end()) {
      auto st = db_.prepare(
          "INSERT INTO memberships(family, practitioner, lead, joined_at, from_records) VALUES(?, ?, ?, ?, 1)");
      if (!st) return st.error();
      st->bind(1, family).bind(2, m.practitioner).bind(3, int64_t{m.lead ? 1 : 0}).bind(4, at);
      if (auto r = st->run(); !r) return r.error();
      changed.insert(m.practitioner);
    } else if (it->second.lead != m.lead || !it->second.from_records) {
      auto st = db_.prepare(
          "UPDATE memberships SET lead = ?, from_records = 1 WHERE family = ? AND practitioner = ? AND removed_at IS NULL");
      if (!st) return st.error();
      st->bind(1, int64_t{m.lead ? 1 : 0}).bind(2, family).bind(3, m.practitioner);
      if (auto r = st->run(); !r) return r.error();
      if (it->second.lead != m.lead) changed.insert(m.practitioner);
    }
  }
  for (const auto& [practitioner, row] : current)
    if (row.from_records && !named.count(practitioner))
      if (auto r = close(practitioner); !r) return r.error();
  for (const auto& p : changed)
    if (auto b = bump_feed(p); !b) return b.error();
  return std::vector<std::string>(changed.begin(), changed.end());
}

Result<void> SqlCaseload::allocate(const std::string& family, const std::string& practitioner, bool lead, int64_t at) {
  auto known = practitioner_exists(practitioner);
  if (!known) return known.error();
  if (!*known) return make_error(ErrorCode::not_found, "no practitioner '" + practitioner + "'");
  // A current member keeps their membership (and its joined_at); only the lead flag changes.
  auto st = db_.prepare(
      "INSERT INTO memberships(family, practitioner, lead, joined_at) VALUES(?, ?, ?, ?) "
      "ON CONFLICT(family, practitioner) WHERE removed_at IS NULL DO UPDATE SET lead = excluded.lead");
  if (!st) return st.error();
  st->bind(1, family).bind(2, practitioner).bind(3, int64_t{lead ? 1 : 0}).bind(4, at);
  if (auto r = st->run(); !r) return r;
  return bump_feed(practitioner);
}

Result<void> SqlCaseload::deallocate(const std::string& family, const std::string& practitioner, int64_t at) {
  auto st = db_.prepare(
      "UPDATE memberships SET removed_at = ? WHERE family = ? AND practitioner = ? AND removed_at IS NULL RETURNING id");
  if (!st) return st.error();
  st->bind(1, at).bind(2, family).bind(3, practitioner);
  auto id = integer(*st, 0);
  if (!id) return id.error();
  if (*id == 0)
    return make_error(ErrorCode::not_found, "practitioner '" + practitioner + "' is not on the team of family '" +
                                                family + "'");
  return bump_feed(practitioner);
}

Result<std::vector<std::string>> SqlCaseload::families_of(const std::string& practitioner) {
  return strings(db_, "SELECT family FROM memberships WHERE practitioner = ? AND removed_at IS NULL ORDER BY family",
                 practitioner);
}

Result<std::vector<std::string>> SqlCaseload::team_of(const std::string& family) {
  return strings(db_, "SELECT practitioner FROM memberships WHERE family = ? AND removed_at IS NULL ORDER BY practitioner",
                 family);
}

Result<std::optional<Membership>> SqlCaseload::membership(const std::string& family, const std::string& practitioner) {
  auto st = db_.cached(
      "SELECT lead, joined_at, removed_at FROM memberships WHERE family = ? AND practitioner = ? "
      "ORDER BY removed_at IS NULL DESC, id DESC LIMIT 1");
  if (!st) return st.error();
  (*st)->bind(1, family).bind(2, practitioner);
  auto row = (*st)->step();
  if (!row || !*row) {
    (*st)->reset();
    if (!row) return row.error();
    return std::optional<Membership>();
  }
  Membership m{family, practitioner, (*st)->integer(0) != 0, (*st)->integer(1), std::nullopt};
  if (!(*st)->is_null(2)) m.removed_at = (*st)->integer(2);
  (*st)->reset();
  return std::optional<Membership>(m);
}

Result<bool> SqlCaseload::family_allocated(const std::string& family) {
  return exists(db_, "SELECT 1 FROM memberships WHERE family = ? LIMIT 1", family);
}

Result<int64_t> SqlCaseload::feed_version(const std::string& practitioner) {
  auto st = db_.cached("SELECT version FROM feeds WHERE practitioner = ?");
  if (!st) return st.error();
  (*st)->bind(1, practitioner);
  return integer(**st, 0);
}

Result<void> SqlCaseload::bump_feed(const std::string& practitioner) {
  auto st = db_.cached(
      "INSERT INTO feeds(practitioner, version) VALUES(?, 1) "
      "ON CONFLICT(practitioner) DO UPDATE SET version = version + 1");
  if (!st) return st.error();
  (*st)->bind(1, practitioner);
  return (*st)->run();
}

}  // namespace hearth::server::sql
