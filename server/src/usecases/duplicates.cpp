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

// The DUPLICATE_REVIEW task of one finding in one family.
AuthorityWrite review_task(const DuplicateFinding& f, const std::string& family) {
  AuthorityWrite w;
  w.family = family;
  w.author = kOfficeAuthor;
  w.action = "duplicate-review";
  w.detail = "probable duplicate " + f.pair + " (finding " + std::to_string(f.id) + ")";
  w.plan = [f, family](ServiceContext& ctx, const sync::Materialiser& merged) -> Result<std::vector<AuthorityEdit>> {
    std::vector<AuthorityEdit> edits;
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
                                                                   f.pair + ": no manager or lead professional to name"});
          !a)
        return a.error();
      return edits;
    }
    auto cfg = tenant_config(ctx);
    if (!cfg) return cfg.error();
    const bool across = f.first_family != f.second_family;
    std::string detail;
    if (!across) {
      detail = "Probable duplicate " + f.kind + " records " + f.first + " and " + f.second + ": " + f.reasons +
               ". Review them; " +
               (f.kind == kPerson ? "a manager merges them with `hearth-server merge-person --keep ID --merge ID`"
                                  : "correct or amend as needed") +
               ". Nothing was merged automatically (finding " + std::to_string(f.id) + ").";
    } else {
      const std::string& mine = f.first_family == family ? f.first : f.second;
      detail = "Person " + mine + " is a probable duplicate of a person recorded in another family: " + f.reasons +
               ". The office reviews it (finding " + std::to_string(f.id) +
               ", `hearth-server duplicates`); nothing was merged automatically.";
    }
    TaskSpec spec{task_type::kDuplicateReview, assignee, cfg->add_working_days(ctx.now(), cfg->task_due_working_days()),
                  f.pair, detail};
    if (raise_task(merged, family, spec, edits))
      if (auto a = ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, kAuthorityDevice, "task", family,
                                                       spec.type + " " + task_id(family, spec) + " for " + assignee +
                                                           ", about " + f.pair});
          !a)
        return a.error();
    return edits;
  };
  return w;
}

// Records the finding once; the first time, audits it and raises its tasks.
Result<bool> raise(ServiceContext& ctx, const dup::Finding& found, std::vector<DuplicateFinding>& raised) {
  DuplicateFinding f;
  f.pair = found.key();
  f.kind = found.kind;
  f.first = found.first;
  f.second = found.second;
  f.first_family = found.first_family;
  f.second_family = found.second_family;
  f.reasons = joined_reasons(found.reasons);
  f.raised_at = ctx.now();
  auto added = ctx.store.duplicates().add_finding(f);
  if (!added) return added.error();
  if (!*added) return false;
  std::set<std::string> families{f.first_family, f.second_family};
  for (const auto& family : families) {
    if (auto a = ctx.store.audit().append(AuditEvent{ctx.now(), kOfficeAuthor, kAuthorityDevice, "duplicate-found",
                                                     family, found.describe() + " (finding " + std::to_string(f.id) + ")"});
        !a)
      return a.error();
    auto w = write_as_authority(ctx, review_task(f, family));
    if (!w) return w.error();
  }
  raised.push_back(f);
  return true;
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
  for (const auto& f : found)
    if (auto r = raise(ctx, f, raised); !r) return r.error();
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
