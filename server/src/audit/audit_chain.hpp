#pragma once
// The server's audit trail (DOMAIN.md §9.1): append-only and tamper-evident.
//
// One chain per family plus one chain ("server") for events outside any family, so no single
// row orders every family (ARCHITECTURE.md principle 1). Where several servers share one
// PostgreSQL database, each serving connection appends the events outside any family to a chain
// of its own ("server:<process>/<worker>", use_own_chain), registered by an event of the
// `server` chain, so requests never queue for one chain's head across servers and verification
// knows every chain (a chain deleted whole is found from its registration). Event number i of chain C carries
//   MAC_i = HMAC-SHA256(chain key, "hearth-audit-event v<format>", C, i, MAC_{i-1}, at, actor,
//                       device, action, family, detail as stored)
// every part length-prefixed (8-byte big-endian length, integers as 8 bytes), MAC_0 = "".
// Format 2: the detail of a family chain's event is sealed under the family's key (FamilySealer,
// aad "hearth-audit-detail|<chain>|<index>") and the MAC covers the sealed bytes, so once the
// family is erased (its key destroyed) the detail is unreadable and the event still verifies.
// Format 1: the plain detail (the server chain, whose details carry no family data; every event
// while encryption at rest is off; every event of earlier releases). Stored per row.
// The chain key is derived from the audit key kept outside the database (audit_key.hpp): who
// can write the database but lacks the key cannot edit, insert or re-chain events unseen.
// Each chain's head (count and last MAC) is kept in audit_chains; signed checkpoints of every
// head are kept in audit_checkpoints AND exported to files outside the database, so a deleted
// tail is found even when the in-database heads and checkpoints were rolled back with it.
// Format and checkpoint ceremony: docs/audit.md.
//
// Tables (in the server's database, written on the caller's connection and transaction):
//   audit_events(chain, idx, at, actor, device, action, family, detail, mac, format)   idx from 1
//   audit_chains(chain, count, head)                                            one row a chain
//   audit_checkpoints(number, at, document)                                     signed JSON
// Thread-safety: confined to the owner of the connection, like sql::Connection.
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <functional>

#include "audit_key.hpp"
#include "hearth/core/error.hpp"
#include "storage/sql/connection.hpp"
#include "keys/family_sealer.hpp"

namespace hearth::server::audit {

struct Event {
  int64_t at = 0;       // server time, milliseconds since the Unix epoch
  std::string actor;    // practitioner id, "admin", "anonymous" or "server"
  std::string device;   // "" when no device is involved
  std::string action;   // enrol, push, pull, denied, allocate, ...
  std::string family;   // "" for events outside any family
  std::string detail;
};

// The chain an event of `family` belongs to: "family:<id>", or "server" when `family` is "".
std::string chain_of(const std::string& family);
// The chain of events outside any family that every server and command shares ("server"), and
// the prefix of the chains of one serving connection each ("server:<name>", use_own_chain).
inline constexpr const char* kServerChain = "server";
inline constexpr const char* kOwnChainPrefix = "server:";
// true for "server" and "server:<name>": the chains that hold the events outside any family.
bool is_server_chain(std::string_view chain);
// true when an event naming `family` may sit in `chain`: its family's chain, or for "" a
// server chain.
bool belongs_in(std::string_view chain, const std::string& family);
// The action of the events that open a server chain of its own: in `server`, the registration
// (detail: the new chain's id alone); as the new chain's event 1, its opening (detail: which
// server event registered it, and which process opened it).
inline constexpr const char* kChainOpenedAction = "audit-chain";
// The PostgreSQL advisory lock (transaction-level) that one checkpoint at a time holds, across
// every server on the database (checkpoint, checkpoint_round). Like the migration lock
// (storage/pg_storage.cpp): a constant no other program uses.
inline constexpr int64_t kCheckpointLock = 0x4845415254480002;  // "HEARTH" 2

// Event formats (stored per row; docs/audit.md).
inline constexpr int64_t kFormatPlainDetail = 1;   // the detail as written, MAC "hearth-audit-event v1"
inline constexpr int64_t kFormatSealedDetail = 2;  // a family's detail sealed, MAC "hearth-audit-event v2"

// The associated data a family event's detail is sealed with: the event's place in its chain,
// so a sealed detail copied to another event does not open.
std::string detail_aad(const std::string& chain, int64_t index);

// What the IG officer asks (hearth-server audit): the events of one family's chain, or one
// practitioner's events across every chain, within a time window. Filters combine (AND).
struct AuditQuery {
  std::string family;          // "" = every chain
  std::string actor;           // "" = every actor
  int64_t from = 0;            // server time, ms since the epoch, inclusive
  int64_t to = INT64_MAX;      // inclusive
};

// One event as listed by a query, its detail opened.
struct ListedEvent {
  enum class Detail {
    open,      // `event.detail` is the plain detail
    erased,    // the family's key is destroyed: the detail cannot be read (the event still verifies)
    tampered,  // the event does not match its MAC, or its sealed detail fails to open
  };
  std::string chain;
  int64_t index = 0;
  int64_t format = kFormatSealedDetail;
  Event event;              // detail: the opened detail when Detail::open, "" otherwise
  Detail detail = Detail::open;
  std::string problem;      // tampered: what is wrong, naming the event
};

struct ChainHead {
  std::string chain;
  int64_t count = 0;  // events in the chain; the last one has index `count`
  std::string head;   // MAC of the last event, hex
};

// The count and head of every chain at one moment, signed with the checkpoint key (Ed25519).
struct Checkpoint {
  int64_t number = 0;             // 1, 2, ... in the order made
  int64_t at = 0;                 // milliseconds since the Unix epoch
  std::vector<ChainHead> chains;  // sorted by chain id
  std::string public_key;         // hex: the key that signed it
  std::string signature;          // hex: Ed25519 over signed_bytes()

  // "hearth-audit-checkpoint v1", number, at, then each chain's id, count and head (raw), all
  // length-prefixed as in the event MAC.
  std::string signed_bytes() const;
  std::string to_json() const;
  // Errors (ErrorCode::corrupt) name what is malformed.
  static Result<Checkpoint> from_json(std::string_view text);
};

// One thing verification found wrong.
struct Finding {
  enum class Kind {
    altered,     // one event's fields no longer match its MAC
    rechained,   // a run of events does not verify under the key: recomputed without it, or altered
    deleted,     // events missing inside a chain (a gap in the index)
    truncated,   // events missing at the end of a chain (found by its head or a checkpoint)
    head,        // a chain's head record does not match its events
    misfiled,    // an event sits in a chain other than its family's
    checkpoint,  // a checkpoint is missing, unsigned, signed by another key, or disagrees
  };
  Kind kind;
  std::string chain;    // "" when the finding is not about one chain
  std::string message;  // what was found, as a sentence naming chain and event numbers
};
const char* to_string(Finding::Kind kind);

// A chain of events outside any family, as verification found it.
struct ServerChain {
  std::string chain;        // "server", or "server:<name>"
  int64_t events = 0;       // events read
  int64_t registered = 0;   // "server:<name>": the `server` event that registered it; 0 if none
};

// What a checkpoint round of a server's timer did (AuditTrail::checkpoint_round).
enum class RoundOutcome {
  made,       // a checkpoint was made: CheckpointRound::made
  unchanged,  // no chain moved since the newest checkpoint
  recent,     // another server made one less than RoundRules::not_within_ms ago
  busy,       // another server is making one right now (PostgreSQL), and the round did not wait
};
const char* to_string(RoundOutcome outcome);
struct RoundRules {
  bool wait = false;          // wait for another server's checkpoint to end (else: busy)
  int64_t not_within_ms = 0;  // skip when the newest checkpoint is younger than this (0: never)
};
struct CheckpointRound {
  RoundOutcome outcome = RoundOutcome::unchanged;
  std::optional<Checkpoint> made;  // when outcome is made: to export
  int64_t newest_at = 0;           // recent: when the newest checkpoint was made
};

struct VerifyReport {
  int64_t chains = 0;             // chains seen (with events, heads or checkpoint entries)
  int64_t events = 0;             // events read
  int64_t checkpoints = 0;        // in-database checkpoints whose signature verified
  int64_t latest_checkpoint = 0;  // number of the newest in-database checkpoint, 0 if none
  std::vector<int64_t> exported;  // numbers of the exported checkpoints checked
  std::vector<ServerChain> server_chains;  // every chain of events outside any family, by chain id
  std::vector<Finding> findings;  // empty when nothing was found wrong
  bool clean() const { return findings.empty(); }
};

class AuditTrail {
 public:
  // Opens the trail on the server's connection, creating its tables. A database of an older
  // version holds an unkeyed trail (table `audit`): its events are brought into the keyed
  // chains in order, followed by an "audit-upgrade" event naming how many were imported and
  // whether their old SHA-256 chain checked out; the old table is kept as audit_legacy_sha256
  // (an empty one is dropped).
  // `sealer` seals the details of family events (not owned; it outlives the trail); nullptr:
  // details are stored as given (PlainSealer). Verification never opens a detail, so
  // verify-audit needs no sealer.
  static Result<std::unique_ptr<AuditTrail>> open(sql::Connection& db, AuditKey key,
                                                  FamilySealer* sealer = nullptr);
  // true when `db` holds keyed events, chain heads or checkpoints (so its key must exist).
  static Result<bool> holds_keyed_trail(sql::Connection& db);

  AuditTrail(sql::Connection& db, AuditKey key, FamilySealer* sealer = nullptr)
      : db_(db), key_(std::move(key)), sealer_(sealer ? sealer : &plain_) {}

  // From now on, events outside any family go to the chain "server:<name>" of this trail's own
  // instead of the shared `server` chain: where several servers (and several connections of
  // each) append at once, none then waits for another's chain head. One transaction appends the
  // registration to `server` (detail: the chain id) and the chain's opening event (detail: the
  // registration's number and `about`, e.g. the process and host). A name used before continues
  // that chain (the head's row lock keeps it sound, only slower). Returns the chain id.
  // `name`: 1 to 100 characters, letters, digits and "-_.:/" (ErrorCode::invalid_argument).
  Result<std::string> use_own_chain(const std::string& name, int64_t at, const std::string& about);
  // The chain events outside any family are appended to: "server" unless use_own_chain.
  const std::string& own_chain() const { return own_chain_; }
  // Appends `e` to its chain: a family event's detail sealed under the family's key (format 2)
  // when the sealer is enabled, else as given (format 1).
  // An event of an erased family (the sealer refuses: ErrorCode::forbidden) is kept with an
  // empty detail rather than lost or written in clear. Joins the caller's transaction when one
  // is open (as a savepoint, so a failure leaves nothing half-written), else runs in its own.
  Result<void> append(const Event& e);
  // The events `q` selects, in chain then index order, each with its detail opened and its
  // MAC checked against the event before it (a listed event that was edited is reported as
  // tampered; a re-chained run is verify-audit's to find). `on_event` may stop the listing
  // with an error. One read transaction.
  Result<void> query(const AuditQuery& q, const std::function<Result<void>(const ListedEvent&)>& on_event);
  // The head of every chain, sorted by chain id.
  Result<std::vector<ChainHead>> heads();
  // Makes, signs and stores the next checkpoint; returns it for export. On PostgreSQL it waits
  // for a checkpoint another server is making (kCheckpointLock), so numbers never collide.
  Result<Checkpoint> checkpoint(int64_t now);
  // A round of a server's checkpoint timer: a checkpoint unless no chain moved since the newest
  // one, or `rules` say another server's is recent or running. On PostgreSQL the lock is taken
  // before anything is read, so of several servers' rounds at one moment one makes a checkpoint
  // and the others skip (busy) or find it (unchanged, recent): never two of the same heads.
  // Outside a transaction.
  Result<CheckpointRound> checkpoint_round(int64_t now, const RoundRules& rules);
  // The newest in-database checkpoint, if any.
  Result<std::optional<Checkpoint>> latest_checkpoint();
  // true when some chain moved since the newest in-database checkpoint (or there is none and
  // some chain has events).
  Result<bool> changed_since_checkpoint();
  // Recomputes every chain and checks heads, in-database checkpoints and `exported` ones.
  // An error means verification could not run (storage); what it found is in the report.
  // Reads one snapshot while servers append (PostgreSQL: a REPEATABLE READ transaction of its
  // own, so call it outside a transaction there).
  Result<VerifyReport> verify(const std::vector<Checkpoint>& exported = {});

 private:
  Result<void> migrate_legacy();
  // Appends `e` to `chain`; returns its index there.
  Result<int64_t> append_to(const std::string& chain, const Event& e);
  // Inside a transaction: waits for (wait) or tries kCheckpointLock; false when another holds
  // it. SQLite: true (one writer at a time already).
  Result<bool> lock_checkpoints(bool wait);
  // Whether a round makes a checkpoint now (made), or why not.
  Result<CheckpointRound> round_due(int64_t now, const RoundRules& rules);
  Result<Checkpoint> make_checkpoint(int64_t now);
  Result<VerifyReport> verify_snapshot(const std::vector<Checkpoint>& exported);

  sql::Connection& db_;
  AuditKey key_;
  PlainSealer plain_;
  FamilySealer* sealer_;
  std::string own_chain_ = kServerChain;
};

// A trail on its own connection to the server's database file: admin commands and the
// checkpoint timer of `serve`. Members are destroyed trail first, then the connection.
struct TrailFile {
  std::unique_ptr<sql::Connection> db;
  std::unique_ptr<AuditTrail> trail;
};
// `sealer`: as AuditTrail::open (nullptr for verification, which opens no detail).
// `db_path`: a SQLite file, or a PostgreSQL URI.
Result<TrailFile> open_trail_file(const std::string& db_path, AuditKey key, FamilySealer* sealer = nullptr);
// true when the database file holds a keyed trail (see AuditTrail::holds_keyed_trail).
Result<bool> file_holds_keyed_trail(const std::string& db_path);

// Exported checkpoints: JSON files, written whole (temporary file, then rename), mode 0644.
Result<void> write_checkpoint_file(const std::filesystem::path& file, const Checkpoint& cp);
Result<Checkpoint> read_checkpoint_file(const std::filesystem::path& file);
// DIR/checkpoint-000042.json for checkpoint 42.
std::filesystem::path checkpoint_file_in(const std::filesystem::path& dir, const Checkpoint& cp);
// The number in an exported checkpoint's file name ("checkpoint-000042.json": 42); nullopt for
// any other name.
std::optional<int64_t> checkpoint_number_of(const std::filesystem::path& file);
// The exported checkpoint with the highest number in `dir`, if any.
std::optional<std::filesystem::path> newest_checkpoint_file(const std::filesystem::path& dir);

}  // namespace hearth::server::audit
