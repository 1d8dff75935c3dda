#pragma once
// The office outbox (DOMAIN.md §11.2; ARCHITECTURE.md "Office integration is a transactional
// outbox read two ways"): record-level changes queued for the council's office system in the
// same transaction that accepts the op (usecases/office_outbox.hpp), read by the pull feed
// (/v1/office/feed) and posted by the repeater (usecases/office_repeater.hpp).
//
// One item per (record, kind, revision): the revision is the op log's sequence number of the
// change, so "record:revision" is the item's idempotency key. Its payload (the §11.1 minimum
// set of the record, as JSON) is personal data: sealed under the family's key with the item's
// key as associated data; what stays clear is ids, type, revision, states and times.
//
// Also here, because they are read and written with the items: the office's own ids for
// records (office_ref, from acknowledgements), the disclosure log (what was sent to whom and
// when, §6.5 Golden Rule 7) and the council's code mappings (§11.2, §14.1).
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

struct OutboxItem {
  int64_t seq = 0;          // feed position, given by the database: the pull feed's cursor
  std::string key;          // idempotency key: "<record>:<revision>", packages "stepup-package:<record>:<revision>"
  std::string record;       // the record's id (a package: the StepUpRequest's id)
  std::string kind;         // "record" or "package"
  std::string type;         // the record's type
  std::string family;
  int64_t revision = 0;     // the op log's sequence number of the change
  int priority = 1;         // 0 goes before 1 (step-up packages, §11.1 "Step-up")
  // queued (not pushed yet), sent (the repeater delivered it), dead (the repeater gave up:
  // the dead-letter queue), cancelled (a withdrawal forbids it, §6.6; never delivered).
  std::string state = "queued";
  int attempts = 0;            // failed posts since it was (re)queued
  int64_t next_attempt_at = 0; // the repeater's next try, server ms
  int64_t created_at = 0;
  int64_t sent_at = 0;      // pushed by the repeater (0: not)
  int64_t served_at = 0;    // first read through the pull feed (0: not)
  int64_t acked_at = 0;     // acknowledged by the office through the pull feed (0: not)
  std::string last_error;   // the last failure, or why it was cancelled (no personal data)
  std::string payload;      // the item's JSON (clear in memory only)

  // Neither pushed nor read by the office: a newer revision may replace it, a withdrawal may
  // cancel it.
  bool undelivered() const { return state == "queued" && sent_at == 0 && served_at == 0; }
};

struct OfficeRef {
  std::string record;
  std::string family;
  std::string office_ref;    // the office's own id for the record (clear in memory only)
  int64_t revision = 0;      // the revision acknowledged with it
  int64_t at = 0;
  std::string by;            // the office credential or endpoint that gave it
};

struct OfficeDisclosure {
  int64_t id = 0;
  int64_t at = 0;
  std::string family;
  std::string record;
  std::string type;
  int64_t revision = 0;
  std::string kind;       // record, package
  std::string recipient;  // the office credential's name (pull) or the endpoint's name (push)
  std::string channel;    // "pull" or "push"
  int64_t item = 0;       // the outbox item's seq
};

struct CodeMapping {
  std::string field;   // "Type.field", e.g. "Referral.referral_source_code"
  std::string value;   // Hearth's enum value
  std::string code;    // the office's code
  int64_t set_at = 0;
  std::string set_by;
};

struct OutboxCounts {
  int64_t queued = 0, sent = 0, dead = 0, cancelled = 0, served = 0, acked = 0, waiting_retry = 0;
};

class OfficeOutbox {
 public:
  virtual ~OfficeOutbox() = default;

  // Queues `item` (its seq is filled in). An item with the same record, kind and revision is
  // kept as it is: false, nothing written (idempotent). An undelivered item of the same record
  // and kind at an older revision is replaced (coalescing: the office needs the newest only).
  virtual Result<bool> enqueue(OutboxItem& item) = 0;
  virtual Result<std::optional<OutboxItem>> get(int64_t seq) = 0;
  virtual Result<std::optional<OutboxItem>> by_key(const std::string& key) = 0;
  // Whether a package was ever queued for this StepUpRequest.
  virtual Result<bool> has_package(const std::string& record) = 0;
  // The pull feed: items after `after` in feed order, not cancelled, at most `limit`;
  // `packages` selects kind package (else kind record).
  virtual Result<std::vector<OutboxItem>> after(int64_t after, size_t limit, bool packages) = 0;
  // Packages the office has not acknowledged (not cancelled), in feed order, at most `limit`.
  virtual Result<std::vector<OutboxItem>> unacknowledged_packages(size_t limit) = 0;
  // The repeater's next item: queued and due at `now`, packages first, then feed order.
  virtual Result<std::optional<OutboxItem>> next_due(int64_t now) = 0;
  // The family's undelivered items (for a withdrawal's re-check).
  virtual Result<std::vector<OutboxItem>> undelivered(const std::string& family) = 0;
  // Items by state ("" any) and family ("" any), newest first, at most `limit`.
  virtual Result<std::vector<OutboxItem>> list(const std::string& state, const std::string& family, size_t limit) = 0;
  virtual Result<OutboxCounts> counts() = 0;
  virtual Result<int64_t> last_seq() = 0;

  virtual Result<void> mark_sent(int64_t seq, int64_t at) = 0;
  // A failed post: attempts counted, the next try at `next_at`, or dead when `dead`.
  virtual Result<void> mark_failed(int64_t seq, int attempts, int64_t next_at, const std::string& error, bool dead) = 0;
  // First read through the pull feed (kept when already set).
  virtual Result<void> mark_served(int64_t seq, int64_t at) = 0;
  // Acknowledged by the office; false when it was already.
  virtual Result<bool> mark_acked(int64_t seq, int64_t at) = 0;
  virtual Result<void> cancel(int64_t seq, const std::string& reason) = 0;
  // Dead (or failing) items back to queued with their attempts reset: one (`seq`) or all.
  // Returns how many.
  virtual Result<int64_t> requeue(std::optional<int64_t> seq) = 0;

  // The office's id for a record. False when the same id was already stored for it.
  virtual Result<bool> set_office_ref(const OfficeRef& ref) = 0;
  virtual Result<std::optional<OfficeRef>> office_ref(const std::string& record) = 0;

  // Appends to the disclosure log; false when this item was already disclosed to this
  // recipient by this channel.
  virtual Result<bool> disclose(const OfficeDisclosure& d) = 0;
  virtual Result<std::vector<OfficeDisclosure>> disclosures(const std::string& family) = 0;  // "" every family

  virtual Result<void> set_code(const CodeMapping& m) = 0;
  virtual Result<bool> remove_code(const std::string& field, const std::string& value) = 0;
  virtual Result<std::vector<CodeMapping>> codes() = 0;
};

}  // namespace hearth::server
