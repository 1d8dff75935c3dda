#pragma once
// The KPI report (DOMAIN.md §12): records in, report out. A pure module: it reads the server's
// current records (storage/records.hpp, the canonical JSON of core/render.hpp) through
// KpiInputBuilder, which keeps only the fields a KPI reads, and compute_report() turns them into
// the figures of one period under the §12.1 conventions. Nothing here touches storage, the
// clock or the network; rendering (text, CSV, JSON, HTML) is report/render.hpp.
//
// §12.1 conventions as applied here:
// - Periods are half-open [from, to) in UTC days: "2026-Q3" is [2026-07-01, 2026-10-01). A
//   DateTime is in the period when from <= t < to (midnight to midnight UTC); a Date when
//   from <= d < to.
// - Business dates, never sync time: Assessment.completed_at, EarlyHelpEpisode.start_date and
//   closed_at, Referral.received_at/decided_at, StepUpRequest.submitted_at, ...
// - Exclusions for every KPI: deleted records (tombstones); episodes whose closure_reason is
//   OPENED_IN_ERROR_OR_DUPLICATE and every record of such an episode; referrals LINKED to an open
//   one (duplicates); persons merged away (Person.merged_into): a reference to a merged-away
//   person counts as the person it was merged into, so a child counts once.
// - Working days: TenantConfig::is_working_day (working_days and the council's closed_dates).
//   "Within n working days of day D" means on or before the n-th working day after D.
// - Age at the event date, in bands 0-4, 5-6, 7-11, 12-15, 16-19, 20-25 (26+ for adults); an
//   unborn child counts in 0-4 and in a separate "unborn" count.
// - Small numbers are suppressed by the renderers (render.hpp), not here: the report holds
//   exact figures.
// Thread-safety: value types and pure functions.
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"
#include "hearth/core/tenant_config.hpp"

namespace hearth::server::report {

// A reporting period: [from_day, to_day) in days since 1970-01-01 (UTC).
struct Period {
  std::string label;  // "2026-Q3", or "2026-07-01..2026-10-01" for an explicit one
  int64_t from_day = 0;
  int64_t to_day = 0;
  bool quarter = false;
};

// "2026-Q3" (quarters of the calendar year; §12.1 "default quarterly"). Anything else is
// ErrorCode::invalid_argument saying what is accepted.
Result<Period> parse_quarter(const std::string& text);
// An explicit period from two dates "YYYY-MM-DD", `to` excluded; to must be after from.
Result<Period> explicit_period(const std::string& from, const std::string& to);
// The period of the same length just before `p` (the previous quarter for a quarter).
Period previous_period(const Period& p);

// ---- What the report reads of each record (absent values are empty / nullopt) ----

struct PersonRow {
  std::string id, family, status, sex, ethnicity, disability;  // disability: "YES", "NO" or ""
  std::optional<int64_t> dob_day;
  bool young_carer = false;
  std::string merged_into;
};
struct FamilyRow {
  std::string id, lsoa, current_address;
};
struct AddressRow {
  std::string id, family, postcode, lsoa, type;
  bool confidential = false;
  bool ended = false;  // valid_to set
};
struct ReferralRow {
  std::string id, family, channel, decision, offer_outcome, status, episode;
  bool anonymous = false;  // neither referrer nor referrer_details recorded
  std::optional<int64_t> received_ms, decided_ms, notified_ms;
};
struct EpisodeRow {
  std::string id, family, level, team, closure_reason, status, outcome_at_closure, sf_claim_status;
  std::vector<std::string> children;
  std::optional<int64_t> start_day, closed_day;
  bool sf_eligible = false;
};
struct AssessmentRow {
  std::string id, family, episode, type, author, status, level;
  std::vector<std::string> needs;
  std::optional<int64_t> completed_ms;
};
struct VoiceRow {
  std::string assessment, child, method, not_obtained_reason;
  bool has_views = false;
};
struct PlanRow {
  std::string id, family, episode, status;
  std::optional<int64_t> agreed_ms;
};
struct MeetingRow {
  std::string id, family, episode, type;
  std::optional<int64_t> held_ms;
};
struct ReviewRow {
  std::string id, family, episode;
  std::optional<int64_t> review_day;
  bool child_voice = false;
};
struct MeasurementRow {
  std::string id, family, episode, subject_kind, person, tool, reading_type, mode;
  std::optional<int64_t> completed_day;
  std::vector<std::pair<std::string, int64_t>> scores;  // "AREA=score" entries that parse
};
struct ConsentRow {
  std::string id, family, episode, status, withdrawal_scope;
  std::vector<std::string> purposes;
  std::optional<int64_t> given_ms, withdrawn_ms;
};
struct SharingDecisionRow {
  std::string id, family, with_consent;
  std::optional<int64_t> decided_ms, countersigned_ms;
};
struct StepUpRow {
  std::string id, family, episode, kind, csc_decision, status;
  std::vector<std::string> children;
  std::optional<int64_t> submitted_ms;
};
struct StepDownRow {
  std::string id, family, handover_meeting, consent;
  std::vector<std::string> children;
  std::optional<int64_t> received_ms;
};
struct BreakGlassRow {
  std::string id, family;
  std::optional<int64_t> granted_ms;
};

struct KpiInput {
  std::vector<PersonRow> persons;
  std::vector<FamilyRow> families;
  std::vector<AddressRow> addresses;
  std::vector<ReferralRow> referrals;
  std::vector<EpisodeRow> episodes;
  std::vector<AssessmentRow> assessments;
  std::vector<VoiceRow> voices;
  std::vector<PlanRow> plans;
  std::vector<MeetingRow> meetings;
  std::vector<ReviewRow> reviews;
  std::vector<MeasurementRow> measurements;
  std::vector<ConsentRow> consents;
  std::vector<SharingDecisionRow> sharing_decisions;
  std::vector<StepUpRow> step_ups;
  std::vector<StepDownRow> step_downs;
  std::vector<BreakGlassRow> break_glass;
  // The initiating agency of an assessment: the org_type (§3.1) of its author's organisation,
  // by practitioner id (K-02). Filled by the caller from the directory; unknown -> "UNKNOWN".
  std::map<std::string, std::string> agency_of_practitioner;
  // The same from Practitioner and Organisation records, where the server holds them (a
  // fallback for authors the directory does not know): practitioner -> organisation, and
  // organisation -> org_type.
  std::map<std::string, std::string> organisation_of_practitioner;
  std::map<std::string, std::string> org_type_of_organisation;
  // The council's postcode -> LSOA table (§12.1 LSOA breakdown), postcodes normalised by
  // normalise_postcode(). Used when neither the Family nor its Address carries lsoa_code.
  std::map<std::string, std::string> lsoa_of_postcode;
  // Values that could not be read (a score that is not "AREA=number", a date that is not one):
  // counted, named in the report's notes, never fatal.
  int64_t unreadable_values = 0;
};

// The record types the report reads: scan only these (Contacts, the bulk, are not read).
const std::vector<std::string>& report_record_types();

// Reads one record's canonical JSON into `input`. A record of a type the report does not read
// is ignored; JSON that does not parse is ErrorCode::corrupt naming the record.
class KpiInputBuilder {
 public:
  Result<void> add(const std::string& record_json);
  // Distinct authors of assessments, for the caller to resolve their agency.
  std::set<std::string> authors() const;
  KpiInput& input() { return input_; }
  KpiInput take() { return std::move(input_); }

 private:
  KpiInput input_;
};

// "sw1a 1aa" -> "SW1A1AA": upper case, spaces removed.
std::string normalise_postcode(const std::string& postcode);

// ---- The report ----

// One figure. A count is `n`; a rate is num / den; a number (a median, a mean) is `value` over
// `basis` items. Renderers suppress counts 1-4, and rates and numbers built from them.
struct Measure {
  enum class Kind { count, rate, number };
  std::string key;    // stable machine name, e.g. "assessments"
  std::string label;  // what it counts, for people
  Kind kind = Kind::count;
  int64_t n = 0;
  int64_t num = 0, den = 0;
  double value = 0;
  int64_t basis = 0;
  std::string unit;  // "assessments", "children", "families", "episodes", "hours", "points", ...
};

// Counts of distinct units by category of one dimension (level, agency, age band, ...).
struct Breakdown {
  std::string dimension;  // "level_of_need", "agency", "need", "age_band", "sex", "ethnicity",
                          // "disability", "lsoa", "team"
  std::string unit;
  std::vector<std::pair<std::string, int64_t>> cells;  // in a fixed order (the enum's order)
};

struct KpiResult {
  std::string id;     // "K-01"
  std::string title;
  std::vector<Measure> measures;
  std::vector<Breakdown> breakdowns;
  std::vector<std::string> notes;  // how a definition was read, and any part not computed
};

struct NotComputed {
  std::string id, title, needs;
};

// A headline count over the report's period and the ones before it (oldest first).
struct Trend {
  std::string kpi, measure, label;
  std::vector<std::pair<std::string, int64_t>> points;  // period label -> count
};

// K-10 distance travelled per Outcome Star area (collaborative readings of the K-10 cohort).
struct AreaDistance {
  std::string area;
  int64_t series = 0;  // readings pairs holding the area
  double mean_baseline = 0, mean_latest = 0, mean_delta = 0;
};

struct KpiReport {
  Period period;
  std::vector<KpiResult> kpis;
  std::vector<NotComputed> not_computed;
  std::vector<Trend> trends;
  std::vector<AreaDistance> distance;
  int64_t excluded_duplicate_episodes = 0;
  int64_t merged_persons = 0;
  std::vector<std::string> notes;

  const KpiResult* kpi(const std::string& id) const;
  const Measure* measure(const std::string& kpi_id, const std::string& key) const;
};

struct ReportOptions {
  int trend_periods = 5;  // periods in each trend, this one included
};

// Every computed KPI of `period` from `input` under `config`'s working-day calendar.
KpiReport compute_report(const KpiInput& input, const Period& period, const TenantConfig& config,
                         const ReportOptions& options = {});

// The age band (§12.1) of someone born on `dob_day` at `event_day`; "UNKNOWN" without a date.
std::string age_band(std::optional<int64_t> dob_day, int64_t event_day, bool unborn);

}  // namespace hearth::server::report
