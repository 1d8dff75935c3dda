#pragma once
// The SQLite implementations of the narrow storage interfaces. Each holds a reference to the
// one connection SqliteStorage owns; the tables are created in sqlite_storage.cpp.
#include "caseload.hpp"
#include "devices.hpp"
#include "flags.hpp"
#include "storage/sql/connection.hpp"
#include "keys/family_sealer.hpp"
#include "office_credentials.hpp"
#include "op_log.hpp"
#include "outbox.hpp"
#include "records.hpp"
#include "tenant_settings.hpp"
#include "time_index.hpp"

namespace hearth::server::sql {

// The sealed form of an op body: associated data binding it to its family and op id.
std::string op_aad(const std::string& family, const std::string& device, uint64_t counter);

// ... and of a practitioner's display name (under the directory partition's key).
std::string practitioner_aad(const std::string& id);
// ... and of a held op's or a flag's personal columns.
std::string held_aad(const std::string& op_id, const char* column);
std::string flag_aad(const std::string& kind, const std::string& op_id);
// ... and of a current record's JSON (storage/records.hpp).
std::string record_aad(const std::string& family, const std::string& id);

class SqlOpLog final : public OpLog {
 public:
  SqlOpLog(sql::Connection& db, FamilySealer& sealer) : db_(db), sealer_(sealer) {}
  Result<bool> has_op(const std::string& device, uint64_t counter) override;
  Result<bool> family_has_ops(const std::string& family) override;
  Result<std::vector<std::string>> families() override;
  Result<int64_t> append(const StoredOp& op) override;
  Result<std::vector<StoredOp>> ops_after(const std::string& family, int64_t after_seq, size_t max_bytes) override;
  Result<int64_t> highest_seq(const std::string& family) override;
  Result<int64_t> last_seq() override;
  Result<uint64_t> highest_counter(const std::string& device) override;
  Result<uint64_t> next_server_counter() override;
  Result<uint64_t> next_authority_counter() override;
  Result<std::string> history_epoch() override;
  Result<std::string> renew_history_epoch() override;

 private:
  Result<uint64_t> next_counter(const char* name);
  sql::Connection& db_;
  FamilySealer& sealer_;  // personal data at rest (keys/family_sealer.hpp)
};

class SqlCaseload final : public Caseload {
 public:
  SqlCaseload(sql::Connection& db, FamilySealer& sealer) : db_(db), sealer_(sealer) {}
  Result<void> add_organisation(const std::string& id, const std::string& name, const std::string& type) override;
  Result<void> add_practitioner(const std::string& id, const std::string& organisation, const std::string& name,
                                const std::string& role) override;
  Result<bool> practitioner_exists(const std::string& id) override;
  Result<PractitionerProfile> practitioner(const std::string& id) override;
  Result<bool> organisation_exists(const std::string& id) override;
  Result<std::vector<std::string>> practitioners_with_role(const std::string& role,
                                                           const std::string& organisation) override;
  Result<std::string> organisation_of(const std::string& practitioner) override;
  Result<std::string> organisation_type(const std::string& organisation) override;
  Result<std::vector<std::string>> reconcile_team(const std::string& family, const std::vector<RecordedMember>& recorded,
                                                  int64_t at) override;
  Result<void> allocate(const std::string& family, const std::string& practitioner, bool lead, int64_t at) override;
  Result<void> deallocate(const std::string& family, const std::string& practitioner, int64_t at) override;
  Result<std::vector<std::string>> families_of(const std::string& practitioner) override;
  Result<std::vector<std::string>> team_of(const std::string& family) override;
  Result<std::optional<Membership>> membership(const std::string& family, const std::string& practitioner) override;
  Result<bool> family_allocated(const std::string& family) override;
  Result<int64_t> feed_version(const std::string& practitioner) override;
  Result<void> bump_feed(const std::string& practitioner) override;

 private:
  sql::Connection& db_;
  FamilySealer& sealer_;  // personal data at rest (keys/family_sealer.hpp)
};

class SqlDevices final : public Devices {
 public:
  explicit SqlDevices(sql::Connection& db) : db_(db) {}
  Result<void> add_enrol_code(const std::string& code_hash, const std::string& practitioner, int64_t expires_at) override;
  Result<std::optional<std::string>> spend_enrol_code(const std::string& code_hash, int64_t now) override;
  Result<void> add_device(const std::string& id, const std::string& practitioner, const std::string& token_hash,
                          int64_t now, int64_t expires_at) override;
  Result<std::optional<DeviceRecord>> device_by_token(const std::string& token_hash) override;
  Result<std::vector<DeviceRecord>> devices() override;
  Result<bool> revoke_device(const std::string& id) override;
  Result<void> touch_device(const std::string& id, int64_t now) override;
  Result<void> record_pull(const std::string& id, int64_t now) override;
  Result<bool> request_wipe(const std::string& id, int64_t at, bool discard_unsynced) override;
  Result<bool> acknowledge_wipe(const std::string& id, int64_t at, int64_t unsynced_lost,
                                int64_t quarantined_lost) override;
  Result<void> record_lease(const std::string& id, int64_t until) override;
  Result<void> record_views_through(const std::string& id, int64_t seq) override;

 private:
  sql::Connection& db_;
};

class SqlFlagLog final : public FlagLog {
 public:
  SqlFlagLog(sql::Connection& db, FamilySealer& sealer) : db_(db), sealer_(sealer) {}
  Result<bool> add(const Flag& flag) override;
  Result<std::vector<Flag>> list(const std::optional<std::string>& family) override;
  Result<bool> hold(const HeldOp& op) override;
  Result<std::vector<HeldOp>> held(const std::optional<std::string>& family) override;
  Result<std::optional<HeldOp>> held_op(const std::string& op_id) override;
  Result<bool> decide(const std::string& op_id, const HeldDecision& decision) override;
  Result<uint64_t> highest_held_counter(const std::string& device) override;

 private:
  sql::Connection& db_;
  FamilySealer& sealer_;  // personal data at rest (keys/family_sealer.hpp)
};

class SqlRecords final : public RecordStore {
 public:
  SqlRecords(sql::Connection& db, FamilySealer& sealer) : db_(db), sealer_(sealer) {}
  Result<void> put(const StoredRecord& r) override;
  Result<std::optional<StoredRecord>> get(const std::string& id) override;
  Result<void> scan(const RecordQuery& q, const std::function<Result<bool>(const StoredRecord&)>& each) override;
  Result<int64_t> count(const RecordQuery& q) override;
  Result<int64_t> highest_revision() override;
  Result<bool> built() override;
  Result<void> mark_built() override;

 private:
  Result<StoredRecord> read(sql::Statement& row);
  sql::Connection& db_;
  FamilySealer& sealer_;  // personal data at rest (keys/family_sealer.hpp)
};

class SqlOfficeCredentials final : public OfficeCredentials {
 public:
  explicit SqlOfficeCredentials(sql::Connection& db) : db_(db) {}
  Result<bool> issue(const std::string& name, const std::string& token_hash, int64_t now) override;
  Result<std::optional<OfficeCredential>> by_token(const std::string& token_hash) override;
  Result<std::vector<OfficeCredential>> list() override;
  Result<bool> revoke(const std::string& name, int64_t now) override;
  Result<std::optional<InboundMessage>> inbound_message(const std::string& id) override;
  Result<bool> record_inbound(const InboundMessage& m) override;

 private:
  sql::Connection& db_;
};

class SqlTenantSettings final : public TenantSettings {
 public:
  explicit SqlTenantSettings(sql::Connection& db) : db_(db) {}
  Result<TenantConfig> current() override;
  Result<void> set(const std::string& key, const std::string& value, int64_t at, const std::string& by) override;

 private:
  sql::Connection& db_;
};

class SqlTimeIndex final : public TimeIndex {
 public:
  explicit SqlTimeIndex(sql::Connection& db) : db_(db) {}
  Result<void> mark(const std::string& family, int64_t at) override;
  Result<void> set_next(const std::string& family, std::optional<int64_t> at) override;
  Result<void> mark_all(int64_t at) override;
  Result<std::vector<std::string>> due(int64_t now, size_t limit) override;
  Result<std::optional<int64_t>> next_due() override;
  Result<bool> add_grant(const GrantEntry& grant) override;
  Result<std::vector<std::string>> granted_families(const std::string& practitioner) override;
  Result<std::vector<GrantEntry>> grants_of(const std::string& family) override;
  Result<std::vector<std::string>> ended_grant_families(const std::string& practitioner) override;
  Result<bool> end_grant(const std::string& id, int64_t at) override;

 private:
  sql::Connection& db_;
};

// The server's tables in SQLite's dialect (sqlite_storage.cpp; sql/dialect.hpp translates them).
extern const char* kServerSchema;

// The office outbox's tables (storage/outbox.hpp), created with the rest of the schema.
extern const char* kOutboxSchema;
// The sealed form of an outbox item's payload (bound to its idempotency key) and of an office id.
std::string outbox_aad(const std::string& key);
std::string office_ref_aad(const std::string& record);

class SqlOfficeOutbox final : public OfficeOutbox {
 public:
  SqlOfficeOutbox(sql::Connection& db, FamilySealer& sealer) : db_(db), sealer_(sealer) {}
  Result<bool> enqueue(OutboxItem& item) override;
  Result<std::optional<OutboxItem>> get(int64_t seq) override;
  Result<std::optional<OutboxItem>> by_key(const std::string& key) override;
  Result<bool> has_package(const std::string& record) override;
  Result<std::vector<OutboxItem>> after(int64_t after, size_t limit, bool packages) override;
  Result<std::vector<OutboxItem>> unacknowledged_packages(size_t limit) override;
  Result<std::optional<OutboxItem>> next_due(int64_t now) override;
  Result<std::vector<OutboxItem>> undelivered(const std::string& family) override;
  Result<std::vector<OutboxItem>> list(const std::string& state, const std::string& family, size_t limit) override;
  Result<OutboxCounts> counts() override;
  Result<int64_t> last_seq() override;
  Result<void> mark_sent(int64_t seq, int64_t at) override;
  Result<void> mark_failed(int64_t seq, int attempts, int64_t next_at, const std::string& error, bool dead) override;
  Result<void> mark_served(int64_t seq, int64_t at) override;
  Result<bool> mark_acked(int64_t seq, int64_t at) override;
  Result<void> cancel(int64_t seq, const std::string& reason) override;
  Result<int64_t> requeue(std::optional<int64_t> seq) override;
  Result<bool> set_office_ref(const OfficeRef& ref) override;
  Result<std::optional<OfficeRef>> office_ref(const std::string& record) override;
  Result<bool> disclose(const OfficeDisclosure& d) override;
  Result<std::vector<OfficeDisclosure>> disclosures(const std::string& family) override;
  Result<void> set_code(const CodeMapping& m) override;
  Result<bool> remove_code(const std::string& field, const std::string& value) override;
  Result<std::vector<CodeMapping>> codes() override;

 private:
  sql::Connection& db_;
  FamilySealer& sealer_;  // personal data at rest (keys/family_sealer.hpp)
};

}  // namespace hearth::server::sql
