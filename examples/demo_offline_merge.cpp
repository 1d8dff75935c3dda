// Two tablets, one family, no signal (DOMAIN.md §13 S1): a health visitor and a youth worker
// both work on family F offline on the same day, then their tablets exchange
// operations. Prints the merged family, its chronology and the conflicts raised.
//
//   hearth-demo [DIR]     (stores are created in DIR, default: a new temporary folder)
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <random>
#include <string>

#include "hearth/client/store.hpp"
#include "../client/src/sync_port.hpp"  // to exchange ops between two tablets without a server

using namespace hearth;
using hearth::client::Store;
using nlohmann::json;

namespace {

template <typename T>
T must(Result<T> r, const char* what) {
  if (!r) {
    std::cerr << "demo failed at '" << what << "': " << r.error().describe() << "\n";
    std::exit(1);
  }
  return std::move(r.value());
}
void must(Result<void> r, const char* what) {
  if (!r) {
    std::cerr << "demo failed at '" << what << "': " << r.error().describe() << "\n";
    std::exit(1);
  }
}

std::unique_ptr<Store> open(const std::filesystem::path& dir, const std::string& file, const std::string& who) {
  client::StoreOptions o;
  o.practitioner_id = who;
  o.pin = "2468";  // a development PIN: the stores are encrypted at rest like any other
  return must(Store::open((dir / file).string(), std::move(o)), "open store");
}

// Everything one tablet holds for the family reaches the other (what sync will do).
void exchange(Store& from, Store& to, const std::string& fam) {
  auto report = must(sync_port(to).apply_remote(must(sync_port(from).encoded_ops(fam), "read ops")), "exchange");
  std::cout << "  " << report.applied << " operations applied, " << report.duplicates << " already known\n";
}

json fields(const Store& s, const std::string& id) { return json::parse(s.get(id)->json)["fields"]; }

}  // namespace

int main(int argc, char** argv) {
  std::filesystem::path dir;
  if (argc > 1) {
    dir = argv[1];
  } else {
    dir = std::filesystem::temp_directory_path() / ("hearth-demo-" + std::to_string(std::random_device{}()));
  }
  std::filesystem::create_directories(dir);
  auto hv = open(dir, "health-visitor.db", "hv-1");
  auto yw = open(dir, "youth-worker.db", "yw-1");
  std::cout << "Stores in " << dir.string() << "\n\n08:00  Both tablets synced: family, episode (L3), plan, EHA\n";

  std::string fam = must(hv->create_family({{"display_name", "Family F"}, {"phone", "07700 900000"}}), "family");
  std::string mother = must(hv->create(fam, "Person", {{"given_names", "M"}, {"family_name", "F"},
                                                       {"person_status", "LIVING"}, {"date_of_birth", "1994-03-02"}}), "mother");
  std::string baby = must(hv->create(fam, "Person", {{"given_names", "B"}, {"family_name", "F"},
                                                     {"person_status", "LIVING"}, {"date_of_birth", "2026-07-20"}}), "baby");
  std::string son = must(hv->create(fam, "Person", {{"given_names", "Y"}, {"family_name", "F"},
                                                    {"person_status", "LIVING"}, {"date_of_birth", "2012-05-11"}}), "son");
  std::string ep = must(hv->create(fam, "EarlyHelpEpisode",
                                   {{"subject_children", StringList{baby, son}}, {"start_date", "2026-09-01"},
                                    {"start_reason", "PARENTING_FAMILY_DYNAMICS"}, {"level_of_need", "L3"},
                                    {"service_model", "MULTI_AGENCY_TAF"}, {"allocated_org", "org-early-help"},
                                    {"lead_professional", "hv-1"}, {"taf_members", StringList{"yw-1"}}}), "episode");
  std::string eha = must(hv->create(fam, "Assessment",
                                    {{"episode", ep}, {"assessment_type", "EHA_REASSESSMENT"}, {"template_id", "eha"},
                                     {"template_version", "3"}, {"author", "hv-1"}, {"co_authors", StringList{"yw-1"}},
                                     {"started_at", "2026-11-02T09:00:00Z"}, {"reason_for_assessment", "Six-month re-assessment"},
                                     {"significant_harm_indicated", false}}), "assessment");
  std::string section = client::finding_id(eha, "FEF_FAMILY_HISTORY_FUNCTIONING");
  must(hv->create(fam, "AssessmentFinding", {{"assessment", eha}, {"domain", "FEF_FAMILY_HISTORY_FUNCTIONING"}}, section), "section");
  std::string a2 = must(hv->create(fam, "PlanAction",
                                   {{"outcome", "outcome-1"}, {"description", "Y attends SPACE group weekly"},
                                    {"owner_kind", "PRACTITIONER"}, {"owner_practitioner", "yw-1"},
                                    {"due_date", "2026-11-30"}, {"status", "IN_PROGRESS"}}), "action");
  exchange(*hv, *yw, fam);

  std::cout << "\n10:00  Health visitor, offline: home visit, new mobile, alert, EHA text, A2 = NOT_DONE, level L4\n";
  must(hv->create(fam, "Contact", {{"practitioner", "hv-1"}, {"occurred_at", "2026-11-23T10:00:00Z"},
                                   {"contact_type", "HOME_VISIT"}, {"persons_present", StringList{mother, baby}},
                                   {"narrative", "B weighed, feeding well. M disclosed an argument with her ex-partner."},
                                   {"concern_raised", true}}), "visit");
  must(hv->update(fam, "phone", "07700 900001"), "phone");
  must(hv->create(fam, "Alert", {{"subject", fam}, {"type", "DOMESTIC_ABUSE_RISK"}, {"severity", "WARNING"},
                                 {"set_by", "hv-1"}, {"set_at", "2026-11-23T10:40:00Z"}}), "alert");
  must(hv->update(section, "needs_worries", "M describes conflict with ex-partner; contact arrangements tense."), "eha");
  must(hv->update(a2, "status", "NOT_DONE"), "a2");
  must(hv->update(ep, "level_of_need", "L4"), "level");

  std::cout << "15:00  Youth worker, offline: detached youth work with Y, mobile, EHA text, A2 = DONE, level L2\n";
  must(yw->create(fam, "Contact", {{"practitioner", "yw-1"}, {"occurred_at", "2026-11-23T15:00:00Z"},
                                   {"contact_type", "DETACHED_YOUTH_WORK"}, {"persons_present", StringList{son}},
                                   {"children_seen_alone", StringList{son}},
                                   {"narrative", "Met Y at the park; he attended SPACE on Tuesday."},
                                   {"concern_raised", false}}), "youth work");
  must(yw->update(fam, "phone", "07700 900002"), "phone");
  must(yw->update(section, "needs_worries", "Y says home is calmer since the summer."), "eha");
  must(yw->update(a2, "status", "DONE"), "a2");
  must(yw->update(ep, "level_of_need", "L2"), "level");

  std::cout << "\n17:00  Both tablets back in signal; operations exchanged both ways\n";
  exchange(*yw, *hv, fam);
  exchange(*hv, *yw, fam);

  bool same = must(hv->export_family(fam), "export") == must(yw->export_family(fam), "export");
  auto view = must(hv->family(fam), "family view");
  std::cout << "\n== Merged family " << fam << (same ? " (identical on both tablets)" : " (TABLETS DIFFER)") << "\n";
  std::cout << "  phone          " << fields(*hv, fam)["phone"].get<std::string>() << "   (last writer wins; "
            << must(hv->history(fam, "phone"), "history").size() << " values kept in history)\n";
  std::cout << "  level of need  " << fields(*hv, ep)["level_of_need"].get<std::string>() << "   (safety: the protective value)\n";
  std::cout << "  alerts         ";
  for (const auto& e : view.entities)
    if (e.type == "Alert") std::cout << json::parse(e.json)["fields"]["type"].get<std::string>() << " ";
  std::cout << "\n\n  Chronology (by occurred_at):\n";
  for (const auto& c : view.chronology) {
    auto f = json::parse(c.json)["fields"];
    std::cout << "    " << f["occurred_at"].get<std::string>() << "  " << f["contact_type"].get<std::string>() << "  by "
              << f["practitioner"].get<std::string>() << ": " << f["narrative"].get<std::string>() << "\n";
  }
  std::cout << "\n  Open conflicts (" << view.conflicts.size() << "):\n";
  for (const auto& c : view.conflicts) {
    std::cout << "    " << to_string(c.kind) << "  " << c.entity_type << "." << c.field << "  -> "
              << c.assignee_role;
    if (c.auto_applied) std::cout << "  (applied " << c.auto_applied->to_json() << ")";
    std::cout << "\n";
    for (const auto& v : c.values) std::cout << "        " << v.value.to_json() << "  by " << v.author << "\n";
  }
  return same ? 0 : 2;
}
