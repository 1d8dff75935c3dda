// The KPI computations of DOMAIN.md §12.2 under the §12.1 conventions (kpi.hpp).
#include "report/kpi.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <unordered_set>

#include "hearth/core/civil_time.hpp"
#include "hearth/core/schema.hpp"

namespace hearth::server::report {

namespace {

using json = nlohmann::json;
constexpr int64_t kDayMs = civil::kDayMs;
constexpr int64_t kHourMs = 60 * 60 * 1000;

// ---- Reading a record's fields ----

std::string text(const json& f, const char* key) {
  auto it = f.find(key);
  return it != f.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<std::string> list(const json& f, const char* key) {
  std::vector<std::string> out;
  auto it = f.find(key);
  if (it == f.end() || !it->is_array()) return out;
  for (const auto& v : *it)
    if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

bool flag(const json& f, const char* key) {
  auto it = f.find(key);
  return it != f.end() && it->is_boolean() && it->get<bool>();
}

std::optional<int64_t> ms_of(const json& f, const char* key, int64_t& unreadable) {
  std::string s = text(f, key);
  if (s.empty()) return std::nullopt;
  auto t = civil::parse_ms(s);
  if (!t) ++unreadable;
  return t;
}

std::optional<int64_t> day_of(const json& f, const char* key, int64_t& unreadable) {
  auto t = ms_of(f, key, unreadable);
  if (!t) return std::nullopt;
  return civil::day_of(*t);
}

const std::vector<std::string>& values_of(const char* entity, const char* field) {
  static const std::vector<std::string> none;
  const EntityDef* e = Schema::v1().entity(entity);
  const FieldDef* d = e ? e->field(field) : nullptr;
  return d ? d->values : none;
}

// ---- Counting helpers ----

// Distinct units per category of each dimension, reported in a fixed order.
class Tally {
 public:
  void add(const std::string& dimension, const std::string& category, const std::string& unit) {
    dims_[dimension][category.empty() ? "NOT_RECORDED" : category].insert(unit);
  }
  // A unit whose category may change from one event to the next (a child's age, the area of
  // a child seen in two families): it counts once, in the category of its earliest event in
  // the period (ties: the first category by name).
  void add_first(const std::string& dimension, const std::string& category, const std::string& unit, int64_t day) {
    const std::string cat = category.empty() ? "NOT_RECORDED" : category;
    auto [it, fresh] = firsts_[dimension].try_emplace(unit, day, cat);
    if (!fresh && std::make_pair(day, cat) < it->second) it->second = {day, cat};
  }
  // Categories in `order` first (those with a count), then any others by name.
  Breakdown out(const std::string& dimension, const std::string& unit, const std::vector<std::string>& order) const {
    std::map<std::string, std::set<std::string>> by_cat;
    if (auto d = dims_.find(dimension); d != dims_.end()) by_cat = d->second;
    if (auto f = firsts_.find(dimension); f != firsts_.end())
      for (const auto& [u, first] : f->second) by_cat[first.second].insert(u);
    Breakdown b{dimension, unit, {}};
    std::set<std::string> done;
    for (const auto& c : order) {
      auto cell = by_cat.find(c);
      if (cell == by_cat.end()) continue;
      b.cells.emplace_back(c, static_cast<int64_t>(cell->second.size()));
      done.insert(c);
    }
    for (const auto& [c, units] : by_cat)
      if (!done.count(c)) b.cells.emplace_back(c, static_cast<int64_t>(units.size()));
    return b;
  }

 private:
  std::map<std::string, std::map<std::string, std::set<std::string>>> dims_;
  std::map<std::string, std::map<std::string, std::pair<int64_t, std::string>>> firsts_;
};

Measure count(std::string key, std::string label, int64_t n, std::string unit) {
  Measure m;
  m.key = std::move(key);
  m.label = std::move(label);
  m.kind = Measure::Kind::count;
  m.n = n;
  m.unit = std::move(unit);
  return m;
}

Measure rate(std::string key, std::string label, int64_t num, int64_t den, std::string unit) {
  Measure m;
  m.key = std::move(key);
  m.label = std::move(label);
  m.kind = Measure::Kind::rate;
  m.num = num;
  m.den = den;
  m.unit = std::move(unit);
  return m;
}

Measure number(std::string key, std::string label, double value, int64_t basis, std::string unit) {
  Measure m;
  m.key = std::move(key);
  m.label = std::move(label);
  m.kind = Measure::Kind::number;
  m.value = value;
  m.basis = basis;
  m.unit = std::move(unit);
  return m;
}

// Nearest-rank percentile (p in (0,1]) of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return 0;
  auto rank = static_cast<size_t>(std::ceil(p * static_cast<double>(sorted.size())));
  if (rank < 1) rank = 1;
  return sorted[rank - 1];
}

double round1(double v) { return std::round(v * 10.0) / 10.0; }
double round2(double v) { return std::round(v * 100.0) / 100.0; }

bool eha_done(const std::string& status) {
  return status == "COMPLETED" || status == "FAMILY_SIGNED" || status == "AUTHORISED";
}

const std::vector<std::string> kAgeBands = {"0-4", "5-6", "7-11", "12-15", "16-19", "20-25", "26+", "UNKNOWN"};

// Everything compute_report needs that does not depend on the period, built once.
class Calculator {
 public:
  Calculator(const KpiInput& in, const TenantConfig& config) : in_(in), config_(config) {
    for (const auto& p : in.persons) person_[p.id] = &p;
    for (const auto& p : in.persons)
      if (!p.merged_into.empty()) ++merged_;
    for (const auto& e : in.episodes) {
      if (e.closure_reason == "OPENED_IN_ERROR_OR_DUPLICATE") {
        excluded_.insert(e.id);
        continue;
      }
      episode_[e.id] = &e;
    }
    for (const auto& a : in.addresses) {
      address_[a.id] = &a;
      addresses_of_[a.family].push_back(&a);
    }
    for (const auto& f : in.families) lsoa_[f.id] = family_lsoa(f);
  }

  KpiReport run(const Period& period) {
    period_ = period;
    from_ms_ = period.from_day * kDayMs;
    to_ms_ = period.to_day * kDayMs;
    KpiReport r;
    r.period = period;
    r.excluded_duplicate_episodes = static_cast<int64_t>(excluded_.size());
    r.merged_persons = merged_;
    r.kpis.push_back(k01_k02_k03());
    r.kpis.push_back(k04());
    r.kpis.push_back(k05());
    r.kpis.push_back(k06());
    r.kpis.push_back(k07());
    r.kpis.push_back(k08());
    r.kpis.push_back(k09());
    r.kpis.push_back(k10(r.distance));
    r.kpis.push_back(k11());
    r.kpis.push_back(k12());
    r.kpis.push_back(k14());
    r.kpis.push_back(k15());
    r.kpis.push_back(k16());
    r.kpis.push_back(k20());
    r.kpis.push_back(k21());
    r.kpis.push_back(k22());
    r.not_computed = {
        {"K-13", "Referral to CSC within 12 months after early help ended",
         "the inbound CSC referral feed from the office system (a dated CSC referral per child); Hearth holds only "
         "the child's current statutory_status, without dates"},
        {"K-17", "GCP2s completed",
         "Gcp2Assessment records and practitioners' GCP2 licences, which the v1 schema does not hold yet"},
        {"K-18", "Parenting programmes", "Intervention records (service_type, status, pre/post measures), not in the v1 schema"},
        {"K-19", "Family and child feedback", "Feedback records (rating_service, made_a_difference), not in the v1 schema"},
        {"K-23", "Case quality", "CaseAudit records (grade), not in the v1 schema"},
        {"K-15 (c, d)", "Reviews on time; active episodes with an overdue review",
         "each review's due date as it stood; the records keep only the latest next_review_due"},
        {"K-20 (persons)", "Young carers first recorded in the period", "when young_carer was first set; the record keeps its value only"},
        {"K-21 (SAR)", "Subject access requests answered within the statutory deadline",
         "subject access requests kept as records (the sar command's log)"},
        {"K-22 (period)", "Supporting Families claims in the period", "the date of each claim; the office sets sf_claim_status without one"},
    };
    if (in_.unreadable_values > 0)
      r.notes.push_back(std::to_string(in_.unreadable_values) +
                        " recorded values could not be read (a date that is not a date, a score that is not "
                        "AREA=number) and were left out");
    return r;
  }

 private:
  // ---- period and calendar ----
  bool in_period_ms(const std::optional<int64_t>& t) const { return t && *t >= from_ms_ && *t < to_ms_; }
  bool in_period_day(const std::optional<int64_t>& d) const { return d && *d >= period_.from_day && *d < period_.to_day; }
  bool working(int64_t day) {
    auto it = working_.find(day);
    if (it != working_.end()) return it->second;
    bool w = config_.is_working_day(day);
    working_.emplace(day, w);
    return w;
  }
  // The day of the n-th working day after `day` (n >= 1). Bounded like add_working_days.
  int64_t working_deadline(int64_t day, int n) {
    int64_t d = day;
    for (int found = 0, step = 0; found < n && step < 3660; ++step)
      if (working(++d)) ++found;
    return d;
  }

  // ---- people, families, episodes ----
  std::string canon(const std::string& id) const {
    std::string cur = id;
    for (int hop = 0; hop < 16; ++hop) {
      auto it = person_.find(cur);
      if (it == person_.end() || it->second->merged_into.empty()) return cur;
      cur = it->second->merged_into;
    }
    return cur;
  }
  const PersonRow* person(const std::string& id) const {
    auto it = person_.find(canon(id));
    return it == person_.end() ? nullptr : it->second;
  }
  const EpisodeRow* episode(const std::string& id) const {
    auto it = episode_.find(id);
    return it == episode_.end() ? nullptr : it->second;
  }
  bool excluded(const std::string& episode_id) const { return !episode_id.empty() && excluded_.count(episode_id) > 0; }

  std::string family_lsoa(const FamilyRow& f) const {
    if (!f.lsoa.empty()) return f.lsoa;
    const AddressRow* a = nullptr;
    if (auto it = address_.find(f.current_address); it != address_.end()) a = it->second;
    if (!a) {
      // No current address named: where the family lives now, a refuge or confidential address
      // first (safer never to place it), then home, then temporary.
      auto rank = [](const AddressRow& x) {
        return x.confidential || x.type == "REFUGE" ? 0 : x.type == "HOME" ? 1 : x.type == "TEMPORARY" ? 2 : 3;
      };
      if (auto mine = addresses_of_.find(f.id); mine != addresses_of_.end())
        for (const AddressRow* cand : mine->second)
          if (!cand->ended && rank(*cand) < 3 &&
              (!a || std::make_pair(rank(*cand), cand->id) < std::make_pair(rank(*a), a->id)))
            a = cand;
    }
    if (!a) return "UNKNOWN";
    // A refuge's area is not reported, even as a count: it would point at the refuge.
    if (a->confidential || a->type == "REFUGE") return "CONFIDENTIAL_ADDRESS";
    if (!a->lsoa.empty()) return a->lsoa;
    auto hit = in_.lsoa_of_postcode.find(normalise_postcode(a->postcode));
    return hit == in_.lsoa_of_postcode.end() ? "UNKNOWN" : hit->second;
  }
  std::string lsoa(const std::string& family) const {
    auto it = lsoa_.find(family);
    return it == lsoa_.end() ? "UNKNOWN" : it->second;
  }

  // The child's equality and age dimensions at `day`, counting `unit`.
  void add_child(Tally& t, const std::string& child, int64_t day, const std::string& family) {
    const PersonRow* p = person(child);
    const std::string unit = canon(child);
    bool unborn = p && (p->status == "UNBORN" || (p->dob_day && *p->dob_day > day));
    t.add_first("age_band", age_band(p ? p->dob_day : std::nullopt, day, unborn), unit, day);
    t.add_first("unborn", unborn ? "UNBORN" : "BORN", unit, day);
    t.add("sex", p ? p->sex : "", unit);
    t.add("ethnicity", p ? p->ethnicity : "", unit);
    t.add("disability", p ? p->disability : "", unit);
    t.add_first("lsoa", lsoa(family), unit, day);
  }
  static int64_t tally_count(const Breakdown& b, const std::string& cat) {
    for (const auto& [c, n] : b.cells)
      if (c == cat) return n;
    return 0;
  }
  void child_breakdowns(KpiResult& k, const Tally& t) {
    k.breakdowns.push_back(t.out("age_band", "children", kAgeBands));
    k.breakdowns.push_back(t.out("sex", "children", values_of("Person", "sex")));
    k.breakdowns.push_back(t.out("ethnicity", "children", values_of("Person", "ethnicity")));
    k.breakdowns.push_back(t.out("disability", "children", {"YES", "NO"}));
    k.breakdowns.push_back(t.out("lsoa", "children", {}));
    k.measures.push_back(count("unborn_children", "children unborn at the event (counted in age band 0-4)",
                               tally_count(t.out("unborn", "children", {}), "UNBORN"), "children"));
  }

  // ---- the KPIs ----

  // K-01 EHAs completed; K-02 by initiating agency; K-03 by presenting need.
  KpiResult k01_k02_k03() {
    KpiResult k{"K-01", "Early Help Assessments completed (with K-02 by agency and K-03 by presenting need)", {}, {}, {}};
    std::set<std::string> families, children;
    int64_t ehas = 0, reassessments = 0, young_carer = 0, parenting = 0, separation = 0, school = 0, health = 0;
    std::map<std::string, int64_t> named_agencies;
    Tally t;
    static const std::set<std::string> kHealth = {"HEALTH_VISITING", "SCHOOL_NURSING", "MIDWIFERY", "GP", "CAMHS",
                                                  "ACUTE_HOSPITAL"};
    for (const auto& a : in_.assessments) {
      if (!eha_done(a.status) || !in_period_ms(a.completed_ms) || excluded(a.episode)) continue;
      if (a.type == "EHA_REASSESSMENT") ++reassessments;
      if (a.type != "EHA_FAMILY") continue;
      ++ehas;
      families.insert(a.family);
      const int64_t day = civil::day_of(*a.completed_ms);
      if (const EpisodeRow* e = episode(a.episode))
        for (const auto& c : e->children) {
          children.insert(canon(c));
          add_child(t, c, day, a.family);
        }
      auto ag = in_.agency_of_practitioner.find(a.author);
      const std::string agency = ag == in_.agency_of_practitioner.end() ? "UNKNOWN" : ag->second;
      t.add("agency", agency, a.id);
      if (agency == "SCHOOL") ++school;
      if (kHealth.count(agency)) ++health;
      if (agency.rfind("ADULT_", 0) == 0 || agency == "HOUSING" || agency == "POLICE" || agency == "PROBATION" ||
          agency == "DRUG_ALCOHOL_SERVICE")
        ++named_agencies[agency];
      t.add("level_of_need", a.level, a.id);
      for (const auto& n : a.needs) t.add("need", n, a.id);
      if (std::find(a.needs.begin(), a.needs.end(), "PARENTING_SUPPORT") != a.needs.end()) ++parenting;
      if (std::find(a.needs.begin(), a.needs.end(), "PARENTAL_SEPARATION") != a.needs.end()) ++separation;
      t.add("lsoa_eha", lsoa(a.family), a.id);
    }
    for (const auto& a : in_.assessments)
      if (a.type == "YOUNG_CARER" && eha_done(a.status) && in_period_ms(a.completed_ms) && !excluded(a.episode))
        ++young_carer;
    k.measures.push_back(count("assessments", "EHAs (EHA_FAMILY) completed", ehas, "assessments"));
    k.measures.push_back(count("families", "distinct families with an EHA completed", static_cast<int64_t>(families.size()), "families"));
    k.measures.push_back(count("children", "distinct subject children of those EHAs", static_cast<int64_t>(children.size()), "children"));
    k.measures.push_back(count("reassessments", "re-assessments (EHA_REASSESSMENT) completed", reassessments, "assessments"));
    k.measures.push_back(rate("k02_school", "K-02: share of EHAs initiated by schools", school, ehas, "assessments"));
    k.measures.push_back(rate("k02_health", "K-02: share of EHAs initiated by health", health, ehas, "assessments"));
    int64_t named = 0;
    for (const auto& [agency, n] : named_agencies) named += n;
    k.measures.push_back(count("k02_adult_housing_police_probation_substance",
                               "K-02: initiated by adult services, housing, police, probation, drug/alcohol",
                               named, "assessments"));
    k.measures.push_back(rate("k03_parenting", "K-03: share of EHAs with PARENTING_SUPPORT", parenting, ehas, "assessments"));
    k.measures.push_back(count("k03_separation", "K-03: EHAs with PARENTAL_SEPARATION", separation, "assessments"));
    k.measures.push_back(count("k20_young_carer_assessments", "K-20: young-carer assessments completed", young_carer, "assessments"));
    k.breakdowns.push_back(t.out("agency", "assessments", values_of("Organisation", "org_type")));
    k.breakdowns.push_back(t.out("need", "assessments", values_of("Assessment", "presenting_needs")));
    k.breakdowns.push_back(t.out("level_of_need", "assessments", values_of("Assessment", "level_of_need_determined")));
    Breakdown by_area = t.out("lsoa_eha", "assessments", {});
    by_area.dimension = "lsoa";
    k.breakdowns.push_back(by_area);
    child_breakdowns(k, t);
    k.notes.push_back("Counted: assessments with status COMPLETED, FAMILY_SIGNED or AUTHORISED and completed_at in the period. "
                      "Agency: the org_type of the author's organisation.");
    return k;
  }

  static bool front_door(const ReferralRow& r) { return r.channel == "MASH_FRONT_DOOR" || r.channel == "EARLY_HELP_HUB"; }

  // K-04 referrer informed of the outcome within 24 hours.
  KpiResult k04() {
    KpiResult k{"K-04", "Referrer informed of outcome within 24 hours", {}, {}, {}};
    int64_t den = 0, num = 0, open_at_end = 0;
    std::vector<double> hours;
    for (const auto& r : in_.referrals) {
      if (!front_door(r) || r.anonymous || r.status == "LINKED" || !in_period_ms(r.received_ms)) continue;
      if (excluded(r.episode)) continue;
      ++den;
      if (r.notified_ms && *r.notified_ms - *r.received_ms <= 24 * kHourMs) ++num;
      if (r.notified_ms) hours.push_back(static_cast<double>(*r.notified_ms - *r.received_ms) / kHourMs);
      if (!r.notified_ms || *r.notified_ms >= to_ms_) ++open_at_end;
    }
    std::sort(hours.begin(), hours.end());
    const auto basis = static_cast<int64_t>(hours.size());
    k.measures.push_back(rate("within_24h", "referrers informed within 24 elapsed hours", num, den, "referrals"));
    k.measures.push_back(number("median_hours", "median hours to inform the referrer", round1(percentile(hours, 0.5)), basis, "hours"));
    k.measures.push_back(number("p90_hours", "90th percentile hours to inform the referrer", round1(percentile(hours, 0.9)), basis, "hours"));
    k.measures.push_back(count("not_informed_at_period_end", "referrals whose referrer was not informed by the period's end", open_at_end, "referrals"));
    k.notes.push_back("Referrals by MASH_FRONT_DOOR or EARLY_HELP_HUB received in the period; a referral with neither "
                      "referrer nor referrer_details is anonymous and left out; elapsed clock hours; percentiles by nearest rank.");
    return k;
  }

  bool decided_in_period(const ReferralRow& r) const {
    return !r.decision.empty() && r.status != "LINKED" && in_period_ms(r.decided_ms) && !excluded(r.episode);
  }

  // K-05 share of front-door contacts allocated to early help; signposting; NFA.
  KpiResult k05() {
    KpiResult k{"K-05", "Front-door decisions: allocated to early help, signposted, no further action", {}, {}, {}};
    int64_t all = 0, allocated = 0, signpost = 0, nfa = 0;
    for (const auto& r : in_.referrals) {
      if (!decided_in_period(r)) continue;
      ++all;
      if (r.decision == "ALLOCATE_TARGETED_EH_SERVICE" || r.decision == "EH_CONSULTATION_TAF") ++allocated;
      if (r.decision == "SIGNPOST_IAG") ++signpost;
      if (r.decision == "NO_FURTHER_ACTION") ++nfa;
    }
    k.measures.push_back(count("decided", "referrals decided", all, "referrals"));
    k.measures.push_back(rate("allocated_share", "allocated to a targeted service or consultation and TAF", allocated, all, "referrals"));
    k.measures.push_back(count("signposted", "signposted (SIGNPOST_IAG)", signpost, "referrals"));
    k.measures.push_back(count("no_further_action", "no further action", nfa, "referrals"));
    return k;
  }

  bool open_in_period(const EpisodeRow& e) const {
    return e.start_day && *e.start_day < period_.to_day && (!e.closed_day || *e.closed_day >= period_.from_day);
  }

  // K-06 children and families supported.
  KpiResult k06() {
    KpiResult k{"K-06", "Children and families supported", {}, {}, {}};
    std::set<std::string> families, children, new_families, new_children;
    int64_t episodes = 0, new_episodes = 0;
    Tally t;
    for (const auto& [id, e] : episode_) {
      if (!open_in_period(*e)) continue;
      ++episodes;
      families.insert(e->family);
      const bool is_new = in_period_day(e->start_day);
      if (is_new) {
        ++new_episodes;
        new_families.insert(e->family);
      }
      const int64_t day = std::max(*e->start_day, period_.from_day);
      t.add("level_of_need", e->level, e->family);
      t.add("team", e->team, e->family);
      for (const auto& c : e->children) {
        children.insert(canon(c));
        if (is_new) new_children.insert(canon(c));
        add_child(t, c, day, e->family);
      }
    }
    children_supported_ = static_cast<int64_t>(children.size());
    k.measures.push_back(count("families", "distinct families supported", static_cast<int64_t>(families.size()), "families"));
    k.measures.push_back(count("children", "distinct children supported", children_supported_, "children"));
    k.measures.push_back(count("episodes", "episodes open in the period", episodes, "episodes"));
    k.measures.push_back(count("new_episodes", "episodes started in the period", new_episodes, "episodes"));
    k.measures.push_back(count("new_families", "families whose episode started in the period", static_cast<int64_t>(new_families.size()), "families"));
    k.measures.push_back(count("new_children", "children whose episode started in the period", static_cast<int64_t>(new_children.size()), "children"));
    k.breakdowns.push_back(t.out("level_of_need", "families", values_of("EarlyHelpEpisode", "level_of_need")));
    k.breakdowns.push_back(t.out("team", "families", {}));
    child_breakdowns(k, t);
    k.notes.push_back("An episode counts when start_date < period end and closed_at is unset or >= period start. "
                      "Age is taken at the later of the episode's start and the period's start.");
    return k;
  }

  // K-07 consent to share.
  KpiResult k07() {
    KpiResult k{"K-07", "Consent to share", {}, {}, {}};
    static const std::set<std::string> kWasActive = {"ACTIVE", "EXPIRED", "WITHDRAWN", "SUPERSEDED"};
    std::unordered_map<std::string, std::vector<const ConsentRow*>> by_family;
    for (const auto& c : in_.consents)
      if (kWasActive.count(c.status) && c.given_ms &&
          std::find(c.purposes.begin(), c.purposes.end(), "SHARE_WITH_TAF") != c.purposes.end())
        by_family[c.family].push_back(&c);
    int64_t started = 0, with_consent = 0;
    for (const auto& [id, e] : episode_) {
      if (!in_period_day(e->start_day)) continue;
      ++started;
      const int64_t start = *e->start_day;
      for (const ConsentRow* c : by_family[e->family]) {
        const int64_t given = civil::day_of(*c->given_ms);
        bool linked = c->episode == e->id ? given <= start + 28
                                          : c->episode.empty() && given >= start - 28 && given <= start + 28;
        if (linked) {
          ++with_consent;
          break;
        }
      }
    }
    int64_t full = 0, partial = 0;
    for (const auto& c : in_.consents) {
      if (!in_period_ms(c.withdrawn_ms) || excluded(c.episode)) continue;
      if (c.withdrawal_scope == "FULL" || c.withdrawal_scope.empty()) ++full; else ++partial;
    }
    k.measures.push_back(rate("share_consent_within_28_days", "episodes started with SHARE_WITH_TAF consent active within 28 days",
                              with_consent, started, "episodes"));
    k.measures.push_back(count("withdrawals_full", "full withdrawals recorded", full, "consent records"));
    k.measures.push_back(count("withdrawals_partial", "partial withdrawals (purposes or recipients) recorded", partial, "consent records"));
    k.notes.push_back("A consent counts for an episode when it names the episode and was given by start_date + 28 days, or "
                      "names no episode, is the family's, and was given within 28 days either side of the start. "
                      "'Became ACTIVE' is read as status ACTIVE, EXPIRED, WITHDRAWN or SUPERSEDED with given_at set.");
    return k;
  }

  // K-08 take-up of the offer.
  KpiResult k08() {
    KpiResult k{"K-08", "Take-up of the offer", {}, {}, {}};
    int64_t accepted = 0, offered = 0;
    for (const auto& r : in_.referrals) {
      if (!decided_in_period(r)) continue;
      if (r.offer_outcome == "ACCEPTED" || r.offer_outcome == "DECLINED" || r.offer_outcome == "NO_RESPONSE") ++offered;
      if (r.offer_outcome == "ACCEPTED") ++accepted;
    }
    k.measures.push_back(rate("accepted", "offers accepted", accepted, offered, "referrals"));
    return k;
  }

  // K-09 early help conversation -> EHA conversion.
  KpiResult k09() {
    KpiResult k{"K-09", "Early help conversation to EHA conversion (90 days)", {}, {}, {}};
    const int64_t window = 90 * kDayMs;
    std::unordered_map<std::string, std::vector<int64_t>> eha_at, plan_at;
    for (const auto& a : in_.assessments)
      if (a.type == "EHA_FAMILY" && eha_done(a.status) && a.completed_ms && !excluded(a.episode))
        eha_at[a.family].push_back(*a.completed_ms);
    for (const auto& p : in_.plans)
      if (p.agreed_ms && p.status != "DRAFT" && !excluded(p.episode)) plan_at[p.family].push_back(*p.agreed_ms);
    int64_t cohort = 0, to_eha = 0, to_plan = 0;
    auto within = [&](const std::vector<int64_t>& times, int64_t t0) {
      return std::any_of(times.begin(), times.end(), [&](int64_t t) { return t >= t0 && t <= t0 + window; });
    };
    for (const auto& a : in_.assessments) {
      if (a.type != "EARLY_HELP_CONVERSATION" || !eha_done(a.status) || !a.completed_ms || excluded(a.episode)) continue;
      if (*a.completed_ms < from_ms_ - window || *a.completed_ms >= to_ms_ - window) continue;
      ++cohort;
      if (within(eha_at[a.family], *a.completed_ms)) ++to_eha;
      if (within(plan_at[a.family], *a.completed_ms)) ++to_plan;
    }
    k.measures.push_back(rate("to_eha", "conversations followed by an EHA within 90 days", to_eha, cohort, "assessments"));
    k.measures.push_back(rate("to_plan", "conversations followed by an agreed family plan within 90 days", to_plan, cohort, "assessments"));
    k.notes.push_back("Cohort: conversations completed in [period start - 90 days, period end - 90 days), so each has 90 days' follow-up.");
    return k;
  }

  // K-10 families showing improvement (distance travelled), and K-10b plan-based.
  KpiResult k10(std::vector<AreaDistance>& distance) {
    KpiResult k{"K-10", "Families showing improvement (distance travelled)", {}, {}, {}};
    std::unordered_map<std::string, std::vector<const MeasurementRow*>> by_episode;
    for (const auto& m : in_.measurements)
      if (m.completed_day) by_episode[m.episode].push_back(&m);
    int64_t closed = 0, cohort = 0, improved = 0, strict = 0, worker_cohort = 0, worker_improved = 0;
    int64_t outcome_known = 0, outcome_achieved = 0, area_pairs = 0, areas_up = 0;
    struct Sums { double base = 0, latest = 0; int64_t n = 0; };
    std::map<std::string, Sums> per_area;
    for (const auto& [id, e] : episode_) {
      if (e->status != "CLOSED" || !in_period_day(e->closed_day)) continue;
      ++closed;
      if (!e->outcome_at_closure.empty() && e->outcome_at_closure != "NOT_ASSESSED") {
        ++outcome_known;
        if (e->outcome_at_closure == "ALL_ACHIEVED" || e->outcome_at_closure == "SOME_ACHIEVED") ++outcome_achieved;
      }
      // Series: the episode's readings by subject and tool, up to the closure date.
      std::map<std::string, std::vector<const MeasurementRow*>> series;
      for (const MeasurementRow* m : by_episode[e->id]) {
        if (*m->completed_day > *e->closed_day) continue;
        std::string subject = m->subject_kind == "PERSON" ? canon(m->person) : "FAMILY";
        series[subject + "|" + m->tool].push_back(m);
      }
      int64_t delta = 0, worker_delta = 0;
      bool in_cohort = false, in_worker = false, up2 = false, down2 = false;
      for (auto& [key, readings] : series) {
        if (readings.size() < 2) continue;
        std::sort(readings.begin(), readings.end(), [](const MeasurementRow* a, const MeasurementRow* b) {
          return *a->completed_day != *b->completed_day ? *a->completed_day < *b->completed_day : a->id < b->id;
        });
        const MeasurementRow* first = readings.front();
        const MeasurementRow* last = readings.back();
        if (first->reading_type != "BASELINE") continue;
        const bool worker = first->mode == "WORKER_ONLY" || last->mode == "WORKER_ONLY";
        std::map<std::string, int64_t> base(first->scores.begin(), first->scores.end());
        int64_t d = 0;
        for (const auto& [area, score] : last->scores) {
          auto b = base.find(area);
          if (b == base.end()) continue;
          const int64_t diff = score - b->second;
          d += diff;
          if (worker) continue;
          if (diff >= 2) up2 = true;
          if (diff <= -2) down2 = true;
          ++area_pairs;
          if (diff > 0) ++areas_up;
          Sums& s = per_area[area];
          s.base += static_cast<double>(b->second);
          s.latest += static_cast<double>(score);
          ++s.n;
        }
        if (worker) {
          in_worker = true;
          worker_delta += d;
        } else {
          in_cohort = true;
          delta += d;
        }
      }
      if (in_cohort) {
        ++cohort;
        if (delta >= 1) ++improved;
        if (up2 && !down2) ++strict;
      }
      if (in_worker) {
        ++worker_cohort;
        if (worker_delta >= 1) ++worker_improved;
      }
    }
    for (const auto& [area, s] : per_area)
      distance.push_back({area, s.n, round2(s.base / static_cast<double>(s.n)), round2(s.latest / static_cast<double>(s.n)),
                          round2((s.latest - s.base) / static_cast<double>(s.n))});
    k.measures.push_back(rate("improved", "cohort episodes whose score rose by 1 or more (collaborative readings)", improved, cohort, "episodes"));
    k.measures.push_back(rate("improved_strict", "stricter: an area up by 2 or more and none down by 2 or more", strict, cohort, "episodes"));
    k.measures.push_back(rate("coverage", "closed episodes with a baseline and a later reading", cohort, closed, "episodes"));
    k.measures.push_back(rate("areas_improved", "areas improved, over every area read twice", areas_up, area_pairs, "areas"));
    k.measures.push_back(rate("worker_only_improved", "the same, readings WORKER_ONLY (reported apart)", worker_improved, worker_cohort, "episodes"));
    k.measures.push_back(rate("k10b_plan_outcomes", "K-10b: closed episodes with outcomes all or some achieved", outcome_achieved, outcome_known, "episodes"));
    k.notes.push_back("Cohort: episodes CLOSED in the period (closed_at) with, for some subject and tool, two or more readings "
                      "up to closure, the first BASELINE. Delta = sum(latest) - sum(baseline) over areas in both, summed over "
                      "the episode's series; improved when delta >= 1. A series with a WORKER_ONLY reading counts apart.");
    return k;
  }

  // K-11 step-ups to children's social care.
  KpiResult k11() {
    KpiResult k{"K-11", "Step-ups to children's social care", {}, {}, {}};
    std::set<std::string> children;
    int64_t requests = 0, planned = 0, unplanned = 0, decided = 0, accepted = 0;
    Tally t;
    for (const auto& s : in_.step_ups) {
      if (!in_period_ms(s.submitted_ms) || s.status == "DRAFT" || excluded(s.episode)) continue;
      ++requests;
      if (s.kind == "PLANNED") ++planned; else ++unplanned;
      for (const auto& c : s.children) {
        children.insert(canon(c));
        add_child(t, c, civil::day_of(*s.submitted_ms), s.family);
      }
      if (const EpisodeRow* e = episode(s.episode)) t.add("level_of_need", e->level, s.id);
      if (s.csc_decision.rfind("ACCEPTED_", 0) == 0) ++accepted;
      if (!s.csc_decision.empty() && s.csc_decision != "WITHDRAWN") ++decided;
    }
    int64_t closed = 0, stepped_up = 0;
    for (const auto& [id, e] : episode_) {
      if (e->status != "CLOSED" || !in_period_day(e->closed_day)) continue;
      ++closed;
      if (e->closure_reason == "STEPPED_UP_TO_CSC") ++stepped_up;
    }
    k.measures.push_back(count("requests", "step-up requests submitted", requests, "requests"));
    k.measures.push_back(count("children", "distinct children stepped up", static_cast<int64_t>(children.size()), "children"));
    k.measures.push_back(count("planned", "planned step-ups", planned, "requests"));
    k.measures.push_back(count("unplanned", "unplanned (incident) step-ups", unplanned, "requests"));
    k.measures.push_back(rate("step_up_rate", "children stepped up / children supported (K-06)", static_cast<int64_t>(children.size()),
                              children_supported_, "children"));
    k.measures.push_back(rate("conversion", "episodes closed as STEPPED_UP_TO_CSC / all closed", stepped_up, closed, "episodes"));
    k.measures.push_back(rate("csc_accepted", "CSC accepted (ACCEPTED_*) / step-ups with a CSC decision", accepted, decided, "requests"));
    k.breakdowns.push_back(t.out("level_of_need", "requests", values_of("EarlyHelpEpisode", "level_of_need")));
    child_breakdowns(k, t);
    return k;
  }

  // K-12 early help re-referral within 12 months.
  KpiResult k12() {
    KpiResult k{"K-12", "Early help re-referral within 12 months", {}, {}, {}};
    std::unordered_map<std::string, std::vector<std::pair<std::string, int64_t>>> closures;  // child -> (episode, closed day)
    for (const auto& [id, e] : episode_)
      if (e->status == "CLOSED" && e->closed_day)
        for (const auto& c : e->children) closures[canon(c)].emplace_back(e->id, *e->closed_day);
    int64_t units = 0, rereferred = 0;
    for (const auto& [id, e] : episode_) {
      if (!in_period_day(e->start_day)) continue;
      std::set<std::string> seen;
      for (const auto& c0 : e->children) {
        const std::string c = canon(c0);
        if (!seen.insert(c).second) continue;
        ++units;
        const int64_t start = *e->start_day;
        for (const auto& [other, closed] : closures[c])
          if (other != e->id && closed <= start && closed >= start - 365) {
            ++rereferred;
            break;
          }
      }
    }
    k.measures.push_back(rate("rereferral", "children starting an episode who had one closed in the 365 days before", rereferred, units, "children"));
    k.notes.push_back("Child-level: each (episode started in the period, subject child). A reopened episode is the same episode.");
    return k;
  }

  // K-14 step-downs from CSC received.
  KpiResult k14() {
    KpiResult k{"K-14", "Step-downs from CSC received", {}, {}, {}};
    std::unordered_map<std::string, const MeetingRow*> meetings;
    for (const auto& m : in_.meetings) meetings[m.id] = &m;
    int64_t received = 0, handover = 0, consent = 0;
    for (const auto& s : in_.step_downs) {
      if (!in_period_ms(s.received_ms)) continue;
      ++received;
      if (!s.consent.empty()) ++consent;
      auto it = meetings.find(s.handover_meeting);
      if (it == meetings.end() || !it->second->held_ms) continue;
      const int64_t held = civil::day_of(*it->second->held_ms);
      if (held <= working_deadline(civil::day_of(*s.received_ms), 10)) ++handover;
    }
    k.measures.push_back(count("received", "step-downs received", received, "step-downs"));
    k.measures.push_back(rate("handover_10_working_days", "handover meeting held within 10 working days", handover, received, "step-downs"));
    k.measures.push_back(rate("consent_recorded", "with consent recorded", consent, received, "step-downs"));
    return k;
  }

  // K-15 timeliness (a) and (b).
  KpiResult k15() {
    KpiResult k{"K-15", "Timeliness", {}, {}, {}};
    std::unordered_map<std::string, std::vector<int64_t>> taf_days;  // episode -> held days
    for (const auto& m : in_.meetings)
      if (m.held_ms) taf_days[m.episode].push_back(civil::day_of(*m.held_ms));
    int64_t ehas = 0, eha_on_time = 0, taf_on_time = 0;
    for (const auto& a : in_.assessments) {
      if (a.type != "EHA_FAMILY" || !eha_done(a.status) || !in_period_ms(a.completed_ms) || excluded(a.episode)) continue;
      const EpisodeRow* e = episode(a.episode);
      ++ehas;
      const int64_t done = civil::day_of(*a.completed_ms);
      if (e && e->start_day && done <= working_deadline(*e->start_day, 10)) ++eha_on_time;
      const int64_t taf_deadline = working_deadline(done, 15);
      for (int64_t held : taf_days[a.episode])
        if (held >= done && held <= taf_deadline) {
          ++taf_on_time;
          break;
        }
    }
    k.measures.push_back(rate("eha_10_working_days", "(a) EHAs completed within 10 working days of the episode's start", eha_on_time, ehas, "assessments"));
    k.measures.push_back(rate("taf_15_working_days", "(b) EHAs followed by a TAF meeting held within 15 working days", taf_on_time, ehas, "assessments"));
    k.notes.push_back("(c) reviews on time and (d) overdue reviews are not computed: they need each review's due date as it "
                      "stood, and the records keep only the latest next_review_due.");
    return k;
  }

  // K-16 voice of the child recorded.
  KpiResult k16() {
    KpiResult k{"K-16", "Voice of the child recorded", {}, {}, {}};
    std::unordered_map<std::string, std::set<std::string>> voiced;  // assessment -> children with a valid voice
    for (const auto& v : in_.voices)
      if (!v.method.empty() && (v.has_views || !v.not_obtained_reason.empty())) voiced[v.assessment].insert(canon(v.child));
    int64_t ehas = 0, complete = 0;
    for (const auto& a : in_.assessments) {
      if (a.type != "EHA_FAMILY" || !eha_done(a.status) || !in_period_ms(a.completed_ms) || excluded(a.episode)) continue;
      ++ehas;
      const EpisodeRow* e = episode(a.episode);
      if (!e) continue;
      const auto& got = voiced[a.id];
      if (std::all_of(e->children.begin(), e->children.end(), [&](const std::string& c) { return got.count(canon(c)) > 0; }))
        ++complete;
    }
    int64_t reviews = 0, with_voice = 0;
    for (const auto& r : in_.reviews) {
      if (!in_period_day(r.review_day) || excluded(r.episode)) continue;
      ++reviews;
      if (r.child_voice) ++with_voice;
    }
    k.measures.push_back(rate("ehas_every_child_heard", "EHAs with every subject child's voice recorded", complete, ehas, "assessments"));
    k.measures.push_back(rate("reviews_with_voice", "reviews with the child's voice", with_voice, reviews, "reviews"));
    return k;
  }

  // K-20 young carers (the assessments; persons first recorded needs the field's history).
  KpiResult k20() {
    KpiResult k{"K-20", "Young carers", {}, {}, {}};
    std::set<std::string> carers;
    for (const auto& [id, e] : episode_) {
      if (!open_in_period(*e)) continue;
      for (const auto& c : e->children)
        if (const PersonRow* p = person(c); p && p->young_carer) carers.insert(p->id);
    }
    int64_t assessments = 0;
    for (const auto& a : in_.assessments)
      if (a.type == "YOUNG_CARER" && eha_done(a.status) && in_period_ms(a.completed_ms) && !excluded(a.episode)) ++assessments;
    k.measures.push_back(count("assessments", "young-carer assessments completed", assessments, "assessments"));
    k.measures.push_back(count("supported_young_carers", "children supported in the period recorded as young carers",
                               static_cast<int64_t>(carers.size()), "children"));
    k.notes.push_back("'First recorded in the period' is not computed: the record keeps young_carer's value, not when it was first set.");
    return k;
  }

  // K-21 information governance.
  KpiResult k21() {
    KpiResult k{"K-21", "Information governance", {}, {}, {}};
    int64_t overrides = 0, countersigned = 0, break_glass = 0;
    for (const auto& d : in_.sharing_decisions) {
      if (!in_period_ms(d.decided_ms) || d.with_consent == "YES") continue;
      ++overrides;
      if (d.countersigned_ms && *d.countersigned_ms <= config_.add_working_days(*d.decided_ms, 1)) ++countersigned;
    }
    for (const auto& g : in_.break_glass)
      if (in_period_ms(g.granted_ms)) ++break_glass;
    k.measures.push_back(count("overrides", "information shared without consent (with_consent not YES)", overrides, "decisions"));
    k.measures.push_back(rate("countersigned_1_working_day", "of those, countersigned within 1 working day", countersigned, overrides, "decisions"));
    k.measures.push_back(count("break_glass", "break-glass grants", break_glass, "grants"));
    k.notes.push_back("SARs answered within the statutory deadline are not computed: subject access requests are not records here.");
    return k;
  }

  // K-22 Supporting Families (what the episode records hold).
  KpiResult k22() {
    KpiResult k{"K-22", "Supporting Families", {}, {}, {}};
    std::set<std::string> eligible, claimed, verified;
    for (const auto& [id, e] : episode_) {
      if (!open_in_period(*e)) continue;
      if (e->sf_eligible) eligible.insert(e->family);
      if (e->sf_claim_status == "CLAIMED" || e->sf_claim_status == "VERIFIED") claimed.insert(e->family);
      if (e->sf_claim_status == "VERIFIED") verified.insert(e->family);
    }
    k.measures.push_back(count("eligible", "families supported and eligible", static_cast<int64_t>(eligible.size()), "families"));
    k.measures.push_back(count("claimed", "families with outcomes claimed", static_cast<int64_t>(claimed.size()), "families"));
    k.measures.push_back(count("verified", "families with claims verified", static_cast<int64_t>(verified.size()), "families"));
    k.notes.push_back("From EarlyHelpEpisode.sf_eligible and sf_claim_status as they stand now (the office sets the claim "
                      "status); the date of a claim is not recorded, so claims are not tied to the period.");
    return k;
  }

  const KpiInput& in_;
  const TenantConfig& config_;
  Period period_;
  int64_t from_ms_ = 0, to_ms_ = 0;
  int64_t children_supported_ = 0;
  int64_t merged_ = 0;
  std::unordered_map<std::string, const PersonRow*> person_;
  std::unordered_map<std::string, const EpisodeRow*> episode_;
  std::unordered_set<std::string> excluded_;
  std::unordered_map<std::string, const AddressRow*> address_;
  std::unordered_map<std::string, std::vector<const AddressRow*>> addresses_of_;
  std::unordered_map<std::string, std::string> lsoa_;
  std::unordered_map<int64_t, bool> working_;
};

}  // namespace

Result<Period> parse_quarter(const std::string& text) {
  auto bad = [&]() {
    return make_error(ErrorCode::invalid_argument,
                      "period '" + text + "' is not a quarter; use YYYY-Qn (e.g. 2026-Q3), or --from and --to dates");
  };
  if (text.size() != 7 || text[4] != '-' || text[5] != 'Q' || text[6] < '1' || text[6] > '4') return bad();
  for (int i = 0; i < 4; ++i)
    if (text[static_cast<size_t>(i)] < '0' || text[static_cast<size_t>(i)] > '9') return bad();
  const int64_t year = std::stoll(text.substr(0, 4));
  const int64_t q = text[6] - '0';
  Period p;
  p.label = text;
  p.quarter = true;
  p.from_day = civil::days_from_civil(year, 3 * (q - 1) + 1, 1);
  p.to_day = q == 4 ? civil::days_from_civil(year + 1, 1, 1) : civil::days_from_civil(year, 3 * q + 1, 1);
  return p;
}

Result<Period> explicit_period(const std::string& from, const std::string& to) {
  auto f = civil::parse_date(from);
  auto t = civil::parse_date(to);
  if (!f || from.size() != 10) return make_error(ErrorCode::invalid_argument, "--from '" + from + "' is not a date YYYY-MM-DD");
  if (!t || to.size() != 10) return make_error(ErrorCode::invalid_argument, "--to '" + to + "' is not a date YYYY-MM-DD");
  Period p;
  p.from_day = civil::days_from_civil(f->y, f->m, f->d);
  p.to_day = civil::days_from_civil(t->y, t->m, t->d);
  if (p.to_day <= p.from_day)
    return make_error(ErrorCode::invalid_argument, "--to " + to + " must be after --from " + from + " (the period is [from, to))");
  p.label = from + ".." + to;
  return p;
}

Period previous_period(const Period& p) {
  Period out;
  if (p.quarter) {
    civil::Ymd start = civil::civil_from_days(p.from_day);
    int64_t q = (start.m - 1) / 3 + 1, y = start.y;
    if (--q == 0) {
      q = 4;
      --y;
    }
    std::string year = std::to_string(y);
    if (year.size() < 4) year.insert(0, 4 - year.size(), '0');
    auto prev = parse_quarter(year + "-Q" + std::to_string(q));
    if (prev) return prev.value();
    out.quarter = false;  // outside years 0000-9999: fall back to the same length before
  }
  const int64_t len = p.to_day - p.from_day;
  out.from_day = p.from_day - len;
  out.to_day = p.from_day;
  out.label = civil::format_date(out.from_day) + ".." + civil::format_date(out.to_day);
  return out;
}

const std::vector<std::string>& report_record_types() {
  static const std::vector<std::string> types = {
      "Person", "Family", "Address", "Referral", "EarlyHelpEpisode", "Assessment", "ChildVoice", "FamilyPlan",
      "TafMeeting", "Review", "OutcomeMeasurement", "ConsentRecord", "InformationSharingDecision", "StepUpRequest",
      "StepDownReceipt", "BreakGlassGrant", "Practitioner", "Organisation"};
  return types;
}

std::string normalise_postcode(const std::string& postcode) {
  std::string out;
  for (char c : postcode) {
    if (c == ' ' || c == '\t') continue;
    out.push_back(c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c);
  }
  return out;
}

std::string age_band(std::optional<int64_t> dob_day, int64_t event_day, bool unborn) {
  if (unborn) return "0-4";
  if (!dob_day) return "UNKNOWN";
  civil::Ymd b = civil::civil_from_days(*dob_day), e = civil::civil_from_days(event_day);
  int64_t age = e.y - b.y - ((e.m < b.m || (e.m == b.m && e.d < b.d)) ? 1 : 0);
  if (age < 0) return "0-4";
  if (age <= 4) return "0-4";
  if (age <= 6) return "5-6";
  if (age <= 11) return "7-11";
  if (age <= 15) return "12-15";
  if (age <= 19) return "16-19";
  if (age <= 25) return "20-25";
  return "26+";
}

Result<void> KpiInputBuilder::add(const std::string& record_json) {
  json r = json::parse(record_json, nullptr, false);
  if (r.is_discarded() || !r.is_object())
    return make_error(ErrorCode::corrupt, "a record's JSON does not parse (report input)");
  // Read without json::value, which throws on a value of another type: nothing here throws.
  const std::string id = text(r, "id"), type = text(r, "type"), family = text(r, "family");
  if (flag(r, "deleted")) return {};
  auto fit = r.find("fields");
  if (fit == r.end() || !fit->is_object()) return make_error(ErrorCode::corrupt, "record " + id + " has no fields object");
  const json& f = *fit;
  int64_t& bad = input_.unreadable_values;
  if (type == "Person") {
    PersonRow p{id, family, text(f, "person_status"), text(f, "sex"), text(f, "ethnicity"), "", day_of(f, "date_of_birth", bad),
                flag(f, "young_carer"), text(f, "merged_into")};
    if (auto it = f.find("disability"); it != f.end() && it->is_boolean()) p.disability = it->get<bool>() ? "YES" : "NO";
    input_.persons.push_back(std::move(p));
  } else if (type == "Family") {
    input_.families.push_back({id, text(f, "lsoa_code"), text(f, "current_address")});
  } else if (type == "Address") {
    input_.addresses.push_back({id, family, text(f, "postcode"), text(f, "lsoa_code"), text(f, "type"), flag(f, "confidential"),
                                !text(f, "valid_to").empty()});
  } else if (type == "Referral") {
    input_.referrals.push_back({id, family, text(f, "channel"), text(f, "decision"), text(f, "offer_outcome"), text(f, "status"),
                                text(f, "episode"), text(f, "referrer").empty() && text(f, "referrer_details").empty(),
                                ms_of(f, "received_at", bad), ms_of(f, "decided_at", bad), ms_of(f, "referrer_notified_at", bad)});
  } else if (type == "EarlyHelpEpisode") {
    input_.episodes.push_back({id, family, text(f, "level_of_need"), text(f, "allocated_org"), text(f, "closure_reason"),
                               text(f, "status"), text(f, "outcome_at_closure"), text(f, "sf_claim_status"),
                               list(f, "subject_children"), day_of(f, "start_date", bad), day_of(f, "closed_at", bad),
                               flag(f, "sf_eligible")});
  } else if (type == "Assessment") {
    input_.assessments.push_back({id, family, text(f, "episode"), text(f, "assessment_type"), text(f, "author"), text(f, "status"),
                                  text(f, "level_of_need_determined"), list(f, "presenting_needs"), ms_of(f, "completed_at", bad)});
  } else if (type == "ChildVoice") {
    input_.voices.push_back({text(f, "assessment"), text(f, "child"), text(f, "method"), text(f, "not_obtained_reason"),
                             !text(f, "views_wishes_feelings").empty()});
  } else if (type == "FamilyPlan") {
    input_.plans.push_back({id, family, text(f, "episode"), text(f, "status"), ms_of(f, "agreed_at", bad)});
  } else if (type == "TafMeeting") {
    input_.meetings.push_back({id, family, text(f, "episode"), text(f, "meeting_type"), ms_of(f, "held_at", bad)});
  } else if (type == "Review") {
    input_.reviews.push_back({id, family, text(f, "episode"), day_of(f, "review_date", bad), !text(f, "child_voice").empty()});
  } else if (type == "OutcomeMeasurement") {
    MeasurementRow m{id, family, text(f, "episode"), text(f, "subject_kind"), text(f, "person"), text(f, "tool"),
                     text(f, "reading_type"), text(f, "completion_mode"), day_of(f, "completed_on", bad), {}};
    for (const auto& entry : list(f, "scores")) {
      auto eq = entry.find('=');
      const std::string digits = eq == std::string::npos ? "" : entry.substr(eq + 1);
      if (eq == 0 || digits.empty() || digits.size() > 3 ||
          !std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        ++bad;
        continue;
      }
      m.scores.emplace_back(entry.substr(0, eq), std::stoll(digits));
    }
    input_.measurements.push_back(std::move(m));
  } else if (type == "ConsentRecord") {
    input_.consents.push_back({id, family, text(f, "episode"), text(f, "status"), text(f, "withdrawal_scope"), list(f, "purposes"),
                               ms_of(f, "given_at", bad), ms_of(f, "withdrawn_at", bad)});
  } else if (type == "InformationSharingDecision") {
    input_.sharing_decisions.push_back({id, family, text(f, "with_consent"), ms_of(f, "decided_at", bad), ms_of(f, "countersigned_at", bad)});
  } else if (type == "StepUpRequest") {
    input_.step_ups.push_back({id, family, text(f, "episode"), text(f, "kind"), text(f, "csc_decision"), text(f, "status"),
                               list(f, "children"), ms_of(f, "submitted_at", bad)});
  } else if (type == "StepDownReceipt") {
    input_.step_downs.push_back({id, family, text(f, "handover_meeting"), text(f, "consent"), list(f, "children"),
                                 ms_of(f, "received_at", bad)});
  } else if (type == "Practitioner") {
    if (!text(f, "organisation").empty()) input_.organisation_of_practitioner[id] = text(f, "organisation");
  } else if (type == "Organisation") {
    if (!text(f, "org_type").empty()) input_.org_type_of_organisation[id] = text(f, "org_type");
  } else if (type == "BreakGlassGrant") {
    input_.break_glass.push_back({id, family, ms_of(f, "granted_at", bad)});
  }
  return {};
}

std::set<std::string> KpiInputBuilder::authors() const {
  std::set<std::string> out;
  for (const auto& a : input_.assessments)
    if (!a.author.empty()) out.insert(a.author);
  return out;
}

const KpiResult* KpiReport::kpi(const std::string& id) const {
  for (const auto& k : kpis)
    if (k.id == id) return &k;
  return nullptr;
}

const Measure* KpiReport::measure(const std::string& kpi_id, const std::string& key) const {
  const KpiResult* k = kpi(kpi_id);
  if (!k) return nullptr;
  for (const auto& m : k->measures)
    if (m.key == key) return &m;
  return nullptr;
}

KpiReport compute_report(const KpiInput& input, const Period& period, const TenantConfig& config, const ReportOptions& options) {
  Calculator calc(input, config);
  KpiReport report = calc.run(period);
  // Trends: the headline counts of this period and the ones before it, oldest first.
  struct Headline { const char* kpi; const char* measure; const char* label; };
  static const Headline kHeadlines[] = {{"K-01", "assessments", "EHAs completed"},
                                        {"K-06", "families", "families supported"},
                                        {"K-06", "new_episodes", "episodes started"},
                                        {"K-11", "requests", "step-ups submitted"}};
  std::vector<Period> periods{period};
  for (int i = 1; i < options.trend_periods; ++i) periods.insert(periods.begin(), previous_period(periods.front()));
  std::vector<KpiReport> earlier;
  for (size_t i = 0; i + 1 < periods.size(); ++i) earlier.push_back(calc.run(periods[i]));
  for (const auto& h : kHeadlines) {
    Trend t{h.kpi, h.measure, h.label, {}};
    for (size_t i = 0; i < periods.size(); ++i) {
      const KpiReport& r = i + 1 < periods.size() ? earlier[i] : report;
      const Measure* m = r.measure(h.kpi, h.measure);
      t.points.emplace_back(periods[i].label, m ? m->n : 0);
    }
    report.trends.push_back(std::move(t));
  }
  return report;
}

}  // namespace hearth::server::report
