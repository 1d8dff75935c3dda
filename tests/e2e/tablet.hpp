#pragma once
// A tablet in end-to-end tests: an encrypted store enrolled with a real hearth-server, synced
// through the libcurl transport (directly, or through a fault-injecting proxy).
#include <catch2/catch.hpp>

#include "hearth/client/store.hpp"
#include "hearth/client/sync_client.hpp"
#include "../support/must.hpp"
#include "../support/samples.hpp"
#include "../support/server_process.hpp"

namespace hearth::test {


struct Tablet {
  TempDir dir;
  std::string who;
  std::unique_ptr<client::Store> store;
  std::string server_url;
  std::string ca;

  Tablet(ServerProcess& server, std::string practitioner) : who(std::move(practitioner)) {
    open();
    server_url = server.url();
    ca = server.ca_pem();
    must(client::enrol(*store, server_url, ca, server.enrol_code(who)));
  }
  // (Re)opens the store, optionally on another physical clock (a skewed or an old tablet).
  void open(sync::PhysicalClock clock = {}) {
    store.reset();
    client::StoreOptions o;
    o.practitioner_id = who;
    o.pin = "2468";
    o.kdf = client::KdfParams{1u << 10, 8, 1};
    o.clock = std::move(clock);
    store = must(client::Store::open(dir.file("tablet.db"), std::move(o)));
  }
  std::string path() const { return dir.file("tablet.db"); }
  // A sync through `port` (a proxy) instead of the server's own.
  Result<client::SyncReport> sync_via(uint16_t port, client::SyncOptions opts = {}) {
    std::string url = "https://127.0.0.1:" + std::to_string(port);
    auto t = client::make_curl_transport(client::CurlOptions{url, ca});
    if (!t) return t.error();
    return client::sync(*store, **t, opts);
  }
  Result<client::SyncReport> try_sync(client::SyncOptions opts = {}) {
    auto t = client::transport_for(*store);
    if (!t) return t.error();
    return client::sync(*store, **t, opts);
  }
  client::SyncReport sync(client::SyncOptions opts = {}) { return must(try_sync(std::move(opts))); }
  std::string family_json(const std::string& f) { return must(store->export_family(f)); }
};

}  // namespace hearth::test
