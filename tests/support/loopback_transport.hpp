#pragma once
// An in-process path from a client store to the sync service: a client::Transport whose post()
// calls SyncService::handle directly (no TLS, no sockets, no threads), so protocol behaviour is
// tested fast and deterministically. The body limit of the HTTP adapter is applied the same way
// (413 before the service sees the body), and a test may intercept requests to inject faults
// or observe the answers.
// LoopbackServer is a server with its own SQLite database in a temporary directory.
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include "hearth/client/store.hpp"
#include "hearth/client/sync_client.hpp"
#include "hearth/client/transport.hpp"
#include "../../client/src/sync_port.hpp"  // the sync engine's side of a Store (internal)
#include "storage/storage.hpp"
#include "sync_service.hpp"
#include "usecases/team.hpp"
#include "fake_clock.hpp"
#include "must.hpp"
#include "audit_key.hpp"
#include "temp_dir.hpp"

namespace hearth::test {

class LoopbackTransport final : public client::Transport {
 public:
  explicit LoopbackTransport(server::SyncService& service, size_t max_body_bytes = sync::protocol::Limits{}.request_bytes)
      : service_(service), max_body_bytes_(max_body_bytes) {}

  // Called before each request; an answer (or an error) returned from it is used instead of
  // the service's.
  std::function<std::optional<Result<client::HttpReply>>(const std::string& path, const std::string& body)> intercept;
  // Called with every answer the service gave (not those of `intercept`), e.g. to scan pull
  // bodies for values a practitioner must not receive.
  std::function<void(const std::string& path, const client::HttpReply& reply)> observe;
  // Called with every request body before the service sees it, e.g. to change what a device
  // claims to hold (its cursors or view digests).
  std::function<void(const std::string& path, std::string& body)> rewrite;
  size_t requests = 0;

  // Set: the transport carries framed bodies (docs/protocol.md, "Framed op batches") as the
  // libcurl one does, passing Content-Type and Accept to the service.
  bool frames = false;
  bool carries_frames() const override { return frames; }
  Result<client::HttpReply> post_as(const std::string& path, const std::string& body, const std::string& bearer,
                                    const std::string& content_type, const std::string& accept) override {
    if (!frames) return post(path, body, bearer);
    content_type_ = content_type;
    accept_ = accept;
    auto reply = post(path, body, bearer);
    content_type_.clear();
    accept_.clear();
    return reply;
  }

  Result<client::HttpReply> post(const std::string& path, const std::string& json, const std::string& bearer) override {
    ++requests;
    sent_ += json.size();
    if (intercept)
      if (auto r = intercept(path, json)) return *r;
    if (json.size() > max_body_bytes_)
      return client::HttpReply{413, "{\"error\":\"request body over the limit\",\"code\":\"too_large\"}"};
    server::HttpRequest r;
    r.method = "POST";
    r.path = path;
    r.headers["hearth-protocol"] = std::to_string(sync::protocol::kVersion);
    if (!bearer.empty()) r.headers["authorization"] = "Bearer " + bearer;
    if (!content_type_.empty()) r.headers["content-type"] = content_type_;
    if (!accept_.empty()) r.headers["accept"] = accept_;
    r.body = json;
    if (rewrite) rewrite(path, r.body);
    r.remote = "loopback";
    server::HttpResponse resp = service_.handle(r);
    received_ += resp.body.size();
    client::HttpReply reply{resp.status, std::move(resp.body), resp.content_type};
    if (observe) observe(path, reply);
    return reply;
  }
  uint64_t bytes_sent() const override { return sent_; }
  uint64_t bytes_received() const override { return received_; }

 private:
  server::SyncService& service_;
  size_t max_body_bytes_;
  std::string content_type_;  // of the request post_as is sending ("" from post)
  std::string accept_;
  uint64_t sent_ = 0;
  uint64_t received_ = 0;
};

class LoopbackServer {
 public:
  explicit LoopbackServer(server::ServiceLimits limits = {}) : limits_(limits) { open(); }

  server::Storage& store() { return *store_; }
  server::SyncService& service() { return *service_; }
  std::string db() const { return dir_.file("server.db"); }

  std::string enrol_code(const std::string& practitioner) { return must(service_->issue_enrol_code(practitioner)); }
  // Puts a practitioner on a family's team, as `hearth-server allocate` does.
  // A TeamMember record written by the server as the office; the team index follows it.
  void allocate(const std::string& family, const std::string& practitioner) {
    server::Allocation a{family, practitioner, false, std::nullopt, server::kOfficeAuthor};
    must(service_->with_context([&](server::ServiceContext& ctx) { return server::authority_write(ctx, {server::allocation(a)}); }));
  }
  // Every op the server holds for a family.
  size_t ops_of(const std::string& family) { return must(store_->ops().ops_after(family, 0, SIZE_MAX)).size(); }
  // Flags raised for the lead professional of a family (e.g. work kept in a device's quarantine).
  size_t flags_of(const std::string& family) { return must(store_->flags().list(family)).size(); }

  // Closes the database (as a stopped server would) and opens it again, e.g. after its file
  // was replaced by a copy.
  void close() {
    service_.reset();
    store_.reset();
  }
  void open() {
    store_ = must(server::open_sqlite_storage(db(), hearth::test::audit_key()));
    if (!must(store_->caseload().practitioner_exists("hv-1"))) {
      must(store_->caseload().add_organisation("org-hv", "Health Visiting", "HEALTH_VISITING"));
      must(store_->caseload().add_organisation("org-ys", "Youth Service", "LA_YOUTH_SERVICE"));
      // The default practitioners work for one organisation, the lead agency of the families
      // they make, so consent does not narrow what they see of them (DOMAIN.md §6.2); tests of
      // consent add practitioners of other organisations (org-ys is there for them).
      for (const char* p : {"hv-1", "yw-1", "tm-1"}) must(store_->caseload().add_practitioner(p, "org-hv", p, "PRACTITIONER"));
    }
    service_ = std::make_unique<server::SyncService>(*store_, [] { return wall_now_ms(); }, Schema::v1(), limits_);
  }

 private:
  TempDir dir_;
  server::ServiceLimits limits_;
  std::unique_ptr<server::Storage> store_;
  std::unique_ptr<server::SyncService> service_;
};

// An encrypted tablet store for `practitioner` in `dir`, not yet enrolled (a test KDF cost).
inline std::unique_ptr<client::Store> open_tablet(TempDir& dir, const std::string& practitioner) {
  client::StoreOptions o;
  o.practitioner_id = practitioner;
  o.pin = "2468";
  o.kdf = client::KdfParams{1u << 10, 8, 1};
  return must(client::Store::open(dir.file("tablet.db"), std::move(o)));
}

// A device: an encrypted store enrolled with a LoopbackServer through a LoopbackTransport.
struct LoopbackDevice {
  TempDir dir;
  std::string who;
  std::unique_ptr<client::Store> store;
  std::unique_ptr<LoopbackTransport> transport;

  LoopbackDevice(LoopbackServer& server, std::string practitioner) : who(std::move(practitioner)) {
    store = open_tablet(dir, who);
    connect(server);
    must(client::enrol(*store, *transport, "https://loopback", "", server.enrol_code(who)));
  }
  // A transport to `server` (again, e.g. after the server was reopened).
  void connect(LoopbackServer& server) { transport = std::make_unique<LoopbackTransport>(server.service()); }
  Result<client::SyncReport> try_sync(client::SyncOptions opts = {}) {
    opts.backoff_ms = 1;
    return client::sync(*store, *transport, opts);
  }
  client::SyncReport sync(client::SyncOptions opts = {}) { return must(try_sync(std::move(opts))); }
  std::string family_json(const std::string& f) { return must(store->export_family(f)); }
};

}  // namespace hearth::test
