#pragma once
// Random multi-replica scenarios: 3 to 5 replicas edit every merge class offline, exchange
// ops in random orders, with duplicates and partitions, then all ops reach everyone. They
// must end with byte-identical state, identical open conflicts, and every op in every log.
#include <functional>
#include <memory>
#include <random>
#include <set>
#include <string>

#include "../support/peer.hpp"
#include "../support/samples.hpp"

namespace hearth::test {

using PeerFactory = std::function<std::unique_ptr<Peer>(int index, FakeClock clock)>;

struct ScenarioStats {
  size_t edits = 0;
  size_t rejected_edits = 0;
  size_t conflicts_seen = 0;
  size_t resolutions = 0;
};

class Scenario {
 public:
  Scenario(uint32_t seed, PeerFactory make) : rng_(seed) {
    int n = 3 + static_cast<int>(rng_() % 3);
    for (int i = 0; i < n; ++i) {
      // each device's clock is a little off from the others
      clocks_.emplace_back(1767225600000ull + rng_() % 4000);
      peers_.push_back(make(i, clocks_.back()));
    }
  }

  // Returns "" when every property holds, or what broke.
  std::string run(ScenarioStats& stats) {
    if (auto err = seed_family(); !err.empty()) return err;
    int steps = 25 + static_cast<int>(rng_() % 25);
    for (int s = 0; s < steps; ++s) {
      auto r = rng_() % 100;
      if (r < 55) edit(stats);
      else if (r < 85) deliver(pick(), pick(), /*fraction*/ 1 + rng_() % 4);
      else if (r < 95) advance(rng_() % 5000);
      else toggle_partition();
    }
    for (auto& p : peers_)
      if (!p->conflicts(family_).empty()) ++stats.conflicts_seen;
    return converge_all();
  }

 private:
  size_t pick() { return rng_() % peers_.size(); }
  bool chance(uint32_t percent) { return rng_() % 100 < percent; }
  std::string text() { return "note-" + std::to_string(rng_() % 1000); }
  std::string date() { return "2026-0" + std::to_string(1 + rng_() % 9) + "-1" + std::to_string(rng_() % 10); }
  template <typename T>
  const T& one_of(const std::vector<T>& v) { return v[rng_() % v.size()]; }

  void advance(uint64_t ms) {
    for (auto& c : clocks_) c.advance(ms);
  }

  std::string seed_family() {
    Peer& p0 = *peers_[0];
    auto fam = p0.create_family(family_fields());
    if (!fam) return "seed family: " + fam.error().describe();
    family_ = *fam;
    auto add = [&](const char* type, const char* id, FieldValues f) -> std::string {
      auto r = p0.create(family_, type, id, std::move(f));
      return r ? "" : std::string("seed ") + type + ": " + r.error().describe();
    };
    auto referral = referral_fields();
    referral["level_at_triage"] = "L2";
    referral["decision"] = "SIGNPOST_IAG";
    referral["decided_at"] = "2026-01-05T12:00:00Z";
    referral["decided_by"] = "fd-1";
    referral["referrer_notified_at"] = "2026-01-05T13:00:00Z";
    std::string err = add("EarlyHelpEpisode", "ep-1", episode_fields()) + add("PlanAction", "act-1", action_fields()) +
                      add("Referral", "ref-1", referral) + add("ConsentRecord", "cons-1", consent_fields()) +
                      add("AssessmentFinding", "as-1/finding/PC_BASIC_CARE",
                          {{"assessment", "as-1"}, {"domain", "PC_BASIC_CARE"}}) +
                      add("FamilyMembership", "mem-1",
                          {{"person", "p-1"}, {"member_role", "CHILD_OTHER"}, {"lives_in_household", true}}) +
                      add("Address", "addr-1",
                          {{"lines", "1 High St"}, {"postcode", "AB1 2CD"}, {"type", "HOME"}, {"confidential", false}});
    if (!err.empty()) return err;
    for (size_t i = 1; i < peers_.size(); ++i)
      if (chance(80)) peers_[i]->receive(p0.encoded_ops(family_));
    return "";
  }

  void edit(ScenarioStats& stats) {
    Peer& p = *peers_[pick()];
    Result<void> r;
    static const std::vector<std::string> levels = {"L1", "L2", "L3", "L4"};
    static const std::vector<std::string> people = {"hv-1", "yw-1", "tm-1"};
    static const std::vector<std::string> action_status = {"NOT_STARTED", "IN_PROGRESS", "DONE", "NOT_DONE", "CANCELLED"};
    static const std::vector<std::string> consent_status = {"REQUESTED", "ACTIVE", "WITHDRAWN", "REFUSED", "EXPIRED"};
    static const std::vector<std::string> needs = {"PARENTING_SUPPORT", "DOMESTIC_ABUSE", "HOUSING_HOMELESSNESS"};
    static const std::vector<std::string> ref_states = {"TRIAGE", "DECIDED", "LINKED", "CLOSED"};
    static const std::vector<std::string> ep_states = {"ASSESSMENT", "PLANNING", "ACTIVE", "REVIEW", "CLOSING",
                                                       "STEP_UP_PENDING", "PAUSED_CSC_LEAD"};
    switch (rng_() % 16) {
      case 0: r = p.set(family_, "phone", "0770" + std::to_string(rng_() % 10000)); break;
      case 1: r = p.set(family_, "display_name", "Family " + text()); break;
      case 2: r = p.set("ep-1", "level_of_need", one_of(levels)); break;
      case 3: r = p.set("ep-1", "lead_professional", one_of(people)); break;
      case 4:
        r = chance(60) ? p.add("ep-1", "taf_members", one_of(people)) : p.remove("ep-1", "taf_members", one_of(people));
        break;
      case 5: r = chance(50) ? p.set("act-1", "status", one_of(action_status)) : p.set("act-1", "due_date", date()); break;
      case 6: r = p.set("cons-1", "status", one_of(consent_status)); break;
      case 7: r = p.set("as-1/finding/PC_BASIC_CARE", "needs_worries", text()); break;
      case 8: r = chance(50) ? p.transition("ref-1", one_of(ref_states)) : p.transition("ep-1", one_of(ep_states)); break;
      case 9: r = chance(30) ? p.erase("mem-1") : p.set("mem-1", "is_key_contact", chance(50)); break;
      case 10: {
        std::string id = "c-" + std::to_string(next_contact_++) + "-" + std::to_string(rng_() % 100000);
        r = p.create(family_, "Contact", id, contact_fields("2026-01-0" + std::to_string(1 + rng_() % 9) + "T10:00:00Z", text()));
        break;
      }
      case 11:
      case 14:
      case 15: {
        auto cs = p.conflicts(family_);
        if (cs.empty()) return;
        const auto& c = cs[rng_() % cs.size()];
        std::optional<Value> chosen;
        if (c.kind == sync::ConflictKind::Review) chosen = c.values[rng_() % c.values.size()].value;
        else if (c.kind == sync::ConflictKind::Confirm && chance(50)) chosen = c.values[rng_() % c.values.size()].value;
        r = p.resolve(c.id, chosen);
        if (r) ++stats.resolutions;
        break;
      }
      case 12: r = p.set("addr-1", "confidential", chance(50)); break;
      case 13:
        r = chance(50) ? p.add("ref-1", "presenting_needs", one_of(needs)) : p.remove("ref-1", "presenting_needs", one_of(needs));
        break;
    }
    if (r) ++stats.edits;
    else ++stats.rejected_edits;
  }

  void deliver(size_t from, size_t to, uint32_t fraction) {
    if (from == to || blocked_.count({std::min(from, to), std::max(from, to)})) return;
    auto ops = peers_[from]->encoded_ops(family_);
    std::vector<std::string> batch;
    for (const auto& op : ops)
      if (rng_() % fraction == 0) batch.push_back(op);
    for (size_t i = 0; i < batch.size() / 5; ++i) batch.push_back(batch[rng_() % batch.size()]);  // duplicates
    std::shuffle(batch.begin(), batch.end(), rng_);
    peers_[to]->receive(batch);
  }

  void toggle_partition() {
    size_t a = pick(), b = pick();
    if (a == b) return;
    auto key = std::make_pair(std::min(a, b), std::max(a, b));
    if (!blocked_.erase(key)) blocked_.insert(key);
  }

  std::string converge_all() {
    std::set<std::string> all;
    for (auto& p : peers_)
      for (auto& op : p->encoded_ops(family_)) all.insert(op);
    for (auto& p : peers_) {
      std::vector<std::string> batch(all.begin(), all.end());
      std::shuffle(batch.begin(), batch.end(), rng_);
      for (size_t i = 0; i < batch.size() / 10; ++i) batch.push_back(batch[rng_() % batch.size()]);
      p->receive(batch);
    }
    std::string expected = peers_[0]->render(family_);
    auto ids = peers_[0]->op_ids();
    if (ids.size() != all.size())
      return "replica 0 holds " + std::to_string(ids.size()) + " ops, " + std::to_string(all.size()) + " were made";
    for (size_t i = 1; i < peers_.size(); ++i) {
      if (peers_[i]->op_ids() != ids) return "replica " + std::to_string(i) + " holds a different op set";
      std::string got = peers_[i]->render(family_);
      if (got != expected) return "replica " + std::to_string(i) + " diverged:\n" + got + "\nvs replica 0:\n" + expected;
    }
    return "";
  }

  std::mt19937 rng_;
  std::vector<FakeClock> clocks_;
  std::vector<std::unique_ptr<Peer>> peers_;
  std::set<std::pair<size_t, size_t>> blocked_;
  std::string family_;
  int next_contact_ = 0;
};

inline size_t scenarios_from_env(const char* var, size_t fallback) {
  const char* v = std::getenv(var);
  if (!v || !*v) return fallback;
  return static_cast<size_t>(std::stoull(v));
}

}  // namespace hearth::test
