#pragma once
// The push side of the office outbox (DOMAIN.md §11.2; docs/office.md): the repeater posts each
// queued item to the office's endpoint, packages first, with the item's idempotency key, and
// retries with exponential backoff; after `max_attempts` failures the item goes to the dead-letter
// queue, where `hearth-server office status` shows it and `office retry` requeues it.
//
// One delivery (deliver_once) is three steps, so the service's lock is never held over the
// network: (1) under the lock, in a transaction, the next due item is taken and checked again
// against the family's consent (office_outbox.hpp office_send_stop: a withdrawal since it was
// queued cancels it, audited); (2) without the lock, the post:
//     POST <url>   Authorization: Bearer <token>   Idempotency-Key: <item key>
//                  Content-Type: application/json   body: the item as the pull feed serves it
// (3) under the lock, in a transaction: a 2xx answer marks it sent, writes the disclosure log
// (recipient: the endpoint's name, channel "push") and audits it ("office-disclosed"); an
// answer {"office_ref": "ID"} stores the office's id for the record. Anything else (another
// status, a network failure, a timeout) counts an attempt: the next one after
// min(max_delay, base_delay * 2^(attempts-1)); the last one makes it dead ("office-dead-letter",
// audited). A crash between (2) and (3) sends the item again with the same key: the office
// keeps one copy per key (exactly once in effect).
// Thread-safety: deliver_once may run on any thread (it takes the service's lock itself); a
// Repeater owns one thread.
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "hearth/server/http_client.hpp"
#include "sync_service.hpp"

namespace hearth::server {

struct RepeaterConfig {
  std::string url;                      // the office's endpoint, https://...
  std::string ca_file;                  // the CA bundle its certificate is checked against ("" the system's)
  std::string token;                    // sent as Authorization: Bearer (optional)
  std::string name = "office-endpoint"; // the recipient in the disclosure log
  int max_attempts = 8;                 // failures before the dead-letter queue
  int64_t base_delay_ms = 2000;         // the first retry's delay; doubled each time
  int64_t max_delay_ms = 600000;        // the longest delay between tries
  int64_t timeout_ms = 10000;           // one post
  int64_t idle_ms = 2000;               // how often to look when nothing is due
};

// "office_endpoint" of the server configuration, as JSON text of an object:
//   {"url", "ca_file"?, "token"?, "name"?, "max_attempts"? (1..100), "retry_base_ms"? (1..3600000),
//    "retry_max_ms"? (1..86400000), "timeout_ms"? (100..600000), "idle_ms"? (10..600000)}
// Errors name the key and what it must be.
Result<RepeaterConfig> repeater_config_from_json(const std::string& object_json);

using OfficePoster = std::function<Result<HttpPostReply>(const HttpPostRequest&)>;

struct Delivery {
  enum class Outcome { idle, sent, failed, dead, cancelled };
  Outcome outcome = Outcome::idle;
  int64_t seq = 0;
  std::string key;
  std::string error;  // failed, dead: why; cancelled: the consent that forbids it
};
const char* to_string(Delivery::Outcome o);

// The delay before try number `attempts + 1` after `attempts` failures (attempts >= 1).
int64_t retry_delay_ms(const RepeaterConfig& config, int attempts);

// One delivery, as above. `post` is http_post in production; tests pass their own.
Result<Delivery> deliver_once(SyncService& service, const RepeaterConfig& config, const OfficePoster& post);

// The repeater's thread: deliver_once until nothing is due, then waits idle_ms (or stop()).
class Repeater {
 public:
  using Log = std::function<void(const Delivery&, const std::string& error)>;
  Repeater(SyncService& service, RepeaterConfig config, OfficePoster post, Log log);
  ~Repeater();
  Repeater(const Repeater&) = delete;
  Repeater& operator=(const Repeater&) = delete;
  void start();
  // Idempotent; returns once the thread has ended (a post in flight finishes or times out first).
  void stop();

 private:
  void run();
  SyncService& service_;
  RepeaterConfig config_;
  OfficePoster post_;
  Log log_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace hearth::server
