#pragma once
// The op log: every accepted op, in the order the server received it, queried by family and
// cursor. Sequence numbers and server counters come from the database inside the caller's
// transaction (Storage::transaction), never from a value read earlier in C++.
// Thread-safety: not thread-safe; one Storage per connection, used by one thread at a time.
#include <cstdint>
#include <string>
#include <vector>

#include "hearth/core/error.hpp"

namespace hearth::server {

struct StoredOp {
  int64_t seq = 0;  // server sequence number: increasing across all families, never reused
  std::string family;
  std::string device;
  uint64_t counter = 0;
  std::string body;  // the encoded op (sync/encoding.hpp)
};

class OpLog {
 public:
  virtual ~OpLog() = default;

  virtual Result<bool> has_op(const std::string& device, uint64_t counter) = 0;
  virtual Result<bool> family_has_ops(const std::string& family) = 0;
  // Every family the log holds ops of, by id (the office's task list, usecases/task_list.hpp).
  virtual Result<std::vector<std::string>> families() = 0;
  // Appends `op` (its seq is ignored) and returns the sequence number the database gave it.
  // A second op with the same (device, counter) is ErrorCode::conflict.
  virtual Result<int64_t> append(const StoredOp& op) = 0;
  // Ops of a family after `after_seq`, in sequence order, stopping once `max_bytes` of bodies
  // is reached (at least one op is returned when any exists).
  virtual Result<std::vector<StoredOp>> ops_after(const std::string& family, int64_t after_seq, size_t max_bytes) = 0;
  // The highest sequence number held for the family; 0 when it has no op.
  virtual Result<int64_t> highest_seq(const std::string& family) = 0;
  // The highest sequence number held for any family; 0 when the log is empty.
  virtual Result<int64_t> last_seq() = 0;
  // The highest counter of the device's ops held here; 0 when none.
  virtual Result<uint64_t> highest_counter(const std::string& device) = 0;
  // The next counter for ops the server itself authors (device "server"), taken from the
  // database in the caller's transaction (UPDATE ... RETURNING).
  virtual Result<uint64_t> next_server_counter() = 0;
  // The next counter for the ops the server writes as the office's authority device
  // (usecases/authority_write.hpp, kAuthorityDevice), in the same way.
  virtual Result<uint64_t> next_authority_counter() = 0;

  // The identity of this history (protocol.hpp HistoryInfo): random, made when the database
  // is created, replaced by renew_history_epoch() when the server finds its history went back
  // (a restore). 1..64 characters of [A-Za-z0-9-].
  virtual Result<std::string> history_epoch() = 0;
  virtual Result<std::string> renew_history_epoch() = 0;
};

}  // namespace hearth::server
