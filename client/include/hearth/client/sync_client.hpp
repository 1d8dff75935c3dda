#pragma once
// The sync engine (docs/protocol.md): push the outbox, then pull every visible family after
// its cursor. Safe to interrupt at any point: pushes are idempotent by op id, and a pulled
// page is applied in the same transaction that moves its cursor, so the next sync resumes
// without loss or duplication. Every body goes through the protocol codec
// (hearth/sync/protocol.hpp).
//
// Push batches are sized in bytes below the limits the server advertises (kept sealed in the
// store); an answer `too_large` splits the batch; an op over the per-op limit is kept in the
// device's quarantine (Store::rejected_ops) and never blocks the rest of the queue. A failed
// push never prevents the pull: colleagues' work still arrives, and sync() then returns the
// push's error. A server whose history epoch differs from the one the store holds (a restored
// server) makes the device reset its cursors, queue its own ops again and pull everything.
#include <atomic>
#include <functional>
#include <string>

#include "hearth/client/store.hpp"
#include "hearth/client/transport.hpp"
#include "hearth/sync/protocol.hpp"

namespace hearth::client {

struct SyncProgress {
  const char* phase = "";  // "push" or "pull"
  size_t ops = 0;          // done in this phase so far
  size_t total = 0;        // push: ops queued at the start; pull: unknown (0)
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
};

struct SyncOptions {
  size_t push_batch = 500;     // at most this many ops per push; bytes decide first
  size_t page_bytes = 1u << 20;
  int max_attempts = 4;        // per request, with exponential backoff
  uint64_t backoff_ms = 250;   // first wait; doubles each attempt
  std::function<void(const SyncProgress&)> progress;
  const std::atomic<bool>* cancel = nullptr;
  std::function<int64_t()> now_ms;  // defaults to the store's clock
};

struct SyncReport {
  size_t pushed = 0;
  size_t duplicates = 0;
  size_t rejected = 0;
  size_t pulled = 0;
  size_t pages = 0;
  size_t families_purged = 0;
  uint64_t bytes_up = 0;
  uint64_t bytes_down = 0;
  int64_t clock_offset_ms = 0;
  size_t push_requests = 0;      // push bodies sent (including ones split after too_large)
  size_t quarantined = 0;        // ops kept on the device because the server cannot take them
  size_t history_resets = 0;     // times the server's history epoch changed during this sync
  size_t held = 0;               // own ops the server kept for someone to decide (Store::held)
  size_t held_decided = 0;       // held ops whose decision (applied, dismissed) the server told this sync
  // Purge instructions put off because the family holds unsynced or unacknowledged refused
  // work (Store::purge_family refuses): the family keeps its view and is purged at a later
  // sync, and the page the server sent under its new view is not applied.
  size_t purges_deferred = 0;
};

// Exchanges a one-time code for the device credential and keeps it, with the server address
// and CA, sealed in the store.
Result<void> enrol(Store& store, const std::string& server_url, const std::string& ca_pem, const std::string& code);
Result<void> enrol(Store& store, Transport& transport, const std::string& server_url, const std::string& ca_pem,
                   const std::string& code);

// A transport to the server the store was enrolled with.
Result<std::unique_ptr<Transport>> transport_for(const Store& store);

// One sync. Errors carry the server's meaning (protocol::to_error_code): revoked, expired
// (enrol again with a new code), not_enrolled (no credential, or the server does not know it),
// too_large, clock, network (retry later). When the push failed but the pull succeeded, the
// push's error is returned with a message saying that the pull completed.
//
// Devices that are lost (N5, docs/protocol.md "Remote wipe"), handled here so every app gets
// the same: the store may be wiped by this call, after which every call on it fails and the
// app must open (and enrol) a new one.
// - Revoked by the office: the store is wiped (Store::wipe) and the error is revoked, saying
//   how many operations not yet synced went with it (a revoked device cannot push them).
// - A wipe the office asked for (`hearth-server wipe`): the outbox is pushed first and nothing
//   more is pulled; once nothing on the device is on no server the store is wiped (keys first)
//   and the wipe acknowledged (POST /v1/wipe/ack); the error is revoked, "wiped at the office's
//   request: ...". If the push failed, the store is kept whole and the push's error (e.g.
//   network) says that the wipe waits for the unsynced work and happens at a later sync;
//   unless the office said to discard unsynced work: then it is wiped anyway and the error
//   says how many operations went with it.
// Works past the end of the store's key lease (store.hpp): a sync is what renews it.
Result<SyncReport> sync(Store& store, Transport& transport, const SyncOptions& options = {});

// Asks the server for emergency (break-glass) access to a family outside this practitioner's
// team, with a reason code and the reason in words (POST /v1/break-glass). The family arrives
// at the next sync and leaves the device when the grant expires. Errors carry the server's
// reason: not_found (no such family), conflict (already on its team, or a grant in force),
// invalid_argument (a reason code the server does not define), and those of sync().
Result<sync::protocol::EmergencyAccessReply> request_emergency_access(Store& store, Transport& transport,
                                                                      const std::string& family,
                                                                      const std::string& reason_code,
                                                                      const std::string& reason);

}  // namespace hearth::client
