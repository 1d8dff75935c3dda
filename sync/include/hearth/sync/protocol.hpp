#pragma once
// The /v1 sync protocol (docs/protocol.md) as types, and the one codec that turns them into
// wire JSON and back. The device's sync engine and hearth-server both use it; no other file
// builds or parses wire JSON.
//
// Decoding is the trust boundary: every decode_* bounds the body size, the JSON nesting depth
// and the number of elements while parsing (before any value is materialised), checks every
// field's type and range, and returns ErrorCode::invalid_argument naming the field, or
// ErrorCode::too_large (see core/error.hpp) when a limit is passed. It never throws. Op bytes
// travel as strict base64 (sync/src/base64.hpp: sync/ depends on core/ only, so it does not
// use platform's). Encoding never throws either: text that is not UTF-8 is sent with U+FFFD.
// Thread-safety: pure functions over value types.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::sync::protocol {

constexpr int kVersion = 1;                      // sent as the Hearth-Protocol header
constexpr const char* kVersionHeader = "hearth-protocol";

// Every limit is in bytes (or a count where bytes make no sense). The server advertises the
// ones a device must respect (push_bytes, op_bytes) in its enrol and push answers, so a device
// never sizes a batch by a different rule than the server judges it by.
struct Limits {
  size_t request_bytes = 8u << 20;  // any request body after decompression; larger: too_large
  size_t enrol_bytes = 4u << 10;    // an enrolment body (unauthenticated: kept small)
  size_t push_bytes = 4u << 20;     // a push body; a device's batches stay below it
  size_t op_bytes = 512u << 10;     // one encoded op; field caps (core schema) sit well below
  size_t page_bytes = 1u << 20;     // the largest pull page the server sends
  size_t json_depth = 8;            // nesting of arrays and objects in any body
  size_t json_elements = 200000;    // values in any body
  size_t cursors = 100000;          // families named in one pull (cursors, views); the caseload bounds it too
  size_t withheld = 100000;         // entries of one family page's `withheld` list
};

// Codes a caller must act on, carried as {"error": message, "code": "<code>"}. The HTTP status
// for each is http_status(code); docs/protocol.md lists both.
enum class WireError {
  bad_request,    // 400: malformed body or field
  version,        // 400: the app and the server speak different protocol versions
  unauthorised,   // 401: no credential or an unknown one
  expired,        // 401: the device's credential expired; enrol again with a new code
  bad_code,       // 401: the enrolment code is unknown, already used or expired
  revoked,        // 403: the device was revoked; it must wipe its store
  forbidden,      // 403: the caller may not do this
  not_found,      // 404: no such endpoint
  method,         // 405: the method is not allowed on this path
  conflict,       // 409: e.g. the device is enrolled for another practitioner
  too_large,      // 413: the body (or one op) is over the limit; split the batch
  clock,          // 400: the device's clock is outside what the server accepts
  server,         // 500: the server failed; retry later
  unavailable,    // 503: the server is not ready; retry later
};
const char* to_string(WireError code);
std::optional<WireError> wire_error_from_string(std::string_view text);
int http_status(WireError code);
// What a device does with a wire code: revoked, expired, too_large, clock, forbidden and
// conflict keep their meaning; bad_code (a code unknown, used or expired) is expired: ask for
// a new code; unauthorised (the server does not know the credential) is not_enrolled: enrol
// again; version, bad_request, not_found and method are invalid_argument; server and
// unavailable are network (worth retrying).
ErrorCode to_error_code(WireError code);
// The wire code a server answers for an error value (e.g. too_large -> too_large,
// storage -> server).
WireError wire_error_for(ErrorCode code);

struct ErrorReply {
  WireError code = WireError::server;
  std::string message;
};

// The server's history identity. It changes when the server's history is replaced (a restore
// from backup, or a history found to have gone back); a device that sees a new epoch resets its
// cursors and sends again its own ops (idempotent by op id).
struct HistoryInfo {
  std::string epoch;  // random id, 1..64 [A-Za-z0-9-]
};

// ---- enrol: POST /v1/enrol (no credential) ----
struct EnrolRequest {
  std::string code;
  std::string device_id;
  // The practitioner the device's store belongs to ("" from an older app: not checked). A code
  // issued for someone else is refused before it is spent or the device is enrolled.
  std::string practitioner_id;
};
struct EnrolReply {
  std::string device_token;
  std::string practitioner_id;
  int protocol = kVersion;
  uint64_t server_time_ms = 0;
  HistoryInfo history;
  uint64_t max_push_bytes = 0;  // the server's Limits::push_bytes
  uint64_t max_op_bytes = 0;    // the server's Limits::op_bytes
  // The framing of op batches (kFramesVersion) the server reads in push bodies; 0 (absent, an
  // older server): JSON only. Wire: "frames".
  uint64_t frames = 0;
};

// ---- push: POST /v1/push ----
// Work a device holds in quarantine (refused by the server and kept sealed on the device,
// DOMAIN.md §6.6): reported so the lead professional or a manager sees that it exists. The
// device purges it only after the server acknowledges the report.
struct QuarantineNotice {
  std::string op_id;   // "<device>:<counter>"
  std::string family;
  std::string reason;  // the server's reason for refusing it
};
// A decision taken at the server on one of the device's held ops (OpStatus::held): by the
// person entitled to decide, at the server's administration. Wire: {"op","outcome","by","note","at"}.
struct HeldDecided {
  std::string op_id;    // "<device>:<counter>"
  std::string outcome;  // "applied" (the server wrote the op's edits as its own ops) or "dismissed"
  std::string by;       // who decided (an id)
  std::string note;     // dismissed: why; applied: an optional note
  uint64_t at_ms = 0;   // server time
};
// A read of a T2 or T3 record on the device (DOMAIN.md §5, §9.1 VIEW), logged by the store and
// uploaded with a push; the server writes it into the family's audit chain. Wire: an element of
// "record_views": {"seq", "family", "type", "id", "at"}.
struct RecordView {
  uint64_t seq = 0;     // the device's number for the view, rising; the answer acknowledges up to one
  std::string family;   // at most 128 bytes
  std::string type;     // entity type, at most 128 bytes
  std::string record;   // entity id, at most 128 bytes
  uint64_t at_ms = 0;   // device time of the read
};
// The most views one push carries (the device sends the rest with the next request).
constexpr size_t kMaxRecordViews = 1000;

// The office asked for this device to be wiped (`hearth-server wipe`, N5). Carried by every
// push and pull answer to the device until it acknowledges (POST /v1/wipe/ack). The device
// pushes its outbox first, then wipes its store (keys first), then acknowledges. Unless
// discard_unsynced, it does not wipe while it holds work it could not deliver: it says so and
// tries again at its next sync. Wire: "wipe": {"requested_at", "discard_unsynced"}.
struct WipeOrder {
  uint64_t requested_at_ms = 0;   // server time of the request
  bool discard_unsynced = false;  // wipe even if unsynced work could not be pushed first
};
struct PushRequest {
  uint64_t device_time_ms = 0;
  // The last server time (a push answer's server_time_ms) this device's clock adopted; 0 before
  // its first push. Wire: "clock_floor". The clock guard never moves later a stamp at or above
  // it (ClockGuard::corrected_wall, docs/change-log.md "Clocks").
  uint64_t clock_floor_ms = 0;
  std::vector<std::string> ops;  // encoded ops (binary; base64 on the wire)
  std::string history_epoch;     // the epoch the device last saw ("" if none)
  uint64_t delivered_counter = 0;  // highest own op counter the server has confirmed to this device
  std::vector<QuarantineNotice> quarantined;
  // The device's own ops it holds as held and undecided; the answer says which were decided.
  // Wire: "held_waiting" (omitted when empty).
  std::vector<std::string> held_waiting = {};
  // Views of T2/T3 records the device logged, oldest first (at most kMaxRecordViews), and how
  // many older views its bounded log dropped unsent. Wire: "record_views" and
  // "record_views_dropped" (omitted when empty / 0).
  std::vector<RecordView> record_views = {};
  uint64_t record_views_dropped = 0;
};
// held: the server kept the op but did not apply it, because it goes beyond the rights its
// author held (DOMAIN.md §7; issue 8 part 3). It is preserved for the person who decides
// (OpResult::route_to); the device no longer sends it and shows it as held with the reason.
enum class OpStatus { accepted, duplicate, rejected, held };
const char* to_string(OpStatus status);
struct OpResult {
  std::string op_id;  // "<device>:<counter>", "" when the op could not be decoded
  OpStatus status = OpStatus::rejected;
  std::string reason;  // rejected: why; accepted: a note (e.g. "flagged for the lead professional")
  std::optional<WireError> code;  // rejected: too_large, forbidden, bad_request, ...
  // held: who decides ("" when not named), e.g. the lead professional's practitioner id.
  // Wire: "route_to", at most 64 bytes, no control characters.
  std::string route_to = {};  // a default, so older brace initialisers still compile cleanly
};
struct PushReply {
  std::vector<OpResult> results;
  uint64_t server_time_ms = 0;
  int64_t clock_offset_ms = 0;
  HistoryInfo history;
  uint64_t max_push_bytes = 0;
  uint64_t max_op_bytes = 0;
  uint64_t frames = 0;  // as EnrolReply::frames
  std::vector<std::string> quarantine_acknowledged;  // op ids of reported quarantine notices
  // Decisions on the ops of held_waiting, and on ops of this push found held and decided
  // already. Wire: "held_decided" (omitted when empty).
  std::vector<HeldDecided> held_decided = {};
  // The views of this push the server recorded: every one with seq <= record_views_through
  // (the device forgets them), and the dropped count it recorded. Wire: "record_views_through",
  // "record_views_dropped" (omitted when 0).
  uint64_t record_views_through = 0;
  uint64_t record_views_dropped = 0;
  std::optional<WipeOrder> wipe = {};  // the office asked for a wipe (absent otherwise)
};

// ---- pull: POST /v1/pull ----
struct PullRequest {
  bool probe = false;                  // only compare feed_version
  std::optional<int64_t> feed_version;
  std::map<std::string, int64_t> cursors;  // family -> last server sequence applied
  uint64_t max_bytes = 0;              // 0: the server's page limit
  std::string history_epoch;
  // Evidence against a history that went back, sent with probes too (an unchanged-looking
  // feed version proves nothing after a restore): the highest own op counter the server has
  // confirmed, and the highest cursor the device holds for any family.
  uint64_t delivered_counter = 0;
  int64_t highest_cursor = 0;
  // family -> the view digest (FamilyPage::view) the device last received for it; a family
  // without one is left out. Bounded like cursors (Limits::cursors). When a digest differs
  // from the practitioner's current view of the family, the server lists the family in
  // `purge` and sends its page from cursor 0 under the new view, in the same answer.
  std::map<std::string, std::string> views = {};
};
// The longest view digest (bytes, printable ASCII without spaces).
constexpr size_t kMaxViewBytes = 64;
struct FamilyPage {
  std::string family;
  std::vector<std::string> ops;  // encoded ops (binary; base64 on the wire)
  int64_t cursor = 0;
  // A digest of the practitioner's view of this family ("" from a server that sends none: the
  // device then keeps what it holds). At most kMaxViewBytes.
  std::string view = {};
  // What that view withholds from this practitioner: "<record id>" for a record withheld
  // entirely, "<record id>#<field>" for one field (DOMAIN.md §5). So the device can show
  // "withheld" rather than "empty". At most Limits::withheld entries, each 1..193 bytes
  // without control characters. Replaces the list the device held when `view` is set.
  std::vector<std::string> withheld = {};
};
// The policy the device enforces offline (DOMAIN.md §6.8, S2c), as of the server time of the
// answer that carried it. Periods are counted from issued_at_ms on the device's (corrected)
// clock: after sharing_block_after_ms sharing acts are blocked, after lock_after_ms the
// families are locked, after purge_after_ms their synced records are purged. Each period is
// 1 ms to 366 days, and sharing_block <= lock <= purge.
struct PolicySnapshot {
  uint64_t issued_at_ms = 0;  // server time of this answer, ms since the Unix epoch
  std::string practitioner;   // the practitioner the device is enrolled for
  std::string organisation;   // their organisation ("" when not known)
  std::vector<std::string> system_roles;  // DOMAIN.md §3.2; at most 16, each [A-Za-z0-9._-]{1,64}
  uint64_t sharing_block_after_ms = 24ull * 3600 * 1000;
  uint64_t lock_after_ms = 7ull * 24 * 3600 * 1000;
  uint64_t purge_after_ms = 14ull * 24 * 3600 * 1000;
  // N5: the device's keys may be used offline until issued_at_ms + key_lease_ms; then its store
  // opens only to sync. 1 ms to 366 days; absent from older servers: 14 days. Wire: "key_lease_ms".
  uint64_t key_lease_ms = 14ull * 24 * 3600 * 1000;
};
struct PullReply {
  std::vector<FamilyPage> families;
  // Families the device may no longer hold, or must fetch again under a new view. The device
  // carries these out before it applies `families`.
  std::vector<std::string> purge;
  bool more = false;
  bool changed = true;                 // probe answers
  std::optional<int64_t> feed_version;  // with the last page
  HistoryInfo history;
  std::optional<PolicySnapshot> policy = {};  // absent from older servers
  std::optional<WipeOrder> wipe = {};         // the office asked for a wipe (absent otherwise)
};

// ---- wipe acknowledgement: POST /v1/wipe/ack (device credential) ----
// Sent once the store is wiped, with what went with it that was on no server. The server marks
// the wipe acknowledged, revokes the credential and audits it. Small (Limits::enrol_bytes).
struct WipeAck {
  uint64_t unsynced_lost = 0;     // ops that were in the outbox
  uint64_t quarantined_lost = 0;  // refused ops whose report the server had not acknowledged
};
struct WipeAckReply {
  uint64_t acknowledged_at_ms = 0;  // server time the acknowledgement was recorded
};

// ---- GET /v1/health ----
struct HealthReply {
  std::string status = "ok";
  int protocol = kVersion;
  HistoryInfo history;
};

// ---- emergency access: POST /v1/break-glass (device credential) ----
// A practitioner outside a family's team asks for time-boxed access to it, with a reason code
// (from the server's schema) and the reason in words. The server decides, records the grant
// and audits it; the family arrives at the device's next sync and leaves it at the grant's
// expiry. Small, like an enrolment body (Limits::enrol_bytes).
struct EmergencyAccessRequest {
  std::string family;       // 1..128 bytes, no control characters
  std::string reason_code;  // 1..64 [A-Za-z0-9._-]
  std::string reason;       // 1..2000 bytes of text
};
struct EmergencyAccessReply {
  std::string family;
  std::string grant_id;         // the record the server wrote
  uint64_t expires_at_ms = 0;   // server time the access ends
};

// ---- office endpoints: POST /v1/office/... (server administration over HTTPS, authorised by
// an office credential, never a device's) ----
// The answer to an office action: the ops the server wrote, and what was done in words.
struct OfficeReply {
  std::vector<std::string> ops;  // op ids, "<device>:<counter>"
  std::string message;
};

// ---- the codec ----
std::string encode(const ErrorReply& m);
std::string encode(const EnrolRequest& m);
std::string encode(const EnrolReply& m);
std::string encode(const PushRequest& m);
std::string encode(const PushReply& m);
std::string encode(const PullRequest& m);
std::string encode(const PullReply& m);
std::string encode(const HealthReply& m);
std::string encode(const EmergencyAccessRequest& m);
std::string encode(const EmergencyAccessReply& m);
std::string encode(const OfficeReply& m);
std::string encode(const WipeAck& m);
std::string encode(const WipeAckReply& m);

Result<ErrorReply> decode_error_reply(std::string_view body, const Limits& limits = {});
Result<EnrolRequest> decode_enrol_request(std::string_view body, const Limits& limits = {});
Result<EnrolReply> decode_enrol_reply(std::string_view body, const Limits& limits = {});
Result<PushRequest> decode_push_request(std::string_view body, const Limits& limits = {});
Result<PushReply> decode_push_reply(std::string_view body, const Limits& limits = {});
Result<PullRequest> decode_pull_request(std::string_view body, const Limits& limits = {});
Result<PullReply> decode_pull_reply(std::string_view body, const Limits& limits = {});
Result<HealthReply> decode_health_reply(std::string_view body, const Limits& limits = {});
Result<EmergencyAccessRequest> decode_emergency_access_request(std::string_view body, const Limits& limits = {});
Result<EmergencyAccessReply> decode_emergency_access_reply(std::string_view body, const Limits& limits = {});
Result<WipeAck> decode_wipe_ack(std::string_view body, const Limits& limits = {});
Result<WipeAckReply> decode_wipe_ack_reply(std::string_view body, const Limits& limits = {});

// ---- framed op batches (docs/protocol.md, "Framed op batches") ----
// A push body and a pull answer may travel framed instead of as JSON: the magic "HFR1", a
// 32-bit big-endian length and that many bytes of the message's JSON form with every "ops"
// array empty (the header), then one op section per op list (a push: its ops; a pull answer:
// each family page's, in order), each a 32-bit count and, per op, a 32-bit length and the op's
// bytes. Nothing follows the last section. The op bytes travel as they are, not as base64.
// Negotiated per request: a push body says so by Content-Type (sent only to a server whose
// enrolment or push answer gave `frames` >= 1); a pull answer is framed when the request's
// Accept names kFramesType, and says so by its Content-Type. JSON stays valid everywhere.
constexpr const char* kJsonType = "application/json";
constexpr const char* kFramesType = "application/vnd.hearth.frames";
constexpr uint64_t kFramesVersion = 1;
// The media type of a Content-Type value (parameters, spaces and case ignored) is kFramesType.
bool is_frames_type(std::string_view content_type);
// An Accept header value names kFramesType among its media ranges.
bool accepts_frames(std::string_view accept);
std::string encode_framed(const PushRequest& m);
std::string encode_framed(const PullReply& m);
// As decode_push_request / decode_pull_reply, for framed bodies. The body is bounded as its
// JSON form is (Limits::push_bytes, Limits::request_bytes); every count and length is checked
// against the bytes that remain before it is used, the ops of all sections together are at
// most Limits::json_elements, an op is 1 byte at least, the header's "ops" arrays must be
// empty, and nothing may follow the last section. Errors: invalid_argument naming what is
// malformed, or too_large.
Result<PushRequest> decode_framed_push_request(std::string_view body, const Limits& limits = {});
Result<PullReply> decode_framed_pull_reply(std::string_view body, const Limits& limits = {});

// The size push bodies grow by for one encoded op of `op_bytes` (base64 and quoting), so a
// device can fill a batch up to Limits::push_bytes exactly.
size_t push_entry_bytes(size_t op_bytes);

}  // namespace hearth::sync::protocol
