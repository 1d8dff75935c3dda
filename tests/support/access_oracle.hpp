#pragma once
// An independent oracle for who may receive which of a family's records and fields, written
// from DOMAIN.md (§5 sensitivity, §6.3-§6.6 consent, §7 access) in plain code, and a generator
// of small random families to test the production policy against it. It never calls
// access::view_of: a test compares what reaches each practitioner's tablet with what this file
// expects, so a bug in the policy shows as a difference.
//
// The oracle answers, for one practitioner, every record and every field of the family with
// one of three expectations: `visible` (must reach the device with its value), `withheld`
// (must not reach it: not on the replica, and its value in no pull body) or `either` (DOMAIN.md
// and the contract core/include/hearth/core/access.hpp leave it open; see each use of
// Expect::either below for the reason). The rules, one per function:
//  - standing(): lead professional (EarlyHelpEpisode.lead_professional), manager (TEAM_MANAGER
//    in the lead agency), TAF member by TeamMember.access_scope, or none (§7; §5 "Device data
//    minimisation": a tablet caches only families where the practitioner is lead or a member
//    with access_scope != NONE);
//  - entitled(): who may consent for whom (§6.4 rules 1-6);
//  - grants() / names_refusal(): what one ConsentRecord allows (§6.3; withdrawal §6.6);
//  - covered(): a person's information reaches an organisation other than the lead agency only
//    under an entitled, active, unexpired SHARE_WITH_TAF consent naming it, not withdrawn or
//    excluded for it, and not refused for it by a competent child for her own information
//    (§6.3, §6.4 rule 3, §6.6); the lead agency's own record is never restricted (§6.2);
//  - expect_record(): a record about persons needs every subject covered; a record without
//    subjects is whole-family; alerts' type and severity reach everyone with standing (§3.20),
//    their notes only the lead and managers; a confidential address reaches only the lead and
//    managers (§3.6); T2 and T3 never reach PLAN_AND_OWN_ACTIONS members (§5).
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "hearth/core/validation.hpp"
#include "hearth/core/value.hpp"

namespace hearth::test::oracle {

// ---- dates (the oracle reads ages and expiry from the records, as the policy must) ----

inline int64_t days_from_civil(int64_t y, int64_t m, int64_t d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

struct Civil {
  int64_t y = 1970, m = 1, d = 1;
};
inline Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  Civil c;
  c.d = doy - (153 * mp + 2) / 5 + 1;
  c.m = mp < 10 ? mp + 3 : mp - 9;
  c.y = yoe + era * 400 + (c.m <= 2);
  return c;
}

constexpr int64_t kDayMs = 86400000;

inline std::string date_of(int64_t ms) {
  Civil c = civil_from_days(ms / kDayMs);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", static_cast<int>(c.y), static_cast<int>(c.m), static_cast<int>(c.d));
  return buf;
}
inline std::string datetime_of(int64_t ms) {
  int64_t secs = (ms % kDayMs) / 1000;
  char buf[80];
  std::snprintf(buf, sizeof buf, "%sT%02d:%02d:%02dZ", date_of(ms).c_str(), static_cast<int>(secs / 3600),
                static_cast<int>(secs / 60 % 60), static_cast<int>(secs % 60));
  return buf;
}
// "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SS[.sss]Z" to ms since the epoch; nullopt otherwise.
inline std::optional<int64_t> ms_of(const std::string& s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, se = 0;
  if (s.size() >= 20 && std::sscanf(s.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d", &y, &mo, &d, &h, &mi, &se) == 6)
    return days_from_civil(y, mo, d) * kDayMs + (h * 3600 + mi * 60 + se) * int64_t{1000};
  if (s.size() == 10 && std::sscanf(s.c_str(), "%4d-%2d-%2d", &y, &mo, &d) == 3) return days_from_civil(y, mo, d) * kDayMs;
  return std::nullopt;
}
// Full years between a date of birth and `now_ms`.
inline std::optional<int> age_at(const std::string& dob, int64_t now_ms) {
  auto born = ms_of(dob);
  if (!born) return std::nullopt;
  Civil b = civil_from_days(*born / kDayMs), n = civil_from_days(now_ms / kDayMs);
  int64_t age = n.y - b.y - ((n.m < b.m || (n.m == b.m && n.d < b.d)) ? 1 : 0);
  return static_cast<int>(age);
}

// ---- the family as the oracle sees it ----

struct Record {
  std::string type;
  std::string id;
  FieldValues fields;

  const Value* get(const std::string& f) const {
    auto it = fields.find(f);
    return it == fields.end() || it->second.is_null() ? nullptr : &it->second;
  }
  std::string str(const std::string& f) const {
    const Value* v = get(f);
    return v && v->is_string() ? v->as_string() : std::string();
  }
  std::set<std::string> set(const std::string& f) const {
    const Value* v = get(f);
    if (!v || !v->is_list()) return {};
    return {v->as_list().begin(), v->as_list().end()};
  }
};

struct Practitioner {
  std::string id;
  std::string organisation;
  std::string role;  // one system role (DOMAIN.md §3.2)
};

struct Family {
  std::string id;
  std::vector<Record> records;

  Record* find(const std::string& rid) {
    for (auto& r : records)
      if (r.id == rid) return &r;
    return nullptr;
  }
  const Record* find(const std::string& rid) const { return const_cast<Family*>(this)->find(rid); }
};

// Where DOMAIN.md and the contract (access.hpp) differ, the oracle says `either` unless told to
// follow DOMAIN.md strictly.
struct Rules {
  // §8.3 C-13: two PR holders disagreeing leave "the most restrictive for the child's data";
  // the contract lets any one entitled grant cover the child unless the child herself refused.
  bool pr_holder_veto = false;
  // §7: a PLAN_AND_OWN_ACTIONS member sees "plan, meeting dates, own actions" only; the
  // contract withholds only their T2 and T3 fields.
  bool plan_scope_strict = false;
};

enum class Expect { visible, withheld, either };
inline const char* to_string(Expect e) {
  return e == Expect::visible ? "visible" : e == Expect::withheld ? "withheld" : "either";
}

struct View {
  std::string standing;  // lead, manager, full_member, plan_member, none
  bool family_absent = false;        // nothing of the family may reach the device
  bool family_may_be_absent = false; // the device may hold the family or not (see expected_view)
  std::map<std::string, Expect> records;
  std::map<std::string, std::map<std::string, Expect>> fields;  // every field that has a value

  Expect record(const std::string& id) const {
    auto it = records.find(id);
    return it == records.end() ? Expect::either : it->second;
  }
  Expect field(const std::string& id, const std::string& f) const {
    auto it = fields.find(id);
    if (it == fields.end()) return Expect::either;
    auto jt = it->second.find(f);
    return jt == it->second.end() ? Expect::either : jt->second;
  }
};

// Sensitivity of the fields the generator writes, from DOMAIN.md §3 and §5 (not from the schema
// table, so a wrong class in schema_v1.cpp shows too). '?' where DOMAIN.md gives none (the
// ConsentRecord table of §6.3 has no class column; TeamMember is not in DOMAIN.md).
inline char sensitivity_of(const std::string& type, const std::string& field) {
  static const std::map<std::string, std::map<std::string, char>> table = {
      {"Family", {{"display_name", '1'}, {"phone", '1'}, {"email", '1'}, {"preferred_contact", '1'}}},
      {"Person",
       {{"given_names", '1'}, {"family_name", '1'}, {"person_status", '1'}, {"date_of_birth", '1'}, {"sex", '1'},
        {"religion", '3'}, {"communication_needs", '3'}, {"ethnicity", '3'}, {"phone", '1'}}},
      {"Relationship",
       {{"person_a", '1'}, {"person_b", '1'}, {"type", '1'}, {"parental_responsibility", '1'}, {"pr_basis", '1'},
        {"contact_restriction", '2'}}},
      {"EarlyHelpEpisode",
       {{"subject_children", '1'}, {"start_date", '1'}, {"start_reason", '3'}, {"level_of_need", '2'},
        {"service_model", '0'}, {"allocated_org", '0'}, {"lead_professional", '1'}, {"status", '0'}}},
      {"ConsentRecord", {{"competence_rationale", '3'}, {"withdrawal_reason", '3'}}},  // free text: T3 (§5)
      {"Address", {{"lines", '1'}, {"postcode", '1'}, {"uprn", '1'}, {"type", '1'}, {"confidential", '2'}}},
      {"Alert",
       {{"subject", '2'}, {"type", '2'}, {"severity", '2'}, {"set_by", '2'}, {"set_at", '2'}, {"review_date", '2'},
        {"note", '3'}}},
      {"Contact",
       {{"practitioner", '1'}, {"occurred_at", '1'}, {"contact_type", '0'}, {"persons_present", '1'},
        {"children_seen", '2'}, {"narrative", '3'}, {"concern_raised", '2'}, {"duration_min", '1'}}},
  };
  auto t = table.find(type);
  if (t == table.end()) return '?';
  auto f = t->second.find(field);
  return f == t->second.end() ? '?' : f->second;
}

// The oracle itself: one object per (family, viewer, time).
class Oracle {
 public:
  Oracle(const Family& family, const std::map<std::string, Practitioner>& directory, int64_t now_ms, Rules rules)
      : f_(family), dir_(directory), now_(now_ms), rules_(rules) {
    for (const auto& r : f_.records) {
      if (r.type == "Person") persons_.insert(r.id);
      if (r.type == "EarlyHelpEpisode") lead_ = r.str("lead_professional");
    }
    lead_agency_ = org_of(lead_);
  }

  const std::string& lead() const { return lead_; }
  const std::string& lead_agency() const { return lead_agency_; }

  View view(const std::string& practitioner) const {
    View v;
    const std::string org = org_of(practitioner);
    bool current = false;
    v.standing = standing(practitioner, current);
    if (v.standing == "none") {
      v.family_absent = true;
      for (const auto& r : f_.records) {
        v.records[r.id] = Expect::withheld;
        for (const auto& [name, value] : r.fields)
          if (!value.is_null()) v.fields[r.id][name] = Expect::withheld;
      }
      return v;
    }
    for (const auto& r : f_.records) expect_record(r, v, org);
    // A manager who is not on the team: DOMAIN.md §7 gives managers "the team's episodes", the
    // contract names no rule for what reaches their device. A member whose organisation is
    // covered for nobody: §6.7 degrades TAF members to NONE when SHARE_WITH_TAF lapses, the
    // contract keeps their standing (alerts still reach them). Either way nothing withheld may
    // arrive, and the family may be absent.
    bool covered_for_someone = org == lead_agency_;
    for (const auto& p : persons_) covered_for_someone = covered_for_someone || covered(p, org) != Tri::no;
    if ((v.standing == "manager" && !current) || !covered_for_someone) v.family_may_be_absent = true;
    if (v.family_may_be_absent) {
      for (auto& [id, e] : v.records)
        if (e == Expect::visible) e = Expect::either;
      for (auto& [id, fs] : v.fields)
        for (auto& [name, e] : fs)
          if (e == Expect::visible) e = Expect::either;
    }
    return v;
  }

  enum class Tri { yes, no, maybe };

  // Whether `person`'s information may reach organisation `org` (DOMAIN.md §6.2-§6.4, §6.6).
  Tri covered(const std::string& person, const std::string& org) const {
    if (!lead_agency_.empty() && org == lead_agency_) return Tri::yes;  // §6.2: the lead agency's own record
    bool granted = false, child_refused = false, other_refused = false;
    // §6.4 rules 1, 3, 4: someone who decided for themselves is the one whose decision counts
    // for their own information (a parent's consent no longer speaks for a competent child).
    bool decides_self = false;
    for (const auto& c : f_.records)
      if (c.type == "ConsentRecord" && c.str("given_by") == person && entitled(c, person) && c.str("status") != "REQUESTED" &&
          c.str("status") != "SUPERSEDED" && c.str("status") != "EXPIRED" && c.set("purposes").count("SHARE_WITH_TAF"))
        decides_self = true;
    for (const auto& c : f_.records) {
      if (c.type != "ConsentRecord" || !entitled(c, person)) continue;
      if (decides_self && c.str("given_by") != person) continue;
      // A consent only requested, superseded or expired decides nothing either way (§4.5).
      if (c.str("status") == "REQUESTED" || c.str("status") == "SUPERSEDED" || c.str("status") == "EXPIRED") continue;
      if (grants(c, org)) granted = true;
      if (names_refusal(c, org)) {
        bool child_self = c.str("given_by") == person && is_child(person);
        (child_self ? child_refused : other_refused) = true;
      }
    }
    if (!granted || child_refused) return Tri::no;  // §6.4 rule 3: the competent child's refusal prevails
    if (other_refused) return rules_.pr_holder_veto ? Tri::no : Tri::maybe;  // §8.3 C-13 vs the contract
    return Tri::yes;
  }

 private:
  const Family& f_;
  const std::map<std::string, Practitioner>& dir_;
  int64_t now_;
  Rules rules_;
  std::set<std::string> persons_;
  std::string lead_;
  std::string lead_agency_;

  std::string org_of(const std::string& p) const {
    auto it = dir_.find(p);
    return it == dir_.end() ? std::string() : it->second.organisation;
  }
  std::string role_of(const std::string& p) const {
    auto it = dir_.find(p);
    return it == dir_.end() ? std::string() : it->second.role;
  }

  // DOMAIN.md §7, §5 "Device data minimisation"; `current`: on the team with access.
  std::string standing(const std::string& p, bool& current) const {
    std::string scope;
    for (const auto& r : f_.records)
      if (r.type == "TeamMember" && r.str("practitioner") == p && !r.get("left_at")) scope = r.str("access_scope");
    current = scope == "FULL_EPISODE" || scope == "PLAN_AND_OWN_ACTIONS";
    if (!p.empty() && p == lead_) return "lead";
    if (role_of(p) == "TEAM_MANAGER" && !lead_agency_.empty() && org_of(p) == lead_agency_) return "manager";
    if (scope == "FULL_EPISODE") return "full_member";
    if (scope == "PLAN_AND_OWN_ACTIONS") return "plan_member";
    return "none";
  }

  std::optional<int> age(const std::string& person) const {
    const Record* r = f_.find(person);
    if (!r || r->type != "Person") return std::nullopt;
    return age_at(r->str("date_of_birth"), now_);
  }
  bool is_child(const std::string& person) const {
    auto a = age(person);
    return a && *a < 18;
  }
  bool holds_pr(const std::string& adult, const std::string& child) const {
    for (const auto& r : f_.records)
      if (r.type == "Relationship" && r.str("person_a") == adult && r.str("person_b") == child &&
          r.str("parental_responsibility") == "YES")
        return true;
    return false;
  }

  // §6.4: may this consent's giver consent for `person` on the basis it records?
  bool entitled(const Record& c, const std::string& person) const {
    if (!c.set("covers_persons").count(person)) return false;
    const std::string giver = c.str("given_by"), basis = c.str("capacity_basis");
    auto a = age(person);
    if (!a) return false;
    if (basis == "SELF_ADULT") return giver == person && *a >= 18;                      // rule 1
    if (basis == "YOUNG_PERSON_16_17_SELF") return giver == person && *a >= 16 && *a < 18;  // rule 4
    if (basis == "COMPETENT_CHILD_SELF")                                                   // rule 3
      return giver == person && *a < 18 && c.get("competence_assessed_by") != nullptr;
    if (basis == "PR_HOLDER_FOR_CHILD") return *a < 16 && holds_pr(giver, person);         // rules 2, 6; §6.3 expiry at 16
    return false;  // court-appointed and unborn: not generated
  }

  // §6.3, §6.6: an active, unexpired SHARE_WITH_TAF consent naming `org`, not withdrawn or excluded for it.
  bool grants(const Record& c, const std::string& org) const {
    if (c.str("status") != "ACTIVE") return false;
    auto expires = ms_of(c.str("expires_at"));
    if (!expires || *expires <= now_) return false;
    if (!c.set("purposes").count("SHARE_WITH_TAF") || c.set("withdrawn_purposes").count("SHARE_WITH_TAF")) return false;
    if (c.str("withdrawal_scope") == "FULL") return false;
    return c.set("recipients").count(org) && !c.set("withdrawn_recipients").count(org) &&
           !c.set("excluded_recipients").count(org);
  }
  // §6.4 rule 3, §6.6: a refusal or withdrawal that names `org`.
  bool names_refusal(const Record& c, const std::string& org) const {
    // Only a decision about sharing refuses sharing (a refusal of the service itself is not one).
    if (!c.set("purposes").count("SHARE_WITH_TAF") && !c.set("withdrawn_purposes").count("SHARE_WITH_TAF")) return false;
    // A refusal names the recipients it lists (none listed: everyone); a withdrawal of the whole
    // consent or of the sharing purpose speaks for every recipient (§6.6).
    bool listed = c.set("recipients").empty() || c.set("recipients").count(org) > 0;
    std::string status = c.str("status");
    if (status == "REFUSED" && listed) return true;
    if (status == "WITHDRAWN" || c.str("withdrawal_scope") == "FULL") return true;
    if (c.set("withdrawn_recipients").count(org) || c.set("excluded_recipients").count(org)) return true;
    return c.set("withdrawn_purposes").count("SHARE_WITH_TAF") > 0;
  }

  Expect consent_for(const std::set<std::string>& subjects, const std::string& org) const {
    Expect e = Expect::visible;
    for (const auto& s : subjects) {
      Tri t = covered(s, org);
      if (t == Tri::no) return Expect::withheld;
      if (t == Tri::maybe) e = Expect::either;
    }
    return e;
  }
  // A record whose subject fields the contract leaves to the schema table (EntityDef::
  // subject_fields): `named` if the table declares them, the whole family if it does not. Only
  // what both readings agree on is asserted.
  Expect consent_either_reading(const std::set<std::string>& named, const std::string& org) const {
    Expect a = consent_for(named.empty() ? persons_ : named, org), b = consent_for(persons_, org);
    return a == b ? a : Expect::either;  // named is within the family: b is never less restrictive
  }

  void expect_record(const Record& r, View& v, const std::string& org) const {
    auto& fields = v.fields[r.id];
    if (v.standing == "lead" || v.standing == "manager") {  // §7: the whole episode incl. T2/T3
      v.records[r.id] = Expect::visible;
      for (const auto& [name, value] : r.fields)
        if (!value.is_null()) fields[name] = Expect::visible;
      return;
    }
    const bool plan = v.standing == "plan_member";
    Expect rec = Expect::either;        // the record itself
    Expect base = Expect::either;       // its fields before minimisation
    std::map<std::string, Expect> fixed;  // fields decided by a rule of their own
    const std::set<std::string> whole = persons_;
    if (r.type == "Family") {
      base = consent_for(whole, org);  // whole-family data; the root record may stay as a shell
      rec = base == Expect::withheld ? Expect::either : base;
    } else if (r.type == "Person") {
      rec = base = consent_for({r.id}, org);
    } else if (r.type == "Contact") {
      auto present = r.set("persons_present");
      rec = base = consent_for(present.empty() ? whole : present, org);
    } else if (r.type == "Address") {
      rec = base = consent_for(whole, org);
      const Value* conf = r.get("confidential");
      if (conf && conf->is_bool() && conf->as_bool()) {  // §3.6: never to a non-lead, non-manager device
        if (rec != Expect::withheld) rec = base = Expect::either;
        for (const char* f : {"lines", "postcode", "uprn", "lsoa_code"}) fixed[f] = Expect::withheld;
      }
    } else if (r.type == "Alert") {
      // §3.20: alerts reach everyone with access, even when other fields are minimised;
      // their free text only the lead and managers (issue 8, §5 minimisation).
      rec = Expect::visible;
      base = Expect::either;
      fixed["type"] = fixed["severity"] = Expect::visible;
      fixed["note"] = Expect::withheld;
    } else if (r.type == "Relationship") {
      rec = base = consent_either_reading({r.str("person_a"), r.str("person_b")}, org);
    } else if (r.type == "EarlyHelpEpisode") {
      rec = base = consent_either_reading(r.set("subject_children"), org);
    } else if (r.type == "ConsentRecord") {
      rec = base = consent_either_reading(r.set("covers_persons"), org);
    }  // TeamMember and anything else: either
    if (plan && rules_.plan_scope_strict && r.type != "Alert" && r.type != "Family") rec = base = Expect::withheld;
    else if (plan && rec == Expect::visible && r.type != "Alert" && r.type != "Family")
      rec = Expect::either;  // §7 says plan members do not see these records at all; the contract sends T0/T1
    v.records[r.id] = rec;
    for (const auto& [name, value] : r.fields) {
      if (value.is_null()) continue;
      Expect e = rec == Expect::withheld ? Expect::withheld : base;
      if (rec != Expect::withheld) {
        char cls = sensitivity_of(r.type, name);
        if (plan && (cls == '2' || cls == '3')) e = Expect::withheld;  // §5: no T2/T3 to PLAN_AND_OWN_ACTIONS
        if (plan && cls == '?' && e == Expect::visible) e = Expect::either;
        if (auto it = fixed.find(name); it != fixed.end()) e = it->second;
      }
      fields[name] = e;
    }
  }
};

inline View expected_view(const Family& family, const std::map<std::string, Practitioner>& directory,
                          const std::string& practitioner, int64_t now_ms, Rules rules = {}) {
  return Oracle(family, directory, now_ms, rules).view(practitioner);
}

// Values of `view`'s withheld fields that are distinctive enough to scan for (the generator's
// markers): a pull body or a replica holding one of them leaks it.
inline std::set<std::string> withheld_markers(const Family& family, const View& view) {
  std::set<std::string> out;
  for (const auto& r : family.records)
    for (const auto& [name, value] : r.fields)
      if (value.is_string() && value.as_string().find("zq") != std::string::npos &&
          (view.family_absent || view.field(r.id, name) == Expect::withheld))
        out.insert(value.as_string());
  return out;
}

// ---- the generator: small random families, their teams and later changes ----

struct OrgDef {
  std::string id, name, type;
};
// The organisations and practitioners every generated scenario draws from (DOMAIN.md §3.1, §3.2).
inline const std::vector<OrgDef>& pool_orgs() {
  static const std::vector<OrgDef> orgs = {{"org-eh", "Early Help", "LA_EARLY_HELP"},
                                           {"org-hv", "Health Visiting", "HEALTH_VISITING"},
                                           {"org-sch", "School", "SCHOOL"},
                                           {"org-hou", "Housing", "HOUSING"}};
  return orgs;
}
inline const std::map<std::string, Practitioner>& pool() {
  static const std::map<std::string, Practitioner> p = [] {
    std::map<std::string, Practitioner> m;
    for (const Practitioner& x : std::vector<Practitioner>{{"eh-lead", "org-eh", "LEAD_ELIGIBLE"},
                                                           {"eh-mgr", "org-eh", "TEAM_MANAGER"},
                                                           {"eh-fsw", "org-eh", "PRACTITIONER"},
                                                           {"hv-lead", "org-hv", "LEAD_ELIGIBLE"},
                                                           {"hv-mgr", "org-hv", "TEAM_MANAGER"},
                                                           {"sch-dsl", "org-sch", "DSL"},
                                                           {"sch-mgr", "org-sch", "TEAM_MANAGER"},
                                                           {"hou-1", "org-hou", "PRACTITIONER"},
                                                           {"hou-2", "org-hou", "PRACTITIONER"}})
      m[x.id] = x;
    return m;
  }();
  return p;
}

struct Member {
  std::string practitioner;
  std::string scope;  // FULL_EPISODE, PLAN_AND_OWN_ACTIONS, NONE
  bool left = false;  // taken off the team (TeamMember.left_at)
};

// One edit the lead's tablet makes, applied the same way to the oracle's model.
struct Edit {
  enum class Kind { create, set, add };
  Kind kind = Kind::set;
  std::string type;
  std::string id;
  std::string field;   // set, add
  Value value;         // set: the value; add: the element
  FieldValues fields;  // create
  std::string describe() const {
    if (kind == Kind::create) return "create " + type + " " + id;
    return std::string(kind == Kind::set ? "set " : "add to ") + id + "." + field + " " + value.describe();
  }
};

inline void apply(Family& family, const Edit& e) {
  if (e.kind == Edit::Kind::create) {
    family.records.push_back(Record{e.type, e.id, e.fields});
    return;
  }
  Record* r = family.find(e.id);
  if (!r) return;
  if (e.kind == Edit::Kind::set) {
    r->fields[e.field] = e.value;
    return;
  }
  StringList list;
  if (const Value* v = r->get(e.field); v && v->is_list()) list = v->as_list();
  if (std::find(list.begin(), list.end(), e.value.as_string()) == list.end()) list.push_back(e.value.as_string());
  std::sort(list.begin(), list.end());
  r->fields[e.field] = list;
}

// The TeamMember record of a member (COMMON8.md; id "<family>/team/<practitioner>").
inline Record team_record(const std::string& family, const Member& m, int64_t joined_ms) {
  Record r{"TeamMember", family + "/team/" + m.practitioner, {}};
  r.fields = {{"practitioner", m.practitioner},
              {"organisation", pool().at(m.practitioner).organisation},
              {"team_role", "TAF_MEMBER"},
              {"access_scope", m.scope},
              {"joined_at", datetime_of(joined_ms)}};
  if (m.left) r.fields["left_at"] = datetime_of(joined_ms + 1000);
  return r;
}

struct Scenario {
  uint64_t seed = 0;
  std::string family;
  FieldValues root;             // the family's own record (create_family)
  std::string lead;
  std::vector<Member> members;  // the team besides the lead
  std::string outsider;         // a practitioner never on the team ("" when none is left)
  std::vector<Edit> setup;      // what the lead records before the team joins
  std::vector<Edit> later;      // then: withdrawals, scope changes, a confidential address, a visit
};

// A scenario from `seed` for `family` at `now_ms`: the same seed gives the same choices for any
// family id (so a test may create the family first and generate again with its id).
inline Scenario generate(uint64_t seed, const std::string& family, int64_t now_ms) {
  std::mt19937_64 rng(seed);
  auto pick = [&](size_t n) { return static_cast<size_t>(std::uniform_int_distribution<uint64_t>(0, n - 1)(rng)); };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0.0, 1.0)(rng) < p; };
  auto marker = [&](const std::string& what) {
    std::string m = "zq";
    for (int i = 0; i < 12; ++i) m.push_back(static_cast<char>('a' + pick(26)));
    return m + " " + what;
  };
  auto days_ago = [&](int64_t d) { return datetime_of(now_ms - d * kDayMs); };
  const auto& orgs = pool_orgs();
  const auto& people = pool();

  Scenario s;
  s.seed = seed;
  s.family = family;
  s.root = {{"display_name", marker("family")}, {"phone", marker("phone")}};

  // the team: a lead, 1-3 members, an outsider
  s.lead = chance(0.5) ? "eh-lead" : "hv-lead";
  const std::string lead_agency = people.at(s.lead).organisation;
  std::vector<std::string> others;
  for (const auto& [id, p] : people)
    if (id != s.lead) others.push_back(id);
  std::shuffle(others.begin(), others.end(), rng);
  size_t n_members = 1 + pick(3);
  for (size_t i = 0; i < n_members; ++i) {
    const Practitioner& p = people.at(others[i]);
    Member m{p.id, "FULL_EPISODE", false};
    if (p.role == "TEAM_MANAGER" && p.organisation == lead_agency) {
      m.scope = chance(0.7) ? "FULL_EPISODE" : "PLAN_AND_OWN_ACTIONS";
    } else {
      double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
      m.scope = r < 0.55 ? "FULL_EPISODE" : r < 0.8 ? "PLAN_AND_OWN_ACTIONS" : "NONE";
      if (r >= 0.9) m = Member{p.id, "FULL_EPISODE", true};
    }
    s.members.push_back(m);
  }
  for (size_t i = n_members; i < others.size() && s.outsider.empty(); ++i) {
    const Practitioner& p = people.at(others[i]);
    if (!(p.role == "TEAM_MANAGER" && p.organisation == lead_agency)) s.outsider = p.id;
  }

  auto create = [&](const std::string& type, const std::string& id, FieldValues f) {
    Edit e;
    e.kind = Edit::Kind::create;
    e.type = type;
    e.id = id;
    e.fields = std::move(f);
    s.setup.push_back(e);
  };

  // persons: an adult, then a second adult or children (at least one child), 2-4 in all
  struct P {
    std::string id;
    int age;
    bool pr;
  };
  std::vector<P> adults, children;
  const Civil today = civil_from_days(now_ms / kDayMs);
  auto dob = [&](int age) { return date_of((days_from_civil(today.y - age, today.m, 1) - 40) * kDayMs); };
  size_t n_persons = 2 + pick(3);
  static const int kChildAges[] = {1, 6, 10, 13, 14, 15, 16, 17};
  for (size_t i = 0; i < n_persons; ++i) {
    std::string id = family + "/person/" + std::to_string(i + 1);
    bool adult = i == 0 || (i == 1 && n_persons > 2 && chance(0.5));
    int age = adult ? 20 + static_cast<int>(pick(30)) : kChildAges[pick(8)];
    FieldValues f = {{"given_names", marker("given")}, {"family_name", marker("surname")},
                     {"person_status", "LIVING"}, {"date_of_birth", dob(age)}};
    if (chance(0.4)) f["religion"] = marker("religion");
    if (chance(0.4)) f["communication_needs"] = marker("communication");
    create("Person", id, f);
    (adult ? adults : children).push_back(P{id, age, i == 0 || chance(0.7)});
  }
  for (size_t a = 0; a < adults.size(); ++a)
    for (size_t c = 0; c < children.size(); ++c) {
      FieldValues f = {{"person_a", adults[a].id}, {"person_b", children[c].id}, {"type", a == 0 ? "MOTHER" : "FATHER"},
                       {"parental_responsibility", adults[a].pr ? "YES" : "NO"}};
      if (chance(0.2)) f["contact_restriction"] = "NO_CONTACT";
      create("Relationship", family + "/rel/" + std::to_string(a + 1) + "-" + std::to_string(c + 1), f);
    }

  StringList child_ids;
  for (const auto& c : children) child_ids.push_back(c.id);
  std::sort(child_ids.begin(), child_ids.end());
  create("EarlyHelpEpisode", family + "/episode",
         {{"subject_children", child_ids}, {"start_date", date_of(now_ms - 90 * kDayMs)},
          {"start_reason", "PARENTING_FAMILY_DYNAMICS"}, {"level_of_need", chance(0.5) ? "L2" : "L3"},
          {"service_model", "MULTI_AGENCY_TAF"}, {"allocated_org", lead_agency}, {"lead_professional", s.lead}});

  // consents: 1-3 of the slots (giver, basis), each giver at most once per basis
  struct Slot {
    std::string giver, basis;
    StringList covers;
  };
  std::vector<Slot> slots;
  for (const auto& a : adults) {
    slots.push_back({a.id, "SELF_ADULT", {a.id}});
    StringList under16;
    for (const auto& c : children)
      if (c.age < 16) under16.push_back(c.id);
    std::sort(under16.begin(), under16.end());
    if (!under16.empty()) slots.push_back({a.id, "PR_HOLDER_FOR_CHILD", under16});
  }
  for (const auto& c : children) {
    if (c.age >= 16) slots.push_back({c.id, "YOUNG_PERSON_16_17_SELF", {c.id}});
    else if (c.age >= 12) slots.push_back({c.id, "COMPETENT_CHILD_SELF", {c.id}});
  }
  std::shuffle(slots.begin(), slots.end(), rng);
  size_t n_consents = std::min(slots.size(), 1 + pick(3));
  std::vector<std::string> consent_ids;
  auto some_orgs = [&](double p) {
    StringList out;
    for (const auto& o : orgs)
      if (chance(p)) out.push_back(o.id);
    std::sort(out.begin(), out.end());  // a set field's value is sorted
    return out;
  };
  for (size_t k = 0; k < n_consents; ++k) {
    const Slot& sl = slots[k];
    std::string id = family + "/consent/" + std::to_string(k + 1);
    StringList purposes;
    if (chance(0.5)) purposes.push_back("RECEIVE_EARLY_HELP");
    if (chance(0.85) || purposes.empty()) purposes.push_back("SHARE_WITH_TAF");
    std::sort(purposes.begin(), purposes.end());
    StringList recipients = some_orgs(0.6);
    FieldValues f = {{"purposes", purposes}, {"covers_persons", sl.covers}, {"given_by", sl.giver},
                     {"capacity_basis", sl.basis}, {"data_scope", "ALL_EPISODE_RECORDS"},
                     {"method", "ON_DEVICE_SIGNATURE"}, {"explained_by", s.lead}, {"privacy_notice_version", "v2"},
                     {"given_at", days_ago(60)}, {"expires_at", datetime_of(now_ms + 300 * kDayMs)}, {"status", "ACTIVE"}};
    if (!recipients.empty()) f["recipients"] = recipients;
    if (chance(0.15)) f["excluded_recipients"] = StringList{orgs[pick(orgs.size())].id};
    if (sl.basis == "COMPETENT_CHILD_SELF") {
      f["competence_rationale"] = marker("competence");
      f["competence_assessed_by"] = s.lead;
      f["competence_assessed_at"] = days_ago(61);
    }
    double r = std::uniform_real_distribution<double>(0.0, 1.0)(rng);
    auto withdrawal = [&](const std::string& scope) {
      f["withdrawal_scope"] = scope;
      f["withdrawn_at"] = days_ago(2);
      f["withdrawn_by"] = sl.giver;
      f["withdrawal_channel"] = "PHONE";
      f["withdrawal_recorded_by"] = s.lead;
    };
    if (r < 0.08) {
      f["status"] = "REFUSED";
    } else if (r < 0.16) {
      withdrawal("FULL");
      f["withdrawal_reason"] = marker("withdrawal");
      f["status"] = "WITHDRAWN";
    } else if (r < 0.21) {
      f["status"] = "EXPIRED";
      f["expires_at"] = days_ago(1);
    } else if (r < 0.27) {
      f["expires_at"] = days_ago(1);  // lapsed, status not yet updated
    } else if (r < 0.37 && !recipients.empty()) {
      withdrawal("RECIPIENTS");
      f["withdrawn_recipients"] = StringList{recipients[pick(recipients.size())]};
    } else if (r < 0.45) {
      withdrawal("PURPOSES");
      f["withdrawn_purposes"] = StringList{"SHARE_WITH_TAF"};
    }
    create("ConsentRecord", id, f);
    consent_ids.push_back(id);
  }

  std::vector<std::string> open_addresses;
  if (chance(0.8)) {
    create("Address", family + "/address/home",
           {{"lines", marker("home lines")}, {"postcode", marker("home postcode")}, {"type", "HOME"}, {"confidential", false}});
    open_addresses.push_back(family + "/address/home");
  }
  if (chance(0.4))
    create("Address", family + "/address/refuge",
           {{"lines", marker("refuge lines")}, {"postcode", marker("refuge postcode")}, {"type", "REFUGE"}, {"confidential", true}});

  std::vector<std::string> all_persons;
  for (const auto& a : adults) all_persons.push_back(a.id);
  for (const auto& c : children) all_persons.push_back(c.id);
  static const char* kAlertTypes[] = {"DOMESTIC_ABUSE_RISK", "LONE_WORKER_RISK", "AGGRESSIVE_ANIMAL", "EXPLOITATION_RISK"};
  static const char* kSeverities[] = {"INFO", "WARNING", "HIGH"};
  size_t n_alerts = pick(3);
  for (size_t k = 0; k < n_alerts; ++k) {
    FieldValues f = {{"subject", chance(0.5) ? family : all_persons[pick(all_persons.size())]},
                     {"type", kAlertTypes[pick(4)]}, {"severity", kSeverities[pick(3)]}, {"set_by", s.lead},
                     {"set_at", days_ago(5)}};
    if (chance(0.8)) f["note"] = marker("alert note");
    create("Alert", family + "/alert/" + std::to_string(k + 1), f);
  }

  int contacts = 0;
  auto contact = [&](std::vector<Edit>& into) {
    ++contacts;
    StringList present;
    for (const auto& p : all_persons)
      if (chance(0.45)) present.push_back(p);
    std::sort(present.begin(), present.end());
    FieldValues f = {{"practitioner", s.lead}, {"occurred_at", days_ago(10 - contacts)}, {"contact_type", "HOME_VISIT"},
                     {"narrative", marker("narrative")}, {"concern_raised", chance(0.3)}};
    if (!present.empty()) f["persons_present"] = present;
    Edit e;
    e.kind = Edit::Kind::create;
    e.type = "Contact";
    e.id = family + "/contact/" + std::to_string(contacts);
    e.fields = f;
    into.push_back(e);
  };
  size_t n_contacts = 1 + pick(3);
  for (size_t k = 0; k < n_contacts; ++k) contact(s.setup);

  // later: 1-2 changes, mostly consent withdrawals (DOMAIN.md §6.6) and team changes
  auto set = [&](const std::string& id, const std::string& field, Value v) {
    Edit e;
    e.kind = Edit::Kind::set;
    e.id = id;
    e.field = field;
    e.value = std::move(v);
    s.later.push_back(e);
  };
  auto add = [&](const std::string& id, const std::string& field, const std::string& element) {
    Edit e;
    e.kind = Edit::Kind::add;
    e.id = id;
    e.field = field;
    e.value = element;
    s.later.push_back(e);
  };
  auto consent_fields = [&](const std::string& id) -> const FieldValues& {
    for (const auto& e : s.setup)
      if (e.id == id) return e.fields;
    return s.setup.front().fields;
  };
  size_t n_later = 1 + pick(2);
  for (size_t k = 0; k < n_later; ++k) {
    size_t what = pick(7);
    const std::string consent = consent_ids[pick(consent_ids.size())];
    const FieldValues& cf = consent_fields(consent);
    bool has_scope = cf.count("withdrawal_scope") > 0;
    if (what == 0 && cf.count("recipients")) {  // partial withdrawal: RECIPIENTS
      const StringList& rec = cf.at("recipients").as_list();
      add(consent, "withdrawn_recipients", rec[pick(rec.size())]);
      if (!has_scope) set(consent, "withdrawal_scope", "RECIPIENTS");
      set(consent, "withdrawn_at", datetime_of(now_ms));
    } else if (what == 1) {  // partial withdrawal: PURPOSES
      add(consent, "withdrawn_purposes", "SHARE_WITH_TAF");
      if (!has_scope) set(consent, "withdrawal_scope", "PURPOSES");
      set(consent, "withdrawn_at", datetime_of(now_ms));
    } else if (what == 2) {  // full withdrawal
      set(consent, "withdrawn_at", datetime_of(now_ms));
      set(consent, "withdrawal_scope", "FULL");
      set(consent, "withdrawal_reason", marker("withdrawal reason"));
      set(consent, "status", "WITHDRAWN");
    } else if (what == 3) {  // a member's scope changes
      Member& m = s.members[pick(s.members.size())];
      static const char* kScopes[] = {"FULL_EPISODE", "PLAN_AND_OWN_ACTIONS", "NONE"};
      std::string to = kScopes[pick(3)];
      const Practitioner& p = people.at(m.practitioner);
      if (p.role == "TEAM_MANAGER" && p.organisation == lead_agency && to == "NONE") to = "PLAN_AND_OWN_ACTIONS";
      set(family + "/team/" + m.practitioner, "access_scope", to);
    } else if (what == 4) {  // a member leaves the team
      Member& m = s.members[pick(s.members.size())];
      const Practitioner& p = people.at(m.practitioner);
      if (!(p.role == "TEAM_MANAGER" && p.organisation == lead_agency) && !m.left)
        set(family + "/team/" + m.practitioner, "left_at", datetime_of(now_ms));
    } else if (what == 5 && !open_addresses.empty()) {  // the family moves to a refuge
      set(open_addresses.front(), "confidential", true);
    } else {  // a new visit
      contact(s.later);
    }
  }
  return s;
}

// The model of the family once `scenario.setup` and its team are in place (no later edits).
inline Family model_after_setup(const Scenario& s, int64_t joined_ms) {
  Family f;
  f.id = s.family;
  f.records.push_back(Record{"Family", s.family, s.root});
  for (const auto& e : s.setup) apply(f, e);
  for (const auto& m : s.members) f.records.push_back(team_record(s.family, m, joined_ms));
  return f;
}

}  // namespace hearth::test::oracle
