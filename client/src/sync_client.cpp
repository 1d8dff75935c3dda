#include "hearth/client/sync_client.hpp"

#include <nlohmann/json.hpp>

#include <chrono>
#include <thread>

#include "hearth/platform/encoding.hpp"
#include "sync_port.hpp"

namespace hearth::client {

namespace {

using nlohmann::json;

std::string server_message(const HttpReply& r) {
  auto j = json::parse(r.body, nullptr, false);
  if (!j.is_discarded() && j.is_object() && j.contains("error") && j["error"].is_string()) return j["error"];
  return "HTTP " + std::to_string(r.status);
}

// One request with retries for network failures and 5xx answers; 4xx answers are final.
Result<json> call(Transport& t, const std::string& path, const json& body, const std::string& token,
                  const SyncOptions& o) {
  uint64_t wait = o.backoff_ms;
  Error last{ErrorCode::network, "no attempt made"};
  for (int attempt = 1; attempt <= std::max(1, o.max_attempts); ++attempt) {
    if (o.cancel && o.cancel->load()) return make_error(ErrorCode::network, "sync cancelled; it resumes where it stopped");
    auto reply = t.post(path, body.dump(), token);
    if (reply && reply->status == 200) {
      auto j = json::parse(reply->body, nullptr, false);
      if (j.is_discarded() || !j.is_object())
        return make_error(ErrorCode::corrupt, "the server's answer to " + path + " is not JSON");
      return j;
    }
    if (reply) {
      std::string msg = server_message(*reply);
      if (reply->status == 401) return make_error(ErrorCode::locked, "the server refused this device: " + msg);
      if (reply->status == 403) return make_error(ErrorCode::locked, "revoked: " + msg);
      if (reply->status < 500) return make_error(ErrorCode::invalid_argument, path + " refused (" +
                                                                                  std::to_string(reply->status) + "): " + msg);
      last = make_error(ErrorCode::network, path + " failed on the server (" + std::to_string(reply->status) + "): " + msg);
    } else {
      last = reply.error();
    }
    if (attempt < o.max_attempts) {
      std::this_thread::sleep_for(std::chrono::milliseconds(wait));
      wait *= 2;
    }
  }
  return last;
}

Result<std::string> required_secret(const Store& s, const char* name) {
  auto v = sync_port(s).secret(name);
  if (!v) return v.error();
  if (!*v) return make_error(ErrorCode::locked, "this device is not enrolled: run `hearth enrol` with a code from the office");
  return std::move(**v);
}

}  // namespace

Result<void> enrol(Store& store, Transport& transport, const std::string& server_url, const std::string& ca_pem,
                   const std::string& code) {
  SyncOptions once;
  once.max_attempts = 1;
  auto reply = call(transport, "/v1/enrol", json{{"code", code}, {"device_id", store.device_id()}}, "", once);
  if (!reply) return reply.error();
  if (!reply->contains("device_token") || !(*reply)["device_token"].is_string())
    return make_error(ErrorCode::corrupt, "the server's enrolment answer has no credential");
  std::string practitioner = reply->value("practitioner_id", "");
  if (practitioner != store.practitioner_id())
    return make_error(ErrorCode::conflict, "the code was issued for " + practitioner + ", but this store belongs to " +
                                               store.practitioner_id());
  if (auto r = sync_port(store).put_secret("server_url", server_url); !r) return r;
  if (auto r = sync_port(store).put_secret("server_ca", ca_pem); !r) return r;
  return sync_port(store).put_secret("device_token", (*reply)["device_token"].get<std::string>());
}

Result<void> enrol(Store& store, const std::string& server_url, const std::string& ca_pem, const std::string& code) {
  auto t = make_curl_transport(CurlOptions{server_url, ca_pem});
  if (!t) return t.error();
  return enrol(store, **t, server_url, ca_pem, code);
}

Result<std::unique_ptr<Transport>> transport_for(const Store& store) {
  auto url = required_secret(store, "server_url");
  if (!url) return url.error();
  auto ca = required_secret(store, "server_ca");
  if (!ca) return ca.error();
  return make_curl_transport(CurlOptions{*url, *ca});
}

Result<SyncReport> sync(Store& store, Transport& t, const SyncOptions& o) {
  auto token = required_secret(store, "device_token");
  if (!token) return token.error();
  // the device's time is its store's clock: the one that stamped the ops being pushed
  auto now = o.now_ms ? o.now_ms : std::function<int64_t()>([&store] { return sync_port(store).clock_now_ms(); });
  SyncReport report;
  uint64_t up0 = t.bytes_sent(), down0 = t.bytes_received();
  auto progress = [&](const char* phase, size_t done, size_t total) {
    report.bytes_up = t.bytes_sent() - up0;
    report.bytes_down = t.bytes_received() - down0;
    if (o.progress) o.progress(SyncProgress{phase, done, total, report.bytes_up, report.bytes_down});
  };

  // 1. push the outbox, batch by batch
  size_t queued = sync_port(store).unsynced();  // not status(): that counts the whole history
  for (size_t round = 0; round < queued / std::max<size_t>(1, o.push_batch) + 2; ++round) {
    auto batch = sync_port(store).outbox(o.push_batch);
    if (!batch) return batch.error();
    if (batch->empty()) break;
    json ops = json::array();
    std::map<std::string, int64_t> seq_of;
    for (const auto& e : *batch) {
      ops.push_back(platform::base64(e.bytes));
      seq_of[e.id.to_string()] = e.seq;
    }
    auto reply = call(t, "/v1/push", json{{"device_time", now()}, {"clock_floor", sync_port(store).clock_floor_ms()}, {"ops", ops}}, *token, o);
    if (!reply) return reply.error();
    std::vector<int64_t> accepted;
    std::vector<std::pair<int64_t, std::string>> rejected;
    for (const auto& r : reply->value("results", json::array())) {
      auto it = seq_of.find(r.value("op", ""));
      if (it == seq_of.end()) continue;
      std::string status = r.value("status", "");
      if (status == "accepted") ++report.pushed, accepted.push_back(it->second);
      else if (status == "duplicate") ++report.duplicates, accepted.push_back(it->second);
      else ++report.rejected, rejected.emplace_back(it->second, r.value("reason", "rejected"));
    }
    if (accepted.empty() && rejected.empty())
      return make_error(ErrorCode::corrupt, "the server answered a push without a result for any op");
    if (auto r = sync_port(store).record_push(accepted, rejected, now()); !r) return r.error();
    report.clock_offset_ms = reply->value("clock_offset_ms", int64_t{0});
    if (report.clock_offset_ms != 0)
      if (auto r = sync_port(store).correct_clock(report.clock_offset_ms); !r) return r.error();
    if (auto server_time = reply->value("server_time", uint64_t{0}); server_time != 0)  // change-log.md, "Clocks"
      if (auto r = sync_port(store).adopt_server_time(server_time); !r) return r.error();
    progress("push", report.pushed + report.duplicates + report.rejected, queued);
  }

  // 2. pull every visible family after its cursor, page by page; when the last feed version
  //    is known, a probe carrying only it settles an unchanged sync in one small request
  if (auto known = sync_port(store).cursors(); known && known->feed_version) {
    auto probe = call(t, "/v1/pull", json{{"probe", true}, {"feed_version", *known->feed_version}}, *token, o);
    if (!probe) return probe.error();
    ++report.pages;
    if (!probe->value("changed", true)) {
      if (auto r = sync_port(store).finish_pull(*known->feed_version, now()); !r) return r.error();
      progress("pull", 0, 0);
      return report;
    }
  }
  for (size_t page = 0; page < 1000000; ++page) {
    auto cursors = sync_port(store).cursors();
    if (!cursors) return cursors.error();
    json body = {{"cursors", cursors->families}, {"max_bytes", o.page_bytes}};
    if (cursors->feed_version) body["feed_version"] = *cursors->feed_version;
    auto reply = call(t, "/v1/pull", body, *token, o);
    if (!reply) return reply.error();
    ++report.pages;
    for (const auto& fam : reply->value("families", json::array())) {
      std::vector<std::string> ops;
      for (const auto& b : fam.value("ops", json::array())) {
        auto bytes = platform::unbase64(b.get<std::string>());
        if (!bytes) return make_error(ErrorCode::corrupt, "the server sent an op that is not base64");
        ops.push_back(std::move(bytes.value()));
      }
      auto applied = sync_port(store).apply_page(fam.value("family", ""), ops, fam.value("cursor", int64_t{0}));
      if (!applied) return applied.error();
      report.pulled += applied->applied;
    }
    for (const auto& family : reply->value("purge", json::array())) {
      // no longer on this practitioner's caseload: erase it, unless it still holds work that is on
      // no server (a conflict: it is kept, and purged at a later sync)
      auto purged = store.purge_family(family.get<std::string>());
      if (!purged && purged.error().code != ErrorCode::conflict) return purged.error();
      if (purged) ++report.families_purged;
    }
    progress("pull", report.pulled, 0);
    if (!reply->value("more", false)) {
      if (auto r = sync_port(store).finish_pull(reply->value("feed_version", int64_t{0}), now()); !r) return r.error();
      return report;
    }
  }
  return make_error(ErrorCode::network, "the pull did not finish within its page limit");
}

}  // namespace hearth::client
