#pragma once
// Subject access (DOMAIN.md §10.2, S4): everything the server holds about one person, with the
// redactions the law requires, as one document for the IG officer to check and release.
//
// The pieces are pure (records in, document out) so each rule is tested on its own:
//   due_dates       the statutory deadline: one calendar month from receipt, and the extended
//                   date (two further months), each clamped to the month's end;
//   check_sync      whether every device holding the person's families has synced since the
//                   SAR was logged (a device declared lost or wiped counts as done);
//   build_document  which records go in, which fields are withheld (each with its exemption
//                   code, record and field) and which are flagged for the serious-harm test;
//   to_json/to_html the two renderings (docs/subject-access.md gives the JSON shape).
// read_person_records reads the inputs from the server's current records (storage/records.hpp).
//
// Redaction rules (build_document), in order; a withheld field is never also flagged:
//   1. Records about other people only are left out whole (S2 P3): a record is the subject's
//      when its persons include her, or it is about the whole family (no persons).
//   2. The informant's identity (§5 T2, Golden Rule 5): Referral.referrer and
//      Referral.referrer_details are withheld ("S2 P3 rights of others").
//   3. Child-confidential items (§5 CC, §6.6): a ChildVoice marked child_confidential keeps its
//      views_wishes_feelings from anyone but the child herself (requester SELF); a parent or a
//      representative does not receive it ("CC child-confidential").
//   4. Third parties named by id: any value that is another person's id (a Relationship's other
//      party, persons_present, an Alert's subject, ...) is withheld ("S2 P3 rights of others").
//   5. Third parties named in free text: in Text and String fields, each sentence naming another
//      person of the family (a given name, another name used, or a family name not the
//      subject's) is replaced by a marker ("S2 P3 rights of others"). A pronoun that refers
//      back to someone is not caught: the IG officer reads the document before release.
//   6. Social-work items (§5 SW, Sch 3 Pt 3 para 11): safeguarding concerns and social care's
//      involvement are disclosed but flagged "S3 P3 Para 11 SC harm" for the IG officer's
//      serious-harm decision, never silently withheld (the table in subject_access.cpp).
// Professionals' names and ids (Practitioner references) are never withheld (§10.2).
// Thread-safety: pure functions, except read_person_records (one RecordStore, one thread).
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hearth/core/error.hpp"
#include "hearth/core/schema.hpp"
#include "hearth/core/tenant_config.hpp"
#include "storage/devices.hpp"
#include "storage/records.hpp"

namespace hearth::server::sar {

// JSON that keeps its keys in the order written: a record's fields in schema order, the
// document's keys in the order docs/subject-access.md shows.
using Json = nlohmann::ordered_json;

// Exemption codes as councils publish them (DOMAIN.md §10.2).
inline constexpr const char* kRightsOfOthers = "S2 P3 rights of others";
inline constexpr const char* kSocialCareHarm = "S3 P3 Para 11 SC harm";
inline constexpr const char* kChildConfidential = "CC child-confidential";

enum class Requester { self, parent, representative };
// "SELF", "PARENT", "REPRESENTATIVE"; nullopt for anything else.
std::optional<Requester> parse_requester(const std::string& text);
const char* to_string(Requester r);

struct DueDates {
  std::string due;         // "YYYY-MM-DD": one calendar month after receipt (§10.2)
  std::string extended;    // "YYYY-MM-DD": two further months, if the request is complex
  // The statutory date moved to the next working day when it falls on a weekend or a closed
  // date of the council's calendar (ICO guidance on the time limit); `due` when no calendar.
  std::string respond_by;
};
// From the date of receipt "YYYY-MM-DD": the same day of the next month, or that month's last
// day when it has no such day (31 January -> 28 or 29 February); the extended date is three
// months after receipt, clamped the same way. `calendar`: the tenant's working days and closed
// dates (TenantConfig), for respond_by. ErrorCode::invalid_argument for a bad date.
Result<DueDates> due_dates(const std::string& received, const TenantConfig* calendar = nullptr);
// The date `months` calendar months after `received`, clamped to the month's end.
Result<std::string> add_months(const std::string& date, int months);

// One device that may hold the person's families, and whether it has synced since the SAR
// was logged.
struct DeviceSync {
  enum class State { synced, lost_or_wiped, not_synced };
  std::string device;
  std::string practitioner;
  int64_t last_sync_at = 0;  // server ms of its last complete pull; 0: never
  State state = State::not_synced;
};
const char* to_string(DeviceSync::State s);

struct SyncCheck {
  int64_t logged_at = 0;  // when the SAR was logged, server ms
  std::vector<DeviceSync> devices;  // by device id
  bool complete() const;            // no device NOT_SYNCED
  std::vector<std::string> not_synced() const;
};
// The devices of `practitioners` (the teams of the person's families), judged against
// `logged_at`: synced when their last complete pull (DeviceRecord::last_pull_at, which follows
// the push of the same sync) is at or after it; lost or wiped when revoked or a wipe was
// requested (§10.2 "declared lost/wiped").
SyncCheck check_sync(const std::vector<DeviceRecord>& devices, const std::vector<std::string>& practitioners,
                     int64_t logged_at);

// What build_document reads.
struct PersonRecords {
  // The records about the person and those about her whole families (RecordQuery person +
  // family_wide), not deleted.
  std::vector<StoredRecord> records;
  // Every Person record of those families: the other people's ids and names, used in memory
  // to find them in her records, never written out.
  std::vector<StoredRecord> family_people;
};
// Reads them. ErrorCode::not_found when the store holds no Person record `person`.
Result<PersonRecords> read_person_records(RecordStore& store, const std::string& person);

struct SarRequest {
  std::string person;
  Requester requester = Requester::self;
  std::string received;  // "YYYY-MM-DD"
  std::string by;        // the IG officer's practitioner id, or "admin"
  int64_t now_ms = 0;
  std::optional<TenantConfig> calendar;  // for DueDates::respond_by
};

struct Redaction {
  std::string record;
  std::string type;
  std::string field;   // "*" for a whole record
  std::string code;    // an exemption code above
  std::string reason;  // why, in words (no withheld value)
  int passages = 0;    // sentences replaced (rule 5); 0 when the whole value is withheld
};

struct DisclosedRecord {
  std::string id;
  std::string type;
  std::string family;
  std::string occurred;
  Json fields;                            // after redaction, in schema order
  Json multi;                             // concurrent values, after redaction
  std::vector<std::string> flagged;       // fields flagged for the serious-harm test
};

struct SarDocument {
  SarRequest request;
  DueDates dates;
  SyncCheck sync;
  std::vector<std::string> families;
  std::vector<DisclosedRecord> records;   // by type, then date, then id
  std::vector<Redaction> redactions;      // withheld (rules 1-5)
  std::vector<Redaction> harm_flags;      // disclosed, awaiting the serious-harm decision (rule 6)
};

// Builds the document. ErrorCode::not_found when `in` holds no Person record of the person;
// invalid_argument for a bad received date; corrupt naming a record whose JSON does not parse.
Result<SarDocument> build_document(const Schema& schema, const SarRequest& request, const PersonRecords& in,
                                   const SyncCheck& sync);

// The JSON rendering ("format": "hearth-sar/1"; docs/subject-access.md).
Json to_json(const SarDocument& doc);
// A self-contained HTML document (no scripts, no network: a CSP forbids both), all text escaped.
std::string to_html(const SarDocument& doc);
// Text safe in HTML element content and attribute values.
std::string html_escape(const std::string& text);

// The audit detail of one SAR: who asked, for whom, what was disclosed, withheld and flagged.
std::string audit_detail(const SarDocument& doc);

}  // namespace hearth::server::sar
