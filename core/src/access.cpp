// The access policy (access.hpp): standing, consent per person, minimisation and write rights,
// all read from the schema's declarations (schema.hpp: FieldDef audience, lead_or_manager_writes,
// member_writes, not_self_of; EntityDef subject_fields, consent_area, category_field, owner_field,
// policy_record, safety_record, removal_needs_manager; Lifecycle reserved states).
//
// Cost: each call indexes the family once (one pass over the records, consents grouped by the
// person they cover) and memoises each person's consent position for the viewer, so a view is
// linear in records plus consents, and a write is one pass over the records.
#include "hearth/core/access.hpp"

#include <algorithm>
#include <cstdio>
#include <unordered_map>
#include <utility>

#include "hearth/core/civil_time.hpp"

namespace hearth::access {

const char* to_string(Standing s) {
  switch (s) {
    case Standing::none: return "none";
    case Standing::plan_member: return "plan_member";
    case Standing::full_member: return "full_member";
    case Standing::break_glass: return "break_glass";
    case Standing::lead: return "lead";
    case Standing::manager: return "manager";
    case Standing::office: return "office";
  }
  return "?";
}

bool FamilyView::record_visible(const std::string& id) const {
  return family_visible() && withheld_records.count(id) == 0;
}

bool FamilyView::field_visible(const std::string& id, const std::string& field) const {
  if (!record_visible(id)) return false;
  auto it = withheld_fields.find(id);
  return it == withheld_fields.end() || it->second.count(field) == 0;
}

namespace {

// FNV-1a 64 over length-prefixed parts, so no two different sequences of parts collide by
// concatenation.
class Fnv {
 public:
  void add(const std::string& s) {
    std::string len = std::to_string(s.size()) + ":";
    bytes(len);
    bytes(s);
  }
  std::string hex() const {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h_));
    return buf;
  }

 private:
  void bytes(const std::string& s) {
    for (char c : s) {
      h_ ^= static_cast<unsigned char>(c);
      h_ *= 1099511628211ULL;
    }
  }
  uint64_t h_ = 14695981039346656037ULL;
};

}  // namespace

// Reasons are left out: two practitioners who receive the same records and fields have the
// same view, whatever the words that explain it.
std::string FamilyView::digest() const {
  Fnv h;
  h.add(to_string(standing));
  for (const auto& [id, why] : withheld_records) {
    (void)why;
    h.add("R");
    h.add(id);
  }
  for (const auto& [id, fields] : withheld_fields) {
    for (const auto& [field, why] : fields) {
      (void)why;
      h.add("F");
      h.add(id);
      h.add(field);
    }
  }
  return h.hex();
}

namespace {

const std::string kEmpty;
const StringList kNoList;
const std::string kDsl = "DSL";  // Practitioner.system_roles: a designated safeguarding lead (§6.5 countersign)
const std::string kTeamManager = "TEAM_MANAGER";  // Practitioner.system_roles, and the route for a manager
const std::string kShareWithTaf = "SHARE_WITH_TAF";
constexpr int64_t kBreakGlassMaxMs = int64_t{4} * 60 * 60 * 1000;  // DOMAIN.md §7: 4-hour expiry
using civil::kDayMs;

// ---- values -------------------------------------------------------------------------------

const std::string& text_of(const FieldValues& f, const std::string& name) {
  if (name.empty()) return kEmpty;
  auto it = f.find(name);
  return it != f.end() && it->second.is_string() ? it->second.as_string() : kEmpty;
}

const StringList& list_of(const FieldValues& f, const std::string& name) {
  if (name.empty()) return kNoList;
  auto it = f.find(name);
  return it != f.end() && it->second.is_list() ? it->second.as_list() : kNoList;
}

bool bool_of(const FieldValues& f, const std::string& name) {
  auto it = f.find(name);
  return it != f.end() && it->second.is_bool() && it->second.as_bool();
}

bool contains(const StringList& l, const std::string& v) { return std::find(l.begin(), l.end(), v) != l.end(); }

// The values of a Ref (one) or RefSet (many) field.
void refs_of(const FieldValues& f, const std::string& name, std::vector<std::string>& out) {
  auto it = f.find(name);
  if (it == f.end()) return;
  if (it->second.is_string() && !it->second.as_string().empty()) out.push_back(it->second.as_string());
  if (it->second.is_list())
    for (const auto& v : it->second.as_list()) out.push_back(v);
}

// ---- time (civil calendar, UTC: hearth/core/civil_time.hpp) ---------------------------------

using civil::civil_from_days;
using civil::parse_date;
using civil::parse_ms;
using civil::Ymd;

// Whole years from `dob` to the day of `now_ms`; -1 when the date is unknown.
int64_t age_years(const std::string& dob, int64_t now_ms) {
  auto d = parse_date(dob);
  if (!d) return -1;
  Ymd today = civil_from_days(now_ms >= 0 ? now_ms / kDayMs : (now_ms - kDayMs + 1) / kDayMs);
  int64_t age = today.y - d->y;
  if (today.m < d->m || (today.m == d->m && today.d < d->d)) --age;
  return age;
}

// Before `now` (a time that does not parse counts as no time at all).
bool passed(const std::string& when, int64_t now_ms) {
  auto t = parse_ms(when);
  return t && *t <= now_ms;
}

// ---- the team (DOMAIN.md §7) ----------------------------------------------------------------

struct Team {
  const RecordFacts* episode = nullptr;  // the current episode
  std::map<std::string, const RecordFacts*> members;  // current TeamMember by practitioner
  std::map<std::string, const RecordFacts*> grants;   // unexpired BreakGlassGrant by practitioner
  std::string lead;
  std::string lead_reason;
  std::string lead_agency;        // the episode's allocated organisation, else the lead's
  std::string lead_organisation;  // the lead professional's own organisation
};

// The current episode: an open one before a closed one, then the latest start, then the
// greatest id (records come in any order; the choice must not depend on it).
bool episode_before(const RecordFacts& a, const RecordFacts& b) {
  bool a_open = text_of(a.fields, "status") != "CLOSED";
  bool b_open = text_of(b.fields, "status") != "CLOSED";
  if (a_open != b_open) return !a_open;
  const std::string& as = text_of(a.fields, "start_date");
  const std::string& bs = text_of(b.fields, "start_date");
  if (as != bs) return as < bs;
  return a.id < b.id;
}

bool current_member(const RecordFacts& r, int64_t now_ms) {
  // A member whose record has a leaving time has left, as the server's team index reads it
  // (a leaving time is written when the office takes them off, never ahead of time).
  if (!text_of(r.fields, "left_at").empty()) return false;
  const std::string& joined = text_of(r.fields, "joined_at");
  auto j = parse_ms(joined);
  return !j || *j <= now_ms;
}

Team gather_team(const Schema& schema, const FamilyFacts& family, int64_t now_ms) {
  Team t;
  const RecordFacts* root = nullptr;
  for (const auto& r : family.records) {
    if (r.type == "EarlyHelpEpisode") {
      if (!t.episode || episode_before(*t.episode, r)) t.episode = &r;
    } else if (r.type == "TeamMember") {
      const std::string& p = text_of(r.fields, "practitioner");
      if (p.empty() || !current_member(r, now_ms)) continue;
      auto [it, fresh] = t.members.emplace(p, &r);
      if (!fresh && r.id < it->second->id) it->second = &r;
    } else if (r.type == "BreakGlassGrant") {
      const std::string& p = text_of(r.fields, "practitioner");
      auto granted = parse_ms(text_of(r.fields, "granted_at"));
      auto expires = parse_ms(text_of(r.fields, "expires_at"));
      if (p.empty() || !granted || !expires || *granted > now_ms || *expires <= now_ms) continue;
      auto [it, fresh] = t.grants.emplace(p, &r);
      if (!fresh && text_of(r.fields, "expires_at") > text_of(it->second->fields, "expires_at")) it->second = &r;
    } else if (schema.is_family_root(r.type) && r.id == family.family) {
      root = &r;
    }
  }
  if (t.episode && !text_of(t.episode->fields, "lead_professional").empty()) {
    t.lead = text_of(t.episode->fields, "lead_professional");
    t.lead_reason = "lead professional of episode " + t.episode->id + " (EarlyHelpEpisode.lead_professional, DOMAIN.md §7)";
  } else {
    for (const auto& [p, m] : t.members) {  // by practitioner id: the first is deterministic
      if (text_of(m->fields, "team_role") == "LEAD_PROFESSIONAL") {
        t.lead = p;
        t.lead_reason = "lead professional on the family's team (TeamMember " + m->id + ", DOMAIN.md §7)";
        break;
      }
    }
    if (t.lead.empty() && root && !root->created_by.empty()) {
      t.lead = root->created_by;
      t.lead_reason = "created the family and leads it until a lead professional is named (DOMAIN.md §7)";
    }
  }
  if (!t.lead.empty()) {
    auto m = t.members.find(t.lead);
    if (m != t.members.end()) t.lead_organisation = text_of(m->second->fields, "organisation");
    if (t.lead_organisation.empty()) {
      auto o = family.organisation_of.find(t.lead);
      if (o != family.organisation_of.end()) t.lead_organisation = o->second;
    }
  }
  if (t.episode) t.lead_agency = text_of(t.episode->fields, "allocated_org");
  if (t.lead_agency.empty()) t.lead_agency = t.lead_organisation;
  return t;
}

}  // namespace

LeadInfo lead_of(const Schema& schema, const FamilyFacts& family, int64_t now_ms) {
  Team t = gather_team(schema, family, now_ms);
  return LeadInfo{t.lead, t.lead_agency, t.lead_reason};
}

namespace {

struct Who {
  Standing standing = Standing::none;
  std::string reason;
  bool lead = false;
  bool manager = false;  // TEAM_MANAGER of the lead agency (also when the lead)
};

Who standing_of(const Team& t, const Viewer& v) {
  Who w;
  if (v.office) {
    w.standing = Standing::office;
    w.reason = "the office credential (DOMAIN.md §7)";
    return w;
  }
  if (v.practitioner.empty()) {
    w.reason = "no practitioner named (DOMAIN.md §7)";
    return w;
  }
  w.lead = v.practitioner == t.lead;
  w.manager = v.system_roles.count(kTeamManager) != 0 && !t.lead_agency.empty() && v.organisation == t.lead_agency;
  if (w.lead) {
    w.standing = Standing::lead;
    w.reason = t.lead_reason;
    return w;
  }
  if (w.manager) {
    w.standing = Standing::manager;
    w.reason = "team manager in the lead agency " + t.lead_agency + " (DOMAIN.md §7)";
    return w;
  }
  if (auto g = t.grants.find(v.practitioner); g != t.grants.end()) {
    w.standing = Standing::break_glass;
    w.reason = "break-glass grant " + g->second->id + " until " + text_of(g->second->fields, "expires_at") +
               " (DOMAIN.md §7)";
    return w;
  }
  if (auto m = t.members.find(v.practitioner); m != t.members.end()) {
    const std::string& scope = text_of(m->second->fields, "access_scope");
    std::string where = " (TeamMember " + m->second->id + ", DOMAIN.md §7)";
    if (scope == "FULL_EPISODE") {
      w.standing = Standing::full_member;
      w.reason = "TAF member with access_scope FULL_EPISODE" + where;
    } else if (scope == "PLAN_AND_OWN_ACTIONS") {
      w.standing = Standing::plan_member;
      w.reason = "TAF member with access_scope PLAN_AND_OWN_ACTIONS" + where;
    } else {
      w.reason = "TAF member with access_scope " + (scope.empty() ? std::string("unset") : scope) + where;
    }
    return w;
  }
  if (t.episode && contains(list_of(t.episode->fields, "taf_members"), v.practitioner)) {
    // Listed without a TeamMember record, so without a scope: the narrowest.
    w.standing = Standing::plan_member;
    w.reason = "listed in EarlyHelpEpisode.taf_members without a TeamMember record: plan and own actions only (DOMAIN.md §7)";
    return w;
  }
  w.reason = "not on the family's team and no unexpired break-glass grant (DOMAIN.md §7)";
  return w;
}

// ---- records and ownership ----------------------------------------------------------------

class Records {
 public:
  explicit Records(const FamilyFacts& f) : family_(f) {}
  const RecordFacts* find(const std::string& id) const {
    if (!indexed_) {
      for (const auto& r : family_.records) by_id_.emplace(r.id, &r);
      indexed_ = true;
    }
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }

 private:
  const FamilyFacts& family_;
  mutable bool indexed_ = false;
  mutable std::unordered_map<std::string, const RecordFacts*> by_id_;
};

// Whether `practitioner` owns a record with these values (EntityDef::owner_field, co_owner_field,
// creator_owns). A Ref to another record passes ownership on from that record.
bool owns(const Schema& schema, const Records& records, const EntityDef& def, const FieldValues& fields,
          const std::string& created_by, const std::string& practitioner, int depth = 0) {
  if (practitioner.empty() || depth > 4) return false;
  if (def.creator_owns && created_by == practitioner) return true;
  for (const std::string* name : {&def.owner_field, &def.co_owner_field}) {
    if (name->empty()) continue;
    const FieldDef* f = def.field(*name);
    if (!f) continue;
    if (f->ref == "Practitioner") {
      if (text_of(fields, *name) == practitioner || contains(list_of(fields, *name), practitioner)) return true;
      continue;
    }
    const RecordFacts* target = records.find(text_of(fields, *name));
    const EntityDef* tdef = target ? schema.entity(target->type) : nullptr;
    if (tdef && owns(schema, records, *tdef, target->fields, target->created_by, practitioner, depth + 1)) return true;
  }
  return false;
}

// The persons a record names explicitly (EntityDef::subject_fields, subject_is_self).
std::vector<std::string> named_subjects(const EntityDef& def, const std::string& id, const FieldValues& fields) {
  std::vector<std::string> out;
  if (def.subject_is_self) {
    out.push_back(id);
    return out;
  }
  for (const auto& f : def.subject_fields) refs_of(fields, f, out);
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

// ---- consent (DOMAIN.md §6.3, §6.4) -------------------------------------------------------

struct Consent {
  const RecordFacts* rec = nullptr;
  const std::string* given_by = &kEmpty;
  const std::string* basis = &kEmpty;
  const std::string* status = &kEmpty;
  const std::string* scope = &kEmpty;  // withdrawal_scope
  const std::string* data_scope = &kEmpty;
  const StringList* purposes = &kNoList;
  const StringList* recipients = &kNoList;
  const StringList* excluded = &kNoList;
  const StringList* withdrawn_purposes = &kNoList;
  const StringList* withdrawn_recipients = &kNoList;
  const StringList* excluded_categories = &kNoList;
  std::optional<int64_t> given_at, expires_at, withdrawn_at;

  bool any_withdrawal() const {
    return *status == "WITHDRAWN" || !withdrawn_purposes->empty() || !withdrawn_recipients->empty();
  }
  // When the person decided against sharing (a withdrawal's time, else when it was given).
  std::optional<int64_t> refused_at() const { return withdrawn_at ? withdrawn_at : given_at; }
};

Consent read_consent(const RecordFacts& r) {
  Consent c;
  c.rec = &r;
  const FieldValues& f = r.fields;
  c.given_by = &text_of(f, "given_by");
  c.basis = &text_of(f, "capacity_basis");
  c.status = &text_of(f, "status");
  c.scope = &text_of(f, "withdrawal_scope");
  c.data_scope = &text_of(f, "data_scope");
  c.purposes = &list_of(f, "purposes");
  c.recipients = &list_of(f, "recipients");
  c.excluded = &list_of(f, "excluded_recipients");
  c.withdrawn_purposes = &list_of(f, "withdrawn_purposes");
  c.withdrawn_recipients = &list_of(f, "withdrawn_recipients");
  c.excluded_categories = &list_of(f, "excluded_categories");
  c.given_at = parse_ms(text_of(f, "given_at"));
  c.expires_at = parse_ms(text_of(f, "expires_at"));
  c.withdrawn_at = parse_ms(text_of(f, "withdrawn_at"));
  return c;
}

bool scope_reaches(const std::string& data_scope, ConsentArea area) {
  if (data_scope == "ALL_EPISODE_RECORDS") return true;
  if (data_scope == "ASSESSMENT_AND_PLAN_ONLY") return area != ConsentArea::episode;
  return area == ConsentArea::plan;  // PLAN_ONLY, and an unset scope reaches the least
}

// The consent records of a family grouped by the person they cover, with what the rules of
// §6.4 need to know about those persons.
class ConsentIndex {
 public:
  ConsentIndex(const FamilyFacts& family, int64_t now_ms) : now_(now_ms) {
    size_t n = 0;
    for (const auto& r : family.records)
      if (r.type == "ConsentRecord") ++n;
    consents_.reserve(n);  // stable addresses for by_person_
    for (const auto& r : family.records) {
      if (r.type == "Person") {
        persons_.emplace(r.id, &r);
      } else if (r.type == "ConsentRecord") {
        consents_.push_back(read_consent(r));
      } else if (r.type == "Relationship" && text_of(r.fields, "parental_responsibility") == "YES") {
        const std::string& to = text_of(r.fields, "valid_to");
        if (!to.empty() && passed(to, now_ms)) continue;
        pr_.emplace(text_of(r.fields, "person_a"), text_of(r.fields, "person_b"));
      }
    }
    for (const auto& c : consents_)
      for (const auto& p : list_of(c.rec->fields, "covers_persons")) by_person_[p].push_back(&c);
  }

  const std::map<std::string, const RecordFacts*>& persons() const { return persons_; }
  const std::vector<const Consent*>& of(const std::string& person) const {
    static const std::vector<const Consent*> kNone;
    auto it = by_person_.find(person);
    return it == by_person_.end() ? kNone : it->second;
  }

  // Whether `c` was given by someone entitled to decide for `person` (§6.4 rules 1-6).
  bool entitled(const Consent& c, const std::string& person) const {
    const std::string& basis = *c.basis;
    const RecordFacts* p = nullptr;
    if (auto it = persons_.find(person); it != persons_.end()) p = it->second;
    bool unborn = p && text_of(p->fields, "person_status") == "UNBORN";
    const int64_t age = p ? age_years(text_of(p->fields, "date_of_birth"), now_) : -1;  // -1: unknown
    const bool known = age >= 0;
    if (*c.given_by == person) {
      if (unborn) return false;
      // rule 3: a child whose competence was assessed and recorded (§6.3 competence_assessment)
      if (basis == "COMPETENT_CHILD_SELF") return !text_of(c.rec->fields, "competence_assessed_by").empty();
      if (basis == "SELF_ADULT" || basis == "YOUNG_PERSON_16_17_SELF") return !known || age >= 16;  // rules 1, 4
      return false;
    }
    // rules 2, 6; rule 4: from 16 a young person decides for themselves
    if (basis == "PR_HOLDER_FOR_CHILD") return (!known || age < 16) && pr_.count({*c.given_by, person}) != 0;
    if (basis == "PREGNANT_PERSON_FOR_UNBORN") return unborn;                                           // rule 5
    return basis == "COURT_APPOINTED_OR_ATTORNEY";
  }

 private:
  int64_t now_;
  std::vector<Consent> consents_;
  std::map<std::string, const RecordFacts*> persons_;
  std::set<std::pair<std::string, std::string>> pr_;  // (holder, child)
  std::unordered_map<std::string, std::vector<const Consent*>> by_person_;
};

// One person's consent position towards one recipient (the viewer and their organisation).
struct Cover {
  std::string refused;                 // why their information may not reach the recipient
  std::vector<const Consent*> grants;  // the consents that let it (when not refused)
};

class ConsentRule {
 public:
  ConsentRule(const ConsentIndex& index, const Viewer& viewer, int64_t now_ms)
      : index_(index), viewer_(viewer), now_(now_ms) {}

  // "" when every subject's consent lets a record of `area` touching `categories` reach the
  // viewer; otherwise why not. `subjects` empty: the whole family.
  std::string check(const std::vector<std::string>& subjects, ConsentArea area, const StringList& categories) {
    if (!subjects.empty()) {
      for (const auto& s : subjects) {
        std::string why = person_check(s, area, categories);
        if (!why.empty()) return why;
      }
      return "";
    }
    std::string key = std::to_string(static_cast<int>(area));
    for (const auto& c : categories) key += "|" + c;
    auto memo = whole_family_.find(key);
    if (memo != whole_family_.end()) return memo->second;
    std::string why;
    if (index_.persons().empty()) {
      why = "a whole-family record, and no person of the family is recorded whose consent could cover it (DOMAIN.md §6.3)";
    }
    for (const auto& [p, rec] : index_.persons()) {
      (void)rec;
      std::string w = person_check(p, area, categories);
      if (!w.empty()) {
        why = "a whole-family record (about every person of the family): " + w;
        break;
      }
    }
    whole_family_.emplace(key, why);
    return why;
  }

 private:
  std::string person_check(const std::string& person, ConsentArea area, const StringList& categories) {
    const Cover& cover = cover_of(person);
    if (!cover.refused.empty()) return cover.refused;
    if (cover.grants.empty())
      return "no active, unexpired SHARE_WITH_TAF consent for " + person + " names " + viewer_.organisation +
             " as a recipient (DOMAIN.md §6.3, §6.4)";
    const Consent* in_scope = nullptr;
    for (const Consent* g : cover.grants) {
      if (!scope_reaches(*g->data_scope, area)) continue;
      in_scope = g;
      bool excluded = false;
      for (const auto& c : categories)
        if (contains(*g->excluded_categories, c)) excluded = true;
      if (!excluded) return "";
    }
    if (in_scope) {
      std::string cats;
      for (const auto& c : categories)
        if (contains(*in_scope->excluded_categories, c)) cats += (cats.empty() ? "" : ", ") + c;
      return "the record's category " + cats + " is excluded from sharing by the consent for " + person +
             " (ConsentRecord " + in_scope->rec->id + " excluded_categories, DOMAIN.md §6.3)";
    }
    const Consent* g = cover.grants.front();
    return "the consent for " + person + " (ConsentRecord " + g->rec->id + ") has data_scope " +
           (g->data_scope->empty() ? std::string("unset") : *g->data_scope) + ", which does not reach " +
           to_string(area) + " records (DOMAIN.md §6.3)";
  }

  // The refusal that stops sharing `c`'s person's information with the viewer, or "".
  std::string refusal(const Consent& c) const {
    const std::string& org = viewer_.organisation;
    const std::string& who = viewer_.practitioner;
    std::string what;
    if (*c.status == "REFUSED" && (c.recipients->empty() || contains(*c.recipients, org)))
      what = "refused";
    else if (*c.status == "WITHDRAWN")  // restrictive wins: a partial withdrawal keeps the status ACTIVE
      what = "withdrew in full";
    else if (contains(*c.withdrawn_purposes, kShareWithTaf))
      what = "withdrew SHARE_WITH_TAF";
    else if (contains(*c.withdrawn_recipients, org))
      what = "withdrew sharing with " + org;
    else if (contains(*c.excluded, org) || contains(*c.excluded, who))
      what = "excluded " + (contains(*c.excluded, org) ? org : who) + " as a recipient";
    if (what.empty()) return "";
    return *c.given_by + " " + what + " (ConsentRecord " + c.rec->id + ", DOMAIN.md §6.3, §6.6)";
  }

  bool grants(const Consent& c) const {
    const std::string& org = viewer_.organisation;
    if (*c.status != "ACTIVE") return false;
    if (c.expires_at && *c.expires_at <= now_) return false;  // §6.7
    if (!contains(*c.recipients, org) || contains(*c.withdrawn_recipients, org)) return false;
    if (contains(*c.excluded, org) || contains(*c.excluded, viewer_.practitioner)) return false;
    return !contains(*c.withdrawn_purposes, kShareWithTaf);
  }

  const Cover& cover_of(const std::string& person) {
    auto memo = covers_.find(person);
    if (memo != covers_.end()) return memo->second;
    Cover cover;
    std::vector<const Consent*> decisions;
    bool self = false;
    for (const Consent* c : index_.of(person)) {
      // A consent about sharing, or a withdrawal of sharing (restrictive wins, §6.6).
      if (!contains(*c->purposes, kShareWithTaf) && !contains(*c->withdrawn_purposes, kShareWithTaf)) continue;
      const std::string& st = *c->status;
      if (st == "REQUESTED" || st == "SUPERSEDED" || st == "EXPIRED") continue;
      if (!index_.entitled(*c, person)) continue;
      decisions.push_back(c);
      if (*c->given_by == person) self = true;
    }
    // A person who decides for themselves (an adult, a young person, a competent child) is
    // the only one whose decision counts for their own information (§6.4 rules 1, 3, 4).
    if (self)
      decisions.erase(std::remove_if(decisions.begin(), decisions.end(),
                                     [&](const Consent* c) { return *c->given_by != person; }),
                      decisions.end());
    for (const Consent* c : decisions)
      if (grants(*c)) cover.grants.push_back(c);
    // Restrictive wins (C-12, C-13): any refusal by someone entitled stops the sharing, unless
    // the same person later gave a new consent that covers this recipient.
    for (const Consent* c : decisions) {
      std::string why = refusal(*c);
      if (why.empty()) continue;
      auto at = c->refused_at();
      bool regranted = at && std::any_of(cover.grants.begin(), cover.grants.end(), [&](const Consent* g) {
                         return g != c && *g->given_by == *c->given_by && g->given_at && *g->given_at > *at;
                       });
      if (regranted) continue;
      if (self) why += "; " + person + " decides for their own information (DOMAIN.md §6.4 rules 1, 3, 4)";
      cover.refused = why;
      cover.grants.clear();
      break;
    }
    return covers_.emplace(person, std::move(cover)).first->second;
  }

  const ConsentIndex& index_;
  const Viewer& viewer_;
  int64_t now_;
  std::unordered_map<std::string, Cover> covers_;
  std::unordered_map<std::string, std::string> whole_family_;
};

// ---- the view -----------------------------------------------------------------------------

// Need-to-know during a step-up (access.hpp kEscalatedReason).
struct Escalation {
  bool on = false;
  std::string episode;
  std::string lead;
  std::string since;  // the earliest day ("YYYY-MM-DD") an open step-up of the episode was submitted; "" unknown

  std::string withholds(const RecordFacts& r) const {
    bool hide = false;
    if (r.type == "StepUpRequest") {
      hide = true;
    } else if (r.type == "InformationSharingDecision") {
      hide = text_of(r.fields, "purpose") == "STEP_UP";
    } else if (r.type == "Contact") {
      const std::string& occurred = text_of(r.fields, "occurred_at");
      hide = !text_of(r.fields, "escalation").empty() ||
             (!since.empty() && (occurred.empty() || occurred.substr(0, 10) >= since));
    }
    if (!hide) return "";
    return std::string(kEscalatedReason) + " " + (lead.empty() ? std::string("professional") : lead) + ": episode " +
           episode + " is with children's social care; step-up details reach the lead professional and managers only "
           "(need-to-know, DOMAIN.md §13 S3, §7)";
  }
};

Escalation escalation_of(const FamilyFacts& family, const Team& team, const Who& who) {
  Escalation e;
  if (!team.episode || (who.standing != Standing::full_member && who.standing != Standing::plan_member)) return e;
  const std::string& status = text_of(team.episode->fields, "status");
  if (status != "STEP_UP_PENDING" && status != "PAUSED_CSC_LEAD") return e;
  e.on = true;
  e.episode = team.episode->id;
  e.lead = team.lead;
  for (const auto& r : family.records) {
    if (r.type != "StepUpRequest" || text_of(r.fields, "episode") != e.episode) continue;
    const std::string& st = text_of(r.fields, "status");
    const std::string& decision = text_of(r.fields, "csc_decision");
    if (st == "DRAFT" || st == "WITHDRAWN" || decision == "NFA_RETURN_TO_EH" || decision == "ADVICE_RETURN_TO_EH") continue;
    std::string day = text_of(r.fields, "submitted_at").substr(0, 10);
    if (!day.empty() && (e.since.empty() || day < e.since)) e.since = day;
  }
  return e;
}

const char* kPlanScopeReason = "access_scope PLAN_AND_OWN_ACTIONS receives the plan, its meetings and the family's "
                               "identity only (DOMAIN.md §5, §7)";
const char* kPlanSensitiveReason = "T2 and T3 fields do not reach access_scope PLAN_AND_OWN_ACTIONS (DOMAIN.md §5)";

std::string audience_reason(const FieldDef& f) {
  std::string why = "for the lead professional and managers only";
  if (!f.audience_when.empty()) why += " while " + f.audience_when + " is true";
  return why + " (DOMAIN.md §5 minimisation)";
}

}  // namespace

FamilyView view_of(const Schema& schema, const FamilyFacts& family, const Viewer& viewer, int64_t now_ms) {
  FamilyView view;
  Team team = gather_team(schema, family, now_ms);
  Who who = standing_of(team, viewer);
  view.standing = who.standing;
  view.reason = who.reason;
  if (who.standing == Standing::none || who.standing == Standing::lead || who.standing == Standing::manager ||
      who.standing == Standing::office)
    return view;  // nothing, or everything

  const bool plan_only = who.standing == Standing::plan_member;
  // The lead agency's own record is never restricted by consent (§6.2); break-glass is not
  // consent-based (§7).
  // The lead professional's organisation holds the record for the lead agency as well (a health
  // visitor leading for the council's Early Help service).
  const bool own_record = viewer.organisation == team.lead_agency ||
                          (!team.lead_organisation.empty() && viewer.organisation == team.lead_organisation);
  const bool consent_applies = (who.standing == Standing::full_member || plan_only) &&
                               !team.lead_agency.empty() && !own_record;
  Records records(family);
  ConsentIndex consents(family, now_ms);
  ConsentRule consent(consents, viewer, now_ms);
  const Escalation escalation = escalation_of(family, team, who);
  std::unordered_map<std::string, bool> restricted;  // record id -> some reason applied to it

  auto evaluate = [&](const RecordFacts& r, const EntityDef* def) {
    if (!def) {
      view.withheld_records[r.id] = "record type " + r.type + " is not in the schema";
      restricted[r.id] = true;
      return;
    }
    if (!def->family_scoped) return;
    // Recording is not sharing: one's own work, and what one is assigned, come back whole.
    if ((!viewer.practitioner.empty() && r.created_by == viewer.practitioner) ||
        owns(schema, records, *def, r.fields, r.created_by, viewer.practitioner))
      return;
    std::string why;
    const RecordFacts* whole = def->part_of_field.empty() ? nullptr : records.find(text_of(r.fields, def->part_of_field));
    if (whole) {
      auto it = restricted.find(whole->id);
      if (it != restricted.end() && it->second) {
        auto w = view.withheld_records.find(whole->id);
        why = "part of " + whole->id + ", which is " +
              (w != view.withheld_records.end() ? "withheld: " + w->second : std::string("restricted"));
      }
    } else {
      if (escalation.on) why = escalation.withholds(r);
      if (why.empty() && plan_only && def->consent_area != ConsentArea::plan) why = kPlanScopeReason;
      if (why.empty() && consent_applies) {
        why = consent.check(named_subjects(*def, r.id, r.fields), def->consent_area,
                            list_of(r.fields, def->category_field));
        if (!why.empty()) why = "consent: " + why;
      }
    }
    // A safety record stays, with its safety facts; what would have withheld it withholds its
    // other fields (§3.20).
    std::string safety_why;
    if (def->safety_record) std::swap(safety_why, why);
    restricted[r.id] = !why.empty() || !safety_why.empty();
    if (!why.empty() && !def->policy_record) {
      view.withheld_records[r.id] = why;
      return;
    }
    for (const auto& f : def->fields) {
      std::string field_why;
      if (!safety_why.empty() && !f.safety_fact)
        field_why = safety_why;
      else if (!why.empty() && f.sens >= Sensitivity::T2)
        field_why = why;  // a policy record: its T0/T1 facts reach the team, the rest follows the rules
      else if (f.audience == Audience::lead_and_managers && (f.audience_when.empty() || bool_of(r.fields, f.audience_when)))
        field_why = audience_reason(f);
      else if (plan_only && f.sens >= Sensitivity::T2 && !f.safety_fact)
        field_why = kPlanSensitiveReason;
      if (!field_why.empty()) {
        view.withheld_fields[r.id][f.name] = std::move(field_why);
        restricted[r.id] = true;
      }
    }
  };

  // Records that are part of another (an amendment) are decided after the one they belong to.
  std::vector<std::pair<const RecordFacts*, const EntityDef*>> parts;
  for (const auto& r : family.records) {
    const EntityDef* def = schema.entity(r.type);
    if (def && !def->part_of_field.empty())
      parts.emplace_back(&r, def);
    else
      evaluate(r, def);
  }
  for (const auto& [r, def] : parts) evaluate(*r, def);
  return view;
}

// ---- writes (DOMAIN.md §7) ----------------------------------------------------------------

namespace {

WriteVerdict verdict(WriteVerdict::Outcome outcome, std::string reason, std::string route_to = "") {
  WriteVerdict v;
  v.outcome = outcome;
  v.reason = std::move(reason);
  v.route_to = std::move(route_to);
  return v;
}

WriteVerdict hold(std::string reason, std::string route_to) {
  return verdict(WriteVerdict::Outcome::hold, std::move(reason), std::move(route_to));
}

const char* kind_name(WriteIntent::Kind k) {
  switch (k) {
    case WriteIntent::Kind::create: return "create";
    case WriteIntent::Kind::set: return "set";
    case WriteIntent::Kind::add: return "add";
    case WriteIntent::Kind::remove: return "remove";
    case WriteIntent::Kind::transition: return "transition";
    case WriteIntent::Kind::remove_record: return "remove_record";
    case WriteIntent::Kind::acknowledge: return "acknowledge";
  }
  return "?";
}

std::string name_of(const WriteIntent& w) {
  return w.entity_type + " " + w.entity_id + (w.field.empty() ? "" : "." + w.field);
}

// A brand-new BreakGlassGrant: the practitioner's own, for at most 4 hours (§7).
WriteVerdict judge_break_glass(const Viewer& viewer, const WriteIntent& w, const std::string& route) {
  const std::string& who = text_of(w.fields, "practitioner");
  auto granted = parse_ms(text_of(w.fields, "granted_at"));
  auto expires = parse_ms(text_of(w.fields, "expires_at"));
  if (who != viewer.practitioner)
    return hold("a break-glass grant is asked for by the practitioner it names (DOMAIN.md §7)", route);
  if (!granted || !expires || *expires <= *granted)
    return hold("a break-glass grant needs granted_at before expires_at (DOMAIN.md §7)", route);
  if (*expires - *granted > kBreakGlassMaxMs)
    return hold("a break-glass grant lasts at most 4 hours (DOMAIN.md §7); this one asks for longer", route);
  return verdict(WriteVerdict::Outcome::allow,
                 "break-glass: emergency access for an urgent safeguarding reason, 4 hours at most, audited (DOMAIN.md §7)");
}

// Persons named by the record after this write, with a consent withdrawal recorded before the
// record's own time: the record was made after the withdrawal (§6.6).
std::string withdrawal_flag(const FamilyFacts& family, const EntityDef& def, const WriteIntent& w,
                            const RecordFacts* record) {
  std::vector<std::string> subjects;
  std::optional<int64_t> occurred;
  if (w.kind == WriteIntent::Kind::create) {
    subjects = named_subjects(def, w.entity_id, w.fields);
    occurred = parse_ms(text_of(w.fields, def.occurred_field));
  } else if (w.kind == WriteIntent::Kind::remove || w.kind == WriteIntent::Kind::remove_record ||
             w.kind == WriteIntent::Kind::acknowledge) {
    return "";
  } else {
    if (record) subjects = named_subjects(def, record->id, record->fields);
    if (contains(def.subject_fields, w.field)) {
      if (w.value.is_string()) subjects.push_back(w.value.as_string());
      if (w.value.is_list())
        for (const auto& v : w.value.as_list()) subjects.push_back(v);
    }
  }
  // The policy's own facts, and consent records themselves (recording a withdrawal or a new
  // consent is not work about the person that the withdrawal concerns).
  if (subjects.empty() || def.policy_record || def.name == "ConsentRecord") return "";
  for (const auto& r : family.records) {
    if (r.type != "ConsentRecord") continue;
    Consent c = read_consent(r);
    if (!c.any_withdrawal()) continue;
    for (const auto& s : subjects) {
      if (!contains(list_of(r.fields, "covers_persons"), s)) continue;
      if (occurred && c.withdrawn_at && *occurred < *c.withdrawn_at) continue;  // made before it
      return "recorded about " + s + ", whose consent to share was withdrawn (ConsentRecord " + r.id +
             "): accepted into the lead agency's record and flagged recorded_after_consent_withdrawal for the lead "
             "professional's review (DOMAIN.md §6.6)";
    }
  }
  return "";
}

// S2b (DOMAIN.md §6.6, §13): an episode moves to CLOSING (or CLOSED) with closure_reason
// FAMILY_WITHDREW_CONSENT only after the lead professional has recorded the risk consideration
// of the withdrawal, i.e. while no WITHDRAWAL_RISK_CONSIDERATION Task of the family is OPEN.
// The reason naming the open task, or "" when the write may go ahead.
std::string withdrawal_closure_gate(const FamilyFacts& family, const EntityDef& def, const WriteIntent& w,
                                    const RecordFacts* record) {
  if (def.name != "EarlyHelpEpisode" || !def.lifecycle) return "";
  const FieldValues& now = record ? record->fields : w.fields;
  std::string status = text_of(now, def.lifecycle->field);
  std::string reason = text_of(now, "closure_reason");
  const std::string value = w.value.is_string() ? w.value.as_string() : std::string();
  if (w.kind == WriteIntent::Kind::transition)
    status = value;
  else if (w.kind == WriteIntent::Kind::set && w.field == "closure_reason")
    reason = value;
  else if (w.kind != WriteIntent::Kind::create)
    return "";
  if (reason != "FAMILY_WITHDREW_CONSENT" || (status != "CLOSING" && status != "CLOSED")) return "";
  for (const auto& r : family.records) {
    if (r.type != "Task" || text_of(r.fields, "task_type") != "WITHDRAWAL_RISK_CONSIDERATION" ||
        text_of(r.fields, "status") != "OPEN")
      continue;
    return "the episode closes for FAMILY_WITHDREW_CONSENT only after the lead professional records the risk "
           "consideration of the withdrawal: Task " + r.id + " is still open (DOMAIN.md §6.6, §13 S2b)";
  }
  return "";
}

// The LOCKED_STEPPED_UP FamilyPlan a write touches (the plan itself, a PlanOutcome of it, a
// PlanAction of one of those), or nullptr.
const RecordFacts* locked_plan(const Records& records, const WriteIntent& w, const RecordFacts* record) {
  const FieldValues& fields = record ? record->fields : w.fields;
  const RecordFacts* plan = nullptr;
  if (w.entity_type == "FamilyPlan") {
    plan = record;
  } else if (w.entity_type == "PlanOutcome") {
    plan = records.find(text_of(fields, "plan"));
  } else if (w.entity_type == "PlanAction") {
    const RecordFacts* outcome = records.find(text_of(fields, "outcome"));
    if (outcome && outcome->type == "PlanOutcome") plan = records.find(text_of(outcome->fields, "plan"));
  }
  if (!plan || plan->type != "FamilyPlan" || text_of(plan->fields, "status") != "LOCKED_STEPPED_UP") return nullptr;
  return plan;
}

}  // namespace

WriteVerdict judge_write(const Schema& schema, const FamilyFacts& family, const Viewer& viewer,
                         const WriteIntent& write, int64_t now_ms) {
  using Kind = WriteIntent::Kind;
  if (viewer.office)
    return verdict(WriteVerdict::Outcome::allow, "the office credential writes every record (DOMAIN.md §7)");
  const EntityDef* def = schema.entity(write.entity_type);
  if (!def) return hold("record type " + write.entity_type + " is not in the schema", kTeamManager);
  if (!def->family_scoped)
    return hold(write.entity_type + " is a directory record, managed by the office (DOMAIN.md §3.1, §3.2)", kTeamManager);

  Team team = gather_team(schema, family, now_ms);
  Who who = standing_of(team, viewer);
  const std::string& me = viewer.practitioner;
  // Who decides what is held: the lead professional, or a manager when the lead wrote it.
  const std::string route = team.lead.empty() || team.lead == me ? kTeamManager : team.lead;

  if (write.kind == Kind::create && write.entity_type == "BreakGlassGrant")
    return judge_break_glass(viewer, write, kTeamManager);
  if (who.standing == Standing::none) {
    if (family.records.empty() && write.kind == Kind::create)
      return verdict(WriteVerdict::Outcome::allow,
                     "creates a brand-new family: its author leads it until a lead professional is named (DOMAIN.md §7)");
    return hold(who.reason + ": " + name_of(write) + " is kept for the team to decide", route);
  }

  Records records(family);
  const RecordFacts* record = write.kind == Kind::create ? nullptr : records.find(write.entity_id);
  const bool lead_or_manager = who.lead || who.manager;

  // The plan lock of a step-up (C-19): held whoever writes, with the value kept.
  if (write.kind != Kind::acknowledge)
    if (const RecordFacts* plan = locked_plan(records, write, record))
      return hold(std::string(kPlanLockedReason) + ": FamilyPlan " + plan->id +
                      " is locked while its episode is stepped up to children's social care; " + name_of(write) + " (" +
                      kind_name(write.kind) +
                      ") is kept with its value for the lead professional to re-apply or dismiss once the office "
                      "decides; contacts are still accepted (DOMAIN.md §4.4, §8.3 C-19)",
                  route);

  // Alert removal needs a manager's confirmation (C-15), whoever asks.
  if (write.kind == Kind::remove_record && def->removal_needs_manager && !who.manager)
    return hold("removing " + name_of(write) + " needs a manager's confirmation (DOMAIN.md §8.3 C-15, §7)", kTeamManager);

  // The fields this write gives a value to.
  std::vector<std::pair<const std::string*, const Value*>> written;
  if (write.kind == Kind::create) {
    for (const auto& [name, value] : write.fields) written.emplace_back(&name, &value);
  } else if (write.kind == Kind::set || write.kind == Kind::add || write.kind == Kind::remove) {
    written.emplace_back(&write.field, &write.value);
  }
  const FieldValues& current = record ? record->fields : write.fields;
  const bool is_status = def->lifecycle && write.kind == Kind::transition;
  for (const auto& [name, value] : written) {
    const FieldDef* f = def->field(*name);
    if (!f) return hold(write.entity_type + " has no field " + *name, route);
    bool status_field = def->lifecycle && def->lifecycle->field == *name;
    if (f->merge == MergeClass::ServerAuthority && !status_field)
      return hold(write.entity_type + "." + *name + " comes only from the office system (server authority, DOMAIN.md "
                  "§7, §8.2)",
                  route);
    if (!f->not_self_of.empty()) {
      const std::string& subject = text_of(write.kind == Kind::create ? write.fields : current, f->not_self_of);
      bool self_value = value->is_string() && value->as_string() == subject;
      if (!subject.empty() && (me == subject || self_value)) {
        std::string to = team.lead.empty() || team.lead == me || team.lead == subject ? kTeamManager : team.lead;
        return hold("nobody authorises their own work: " + write.entity_type + "." + *name + " may not be " + subject +
                        ", its " + f->not_self_of + " (DOMAIN.md §7)",
                    to);
      }
    }
    if (f->countersign) {  // §6.5: a manager or DSL countersigns, once
      if (record && !text_of(record->fields, *name).empty())
        return hold(write.entity_type + " " + write.entity_id + " is already countersigned (" + *name + " is " +
                        text_of(record->fields, *name) + "); a countersignature is given once (DOMAIN.md §6.5)",
                    kTeamManager);
      if (!def->owner_field.empty() && text_of(current, def->owner_field) == me)
        return hold("nobody countersigns their own " + write.entity_type + " (" + def->owner_field + " " + me +
                        ", DOMAIN.md §6.5)",
                    kTeamManager);
      if (!who.manager && viewer.system_roles.count(kDsl) == 0)
        return hold("only a team manager of the lead agency or a DSL countersigns " + write.entity_type + " " +
                        write.entity_id + " (DOMAIN.md §6.5)",
                    kTeamManager);
    }
    if (f->lead_or_manager_writes && !lead_or_manager)
      return hold("only the lead professional or a manager writes " + write.entity_type + "." + *name +
                      " (DOMAIN.md §7)",
                  route);
  }
  if (is_status) {
    const Lifecycle& lc = *def->lifecycle;
    const std::string& from = record ? text_of(record->fields, lc.field) : lc.initial;
    const std::string to = write.value.is_string() ? write.value.as_string() : std::string();
    bool reserved = contains(lc.reserved_targets, to) || contains(lc.reserved_sources, from);
    for (const auto& f : def->fields) {
      if (f.not_self_of.empty() || !contains(f.required_before, to)) continue;
      const std::string& subject = text_of(current, f.not_self_of);
      if (!subject.empty() && (me == subject || text_of(current, f.name) == subject)) {
        std::string dest = team.lead.empty() || team.lead == me || team.lead == subject ? kTeamManager : team.lead;
        return hold("nobody authorises their own work: " + write.entity_type + " " + write.entity_id + " to " + to +
                        " needs " + f.name + " other than its " + f.not_self_of + " " + subject + " (DOMAIN.md §7)",
                    dest);
      }
    }
    if (reserved && !lead_or_manager)
      return hold("only the lead professional or a manager moves " + write.entity_type + " " + write.entity_id +
                      " from " + from + " to " + to + " (DOMAIN.md §7)",
                  route);
  }

  if (std::string gate = withdrawal_closure_gate(family, *def, write, record); !gate.empty())
    return hold(gate, team.lead.empty() ? kTeamManager : team.lead);

  std::string allowed_reason;
  if (lead_or_manager) {
    allowed_reason = who.reason;
  } else {
    // TAF members (and a break-glass holder) write their own records (§7), and the fields any
    // member may write.
    bool own;
    if (write.kind == Kind::create)
      own = owns(schema, records, *def, write.fields, me, me);
    else
      own = !record  // not (yet) known here: the writer's own work in flight
            || record->created_by == me || owns(schema, records, *def, record->fields, record->created_by, me);
    bool member_fields = write.kind != Kind::create && !written.empty();
    for (const auto& [name, value] : written) {
      (void)value;
      const FieldDef* f = def->field(*name);
      member_fields = member_fields && f && (f->member_writes || f->countersign);  // countersign: judged above
    }
    if (who.standing == Standing::plan_member && def->consent_area != ConsentArea::plan && !member_fields)
      return hold("access_scope PLAN_AND_OWN_ACTIONS writes its own plan actions only (DOMAIN.md §7): " +
                      name_of(write) + " (" + kind_name(write.kind) + ") is kept for the lead professional",
                  route);
    if (!own && !member_fields)
      return hold("TAF members write only their own records (DOMAIN.md §7): " + name_of(write) + " (" +
                      kind_name(write.kind) + ") is not theirs and is kept for the lead professional",
                  route);
    allowed_reason = who.reason + (own ? ": their own record" : ": a field any team member may write");
  }

  std::string flag = withdrawal_flag(family, *def, write, record);
  if (!flag.empty()) return verdict(WriteVerdict::Outcome::allow_flagged, flag, team.lead.empty() ? kTeamManager : team.lead);
  return verdict(WriteVerdict::Outcome::allow, allowed_reason);
}

}  // namespace hearth::access
