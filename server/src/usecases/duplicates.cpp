#include "duplicates.hpp"

#include <map>
#include <set>

#include "authority_write.hpp"
#include "hearth/core/duplicates.hpp"
#include "hearth/platform/encoding.hpp"
#include "tasks.hpp"

namespace hearth::server {

namespace {

namespace dup = hearth::duplicates;

constexpr const char* kPerson = "Person";
constexpr const char* kContact = "Contact";

std::string joined_reasons(const std::vector<std::string>& reasons) {
  std::string out;
  for (const auto& r : reasons) out += (out.empty() ? "" : "; ") + r;
  return out;
}

// What the rule reads of a person, hashed: an unchanged person is not indexed or looked up again.
std::string fingerprint(const dup::PersonFacts& p) {
  std::string all;
  for (const std::string* s : {&p.nhs_number, &p.given_names, &p.family_name, &p.sex, &p.person_status,
                               &p.date_of_birth, &p.expected_due_date, &p.merged_into})
    all += *s + '\x1f';
  all += p.deleted ? "1" : "0";
  return platform::sha256_hex(all);
}

struct FamilyRecords {
  std::vector<dup::PersonFacts> persons;
  std::vector<dup::ContactFacts> contacts;
};

// Copies what the rule reads of one family (the cache's pointer is not kept: looking at another
// family may evict this one).
Result<FamilyRecords> records_of(ServiceContext& ctx, const std::string& family) {
  auto m = ctx.cache.get(family);
  if (!m) return m.error();
  FamilyRecords out;
  for (const sync::EntityMerge* e : (*m)->entities(family)) {
    if (!e->created()) continue;
    const std::string& type = e->def().name;
    if (type == kPerson) out.persons.push_back(dup::person_facts(e->id(), family, e->values(), e->deleted()));
    else if (type == kContact) out.contacts.push_back(dup::contact_facts(e->id(), family, e->values(), e->deleted()));
  }
  return out;
}

// One person of another family, as its family holds it now (nullopt: gone or not a Person).
Result<std::optional<dup::PersonFacts>> person_in(ServiceContext& ctx, const IndexedPerson& who) {
  auto m = ctx.cache.get(who.family);
  if (!m) return m.error();
  const sync::EntityMerge* e = (*m)->entity(who.person);
  if (!e || !e->created() || e->def().name != kPerson || e->family() != who.family)
    return std::optional<dup::PersonFacts>();
  return std::optional<dup::PersonFacts>(dup::person_facts(e->id(), who.family, e->values(), e->deleted()));
}

// What a task or an audit event says of one finding, seen from `family`: both ids within one
// family; only this family's id for a pair across two families.
std::string seen_from(const DuplicateFinding& f, const std::string& family) {
  if (f.first_family == f.second_family)
    return f.kind + " " + f.first + " and " + f.second + " (" + f.reasons + "; finding " + std::to_string(f.id) + ")";
  const std::string& mine = f.first_family == family ? f.first : f.second;
  return "Person " + mine + " and a person recorded in another family (" + f.reasons + "; finding " +
         std::to_string(f.id) + ", `hearth-server duplicates`)";
}

// At most this many findings are named in one task's detail or one audit event; the rest are counted.
constexpr size_t kNamedPerTask = 5;

// The DUPLICATE_REVIEW task of the findings of one kind one review raised in one family: one task
// per family and kind per review (a run of double-saved visits raises one task, not one per pair),
// about the first finding's pair.
AuthorityWrite review_task(std::vector<DuplicateFinding> found, const std::string& family) {
  AuthorityWrite w;
  w.family = family;
  w.author = kOfficeAuthor;
  w.action = "duplicate-review";
  w.detail = std::to_string(found.size()) + " probable duplicates, the first " + found.front().pair;
  w.plan = [found = std::move(found), family](ServiceContext& ctx,
                                              const sync::Materialiser& merged) -> Result<std::vector<AuthorityEdit>> {
    std::vector<AuthorityEdit> edits;
    const DuplicateFinding& first = found.front();
    const access::FamilyFacts* facts = ctx.cache.facts(family);
    std::string assignee;
    if (facts) {
      auto manager = manager_for(ctx, merged.schema(), *facts);
      if (!manager) return manager.error();
      assignee = *manager;
      if (assignee.empty()) assignee = server::lead_of(merged.schema(), *facts, ctx.now()).practitioner;
    }
    if (assignee.empty()) {
      if (auto a = ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, kAuthorityDevice, "task-unassigned",
                                                       family, std::string(task_type::kDuplicateReview) + " about " +
                                                                   first.pair + ": no manager or lead professional to name"});
          !a)
        return a.error();
      return edits;
    }
    auto cfg = tenant_config(ctx);
    if (!cfg) return cfg.error();
    std::string detail = "Probable duplicates to review (nothing was merged automatically): ";
    for (size_t i = 0; i < found.size() && i < kNamedPerTask; ++i) detail += (i ? "; " : "") + seen_from(found[i], family);
    if (found.size() > kNamedPerTask)
      detail += "; and " + std::to_string(found.size() - kNamedPerTask) + " more (`hearth-server duplicates`)";
    detail += ". A manager merges persons with `hearth-server merge-person --keep ID --merge ID`.";
    TaskSpec spec{task_type::kDuplicateReview, assignee, cfg->add_working_days(ctx.now(), cfg->task_due_working_days()),
                  first.pair, detail};
    if (raise_task(merged, family, spec, edits))
      if (auto a = ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, kAuthorityDevice, "task", family,
                                                       spec.type + " " + task_id(family, spec) + " for " + assignee +
                                                           ", about " + first.pair});
          !a)
        return a.error();
    return edits;
  };
  return w;
}

// Records the finding once; true the first time (`f` then carries its id).
Result<bool> record(ServiceContext& ctx, const dup::Finding& found, DuplicateFinding& f) {
  f.pair = found.key();
  f.kind = found.kind;
  f.first = found.first;
  f.second = found.second;
  f.first_family = found.first_family;
  f.second_family = found.second_family;
  f.reasons = joined_reasons(found.reasons);
  f.raised_at = ctx.now();
  return ctx.store.duplicates().add_finding(f);
}

// Audits the findings a review raised in one family (one event) and raises its task.
Result<void> raise(ServiceContext& ctx, const std::string& family, std::vector<DuplicateFinding> found) {
  std::string detail = std::to_string(found.size()) + " probable duplicates: ";
  for (size_t i = 0; i < found.size() && i < kNamedPerTask; ++i) detail += (i ? "; " : "") + seen_from(found[i], family);
  if (found.size() > kNamedPerTask) detail += "; and " + std::to_string(found.size() - kNamedPerTask) + " more";
  if (auto a = ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, kAuthorityDevice, "duplicate-found",
                                                   family, detail});
      !a)
    return a;
  auto w = write_as_authority(ctx, review_task(std::move(found), family));
  if (!w) return w.error();
  return {};
}

Result<void> review_family(ServiceContext& ctx, const std::string& family, std::vector<DuplicateFinding>& raised) {
  auto records = records_of(ctx, family);
  if (!records) return records.error();
  std::vector<dup::Finding> found = dup::duplicate_persons(records->persons);
  for (auto& c : dup::duplicate_contacts(records->contacts)) found.push_back(std::move(c));

  // The index, and other families' candidates for each person that changed.
  DuplicateStore& index = ctx.store.duplicates();
  for (const auto& p : records->persons) {
    std::string print = fingerprint(p);
    auto known = index.person(p.id);
    if (!known) return known.error();
    if (*known && (*known)->fingerprint == print && (*known)->family == family) continue;
    std::vector<std::string> hashes;
    for (const auto& key : dup::blocking_keys(p)) {
      auto h = index.key_hash(key);
      if (!h) return h.error();
      hashes.push_back(std::move(*h));
    }
    if (auto r = index.index_person(IndexedPerson{p.id, family, p.merged_into, print}, hashes); !r) return r;
    std::map<std::string, IndexedPerson> candidates;  // by person id
    for (const auto& h : hashes) {
      auto holders = index.with_key(h, kMaxCandidates);
      if (!holders) return holders.error();
      for (auto& c : *holders)
        if (c.family != family && c.merged_into.empty() && candidates.size() < kMaxCandidates)
          candidates.emplace(c.person, std::move(c));
    }
    for (const auto& [id, c] : candidates) {
      auto other = person_in(ctx, c);
      if (!other) return other.error();
      if (!*other) continue;
      if (auto why = dup::persons_match(p, **other)) {
        dup::Finding f;
        f.kind = kPerson;
        const bool mine_first = p.id < c.person;
        f.first = mine_first ? p.id : c.person;
        f.second = mine_first ? c.person : p.id;
        f.first_family = mine_first ? family : c.family;
        f.second_family = mine_first ? c.family : family;
        f.reasons = *why;
        found.push_back(std::move(f));
      }
    }
  }
  // Each pair once: the pairs already known (whatever their status) are read in one query.
  auto known = index.findings(family, true);
  if (!known) return known.error();
  std::set<std::string> seen;
  for (const auto& k : *known) seen.insert(k.pair);
  // One task per family and kind: persons are for a manager to merge, contacts to correct.
  std::map<std::pair<std::string, std::string>, std::vector<DuplicateFinding>> by_family;
  for (const auto& f : found) {
    if (seen.count(f.key())) continue;
    DuplicateFinding stored;
    auto added = record(ctx, f, stored);
    if (!added) return added.error();
    if (!*added) continue;
    for (const auto& fam : std::set<std::string>{stored.first_family, stored.second_family})
      by_family[{fam, stored.kind}].push_back(stored);
    raised.push_back(std::move(stored));
  }
  for (auto& [where, list] : by_family)
    if (auto r = raise(ctx, where.first, std::move(list)); !r) return r;
  return {};
}

}  // namespace

Result<void> note_for_duplicates(ServiceContext& ctx, const sync::Op& op) {
  if (op.entity_type != kPerson && op.entity_type != kContact) return {};
  return ctx.store.duplicates().mark_pending(op.family);
}

// Reviews up to `max_families` pending families; `taken` receives them.
static Result<void> review_some(ServiceContext& ctx, size_t max_families, std::vector<std::string>& taken,
                         std::vector<DuplicateFinding>& raised) {
  auto pending = ctx.store.duplicates().take_pending(max_families);
  if (!pending) return pending.error();
  taken = std::move(*pending);
  for (const auto& family : taken) {
    auto gone = ctx.store.keys().erased(family);  // an erased family has nothing left to compare
    if (!gone) return gone.error();
    if (*gone) continue;
    if (auto r = review_family(ctx, family, raised); !r) return r.error();
  }
  return {};
}

Result<std::vector<DuplicateFinding>> review_duplicates(ServiceContext& ctx, size_t max_families) {
  std::vector<DuplicateFinding> raised;
  std::vector<std::string> taken;
  if (auto r = review_some(ctx, max_families, taken, raised); !r) return r.error();
  return raised;
}

Result<std::vector<DuplicateFinding>> review_duplicates_of(ServiceContext& ctx, const std::vector<std::string>& families) {
  std::vector<DuplicateFinding> raised;
  for (const auto& family : families) {
    auto was = ctx.store.duplicates().take_pending_family(family);
    if (!was) return was.error();
    if (!*was) continue;
    if (auto r = review_family(ctx, family, raised); !r) return r.error();
  }
  return raised;
}

Result<void> review_all_pending(ServiceContext& ctx) {
  for (;;) {
    std::vector<std::string> taken;
    std::vector<DuplicateFinding> raised;
    auto done = ctx.store.transaction(
        [&]() -> Result<void> { return review_some(ctx, kReviewFamiliesPerCall, taken, raised); });
    if (!done) {
      for (const auto& f : taken) ctx.cache.forget(f);  // it may hold task ops the rollback removed
      return done.error();
    }
    if (taken.size() < kReviewFamiliesPerCall) return {};  // every pending family reviewed
  }
}

Result<std::vector<DuplicateFinding>> list_duplicates(ServiceContext& ctx, const std::string& family, bool all) {
  if (auto r = review_all_pending(ctx); !r) return r.error();
  return ctx.store.duplicates().findings(family, all);
}

}  // namespace hearth::server
