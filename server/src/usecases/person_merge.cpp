#include "person_merge.hpp"

#include <algorithm>
#include <set>

#include "authority_write.hpp"
#include "duplicates.hpp"
#include "hearth/core/duplicates.hpp"
#include "hearth/core/text.hpp"
#include "task_triggers.hpp"
#include "tasks.hpp"

namespace hearth::server {

namespace {

constexpr const char* kPerson = "Person";
constexpr const char* kMembership = "FamilyMembership";
constexpr const char* kTeamManager = "TEAM_MANAGER";
constexpr size_t kMaxReasonBytes = 1024;

bool names(const Value& v, const std::string& id) {
  if (v.is_string()) return v.as_string() == id;
  if (v.is_list()) {
    const auto& l = v.as_list();
    return std::find(l.begin(), l.end(), id) != l.end();
  }
  return false;
}

// The plan re-pointing one family's references (see person_merge.hpp).
AuthorityWrite repoint(const std::string& family, const std::string& keep, const std::string& merged_away,
                       const std::string& by, PersonMergeOutcome& out) {
  AuthorityWrite w;
  w.family = family;
  w.author = by;
  w.action = "person-merge-write";
  w.detail = "Person " + merged_away + " merged into " + keep;
  w.plan = [family, keep, merged_away, &out](ServiceContext&,
                                             const sync::Materialiser& m) -> Result<std::vector<AuthorityEdit>> {
    std::vector<AuthorityEdit> edits;
    auto live = [&](const sync::EntityMerge* e) { return e->created() && !e->deleted() && e->family() == family; };
    bool keep_is_member = false;
    for (const sync::EntityMerge* e : m.entities(family))
      if (live(e) && e->def().name == kMembership && names(e->value("person"), keep)) keep_is_member = true;
    for (const sync::EntityMerge* e : m.entities(family)) {
      if (!live(e)) continue;
      const EntityDef& def = e->def();
      if (e->id() == merged_away) {
        edits.push_back(AuthorityEdit::set(merged_away, duplicates::kMergedIntoField, Value(keep)));
        continue;
      }
      if (def.name == kMembership && keep_is_member && names(e->value("person"), merged_away) &&
          m.make_delete(e->id())) {
        edits.push_back(AuthorityEdit::remove_record(e->id()));
        ++out.memberships_removed;
        continue;
      }
      for (const FieldDef& f : def.fields) {
        if (f.ref != kPerson) continue;
        Value v = e->value(f.name);
        if (!names(v, merged_away)) continue;
        const std::string where = def.name + " " + e->id() + "." + f.name;
        if (f.type == FieldType::Ref) {
          if (!m.make_set(e->id(), f.name, Value(keep))) {
            out.kept_as_recorded.push_back(where);
            continue;
          }
          edits.push_back(AuthorityEdit::set(e->id(), f.name, Value(keep)));
        } else {
          if (!m.make_remove(e->id(), f.name, merged_away)) {
            out.kept_as_recorded.push_back(where);
            continue;
          }
          if (!names(v, keep)) edits.push_back(AuthorityEdit::add(e->id(), f.name, keep));
          edits.push_back(AuthorityEdit::remove(e->id(), f.name, merged_away));
        }
        ++out.repointed;
      }
    }
    return edits;
  };
  return w;
}

// The person as its family holds it now: ErrorCode::not_found or conflict when it cannot be merged.
Result<const sync::EntityMerge*> live_person(ServiceContext& ctx, const IndexedPerson& who, const char* role) {
  auto m = ctx.cache.get(who.family);
  if (!m) return m.error();
  const sync::EntityMerge* e = (*m)->entity(who.person);
  if (!e || !e->created() || e->def().name != kPerson)
    return make_error(ErrorCode::not_found, std::string(role) + ": no Person '" + who.person + "' on this server");
  if (e->deleted()) return make_error(ErrorCode::conflict, std::string(role) + ": Person " + who.person + " is deleted");
  Value into = e->value(duplicates::kMergedIntoField);
  if (into.is_string() && !into.as_string().empty())
    return make_error(ErrorCode::conflict, std::string(role) + ": Person " + who.person + " was already merged into " +
                                               into.as_string() + (std::string(role) == "--keep" ? "; keep that one" : ""));
  return e;
}

}  // namespace

Result<PersonMergeOutcome> merge_persons(ServiceContext& ctx, const std::string& keep, const std::string& merged_away,
                                         const std::string& by, const std::string& reason) {
  auto refuse = [&](const Error& e) -> Result<PersonMergeOutcome> {
    (void)ctx.store.audit().append(AuditEvent{ctx.now(), is_valid_id(by) ? by : std::string("unknown"), "",
                                              "person-merge-refused", "",
                                              "merge of " + printable(merged_away) + " into " + printable(keep) + ": " +
                                                  e.message});
    return e;
  };
  if (auto r = check_id("--keep", keep); !r) return refuse(r.error());
  if (auto r = check_id("--merge", merged_away); !r) return refuse(r.error());
  if (auto r = check_id("--by", by); !r) return refuse(r.error());
  if (keep == merged_away)
    return refuse(Error{ErrorCode::invalid_argument, "a person cannot be merged into itself (" + keep + ")"});
  if (reason.empty() || reason.size() > kMaxReasonBytes)
    return refuse(Error{ErrorCode::invalid_argument,
                        "--reason: say why the two are the same person (1 to " + std::to_string(kMaxReasonBytes) +
                            " bytes)"});
  if (auto r = check_utf8("--reason", reason); !r) return refuse(r.error());
  if (by != kOfficeAuthor) {
    auto exists = ctx.store.caseload().practitioner_exists(by);
    if (!exists) return exists.error();
    if (!*exists) return refuse(Error{ErrorCode::not_found, "--by: no practitioner '" + by + "'"});
    auto profile = ctx.store.caseload().practitioner(by);
    if (!profile) return profile.error();
    if (profile->role != kTeamManager)
      return refuse(Error{ErrorCode::forbidden, "--by: " + by + " is a " + profile->role +
                                                    ", not a TEAM_MANAGER: only a manager (or the office) merges "
                                                    "persons (DOMAIN.md §3.3, G1)"});
  }
  // The index must know every person pushed so far.
  if (auto r = review_all_pending(ctx); !r) return r.error();

  PersonMergeOutcome out;
  out.keep = keep;
  out.merged_away = merged_away;
  std::set<std::string> families;
  auto done = ctx.store.transaction([&]() -> Result<void> {
    DuplicateStore& index = ctx.store.duplicates();
    auto kept = index.person(keep);
    if (!kept) return kept.error();
    if (!*kept) return make_error(ErrorCode::not_found, "--keep: no Person '" + keep + "' on this server");
    auto away = index.person(merged_away);
    if (!away) return away.error();
    if (!*away) return make_error(ErrorCode::not_found, "--merge: no Person '" + merged_away + "' on this server");
    if (auto e = live_person(ctx, **kept, "--keep"); !e) return e.error();
    if ((*away)->merged_into == keep) {  // this very merge, done before
      out.already_merged = true;
      return {};
    }
    if (auto e = live_person(ctx, **away, "--merge"); !e) return e.error();
    families = {(*kept)->family, (*away)->family};
    auto earlier = index.merged_into(merged_away);  // their families' records name merged_away now
    if (!earlier) return earlier.error();
    for (const auto& p : *earlier) families.insert(p.family);
    // Any other family holding a record about the merged-away person (the current records' index
    // of subject persons, storage/records.hpp).
    RecordQuery about;
    about.person = merged_away;
    about.include_deleted = true;
    if (auto r = ctx.store.records().scan(about, [&](const StoredRecord& rec) -> Result<bool> {
          families.insert(rec.family);
          return true;
        });
        !r)
      return r;

    for (const auto& family : families) {
      auto ops = write_as_authority(ctx, repoint(family, keep, merged_away, by, out));
      if (!ops) return ops.error();
      out.ops.insert(out.ops.end(), ops->begin(), ops->end());
      out.families.push_back(family);
    }
    // The index follows at once (a chained merge may come next); its keys go with the marker.
    if (auto r = index.index_person(IndexedPerson{merged_away, (*away)->family, keep, ""}, {}); !r) return r;
    for (const auto& p : *earlier)
      if (auto r = index.index_person(IndexedPerson{p.person, p.family, keep, ""}, {}); !r) return r;

    // The review is over: the pair's finding and its tasks.
    const std::string pair = std::string(kPerson) + ":" + std::min(keep, merged_away) + "|" + std::max(keep, merged_away);
    auto findings = index.findings_of(merged_away);
    if (!findings) return findings.error();
    for (const auto& f : *findings) {
      if (f.pair != pair) continue;
      if (f.status == kFindingOpen)
        if (auto r = index.decide(f.id, kFindingMerged, by, ctx.now()); !r) return r;
      for (const auto& family : std::set<std::string>{f.first_family, f.second_family}) {
        auto closed = write_as_authority(
            ctx, close_tasks(family, task_type::kDuplicateReview, pair, "merged by " + by + " (finding " +
                                                                            std::to_string(f.id) + ")"));
        if (!closed) return closed.error();
        out.ops.insert(out.ops.end(), closed->begin(), closed->end());
      }
    }
    std::string kept_list;
    for (const auto& k : out.kept_as_recorded) kept_list += (kept_list.empty() ? "" : ", ") + k;
    for (const auto& family : families)
      if (auto a = ctx.store.audit().append(AuditEvent{
              ctx.now(), by, kAuthorityDevice, "person-merge", family,
              "Person " + merged_away + " merged into " + keep + " by " + by + ": " + reason + "; " +
                  std::to_string(out.repointed) + " references re-pointed, " +
                  std::to_string(out.memberships_removed) + " duplicate memberships removed" +
                  (kept_list.empty() ? "" : "; kept as recorded (APPEND): " + kept_list)});
          !a)
        return a;
    return {};
  });
  if (!done) {
    for (const auto& f : families) ctx.cache.forget(f);
    if (done.error().code == ErrorCode::not_found || done.error().code == ErrorCode::conflict) return refuse(done.error());
    return done.error();
  }
  return out;
}

}  // namespace hearth::server
