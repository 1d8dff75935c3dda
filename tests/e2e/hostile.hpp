#pragma once
// The hostile input of issue 7 ("bounded work per request"), shared by the tests that send it
// to hearth-server directly (test_hostile_input.cpp) and through nginx (test_nginx.cpp).
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <string>
#include <vector>

#include "hearth/platform/gzip.hpp"
#include "../support/raw_http.hpp"
#include "../support/sanitized.hpp"

namespace hearth::test::hostile {

// Under AddressSanitizer the allocator keeps freed memory in quarantine, so resident-set
// figures say nothing about the code: memory bounds are asserted in the release pass only.
using hearth::test::kSanitized;

constexpr long kMaxGrowthKb = 64 * 1024;  // what one hostile request may add to the server's peak RSS

const std::string kBearer = "5ecret-bearer-token-4a1f";

// A 10 KB gzip of nested JSON: 8,000,000 bytes of [[[[...]]]] once inflated.
inline std::string nested_json_gzip() { return platform::gzip(std::string(4000000, '[') + std::string(4000000, ']'), 9); }

inline std::string many_headers(int n) {
  std::string h;
  for (int i = 0; i < n; ++i) h += "X-Filler-" + std::to_string(i) + ": " + std::to_string(i) + "\r\n";
  return h;
}

// A pull whose cursors name `n` families ("fam-000000" ...).
inline std::string pull_naming(int n) {
  std::string b = "{\"cursors\":{";
  char id[32];
  for (int i = 0; i < n; ++i) {
    std::snprintf(id, sizeof id, "%s\"fam-%06d\":0", i ? "," : "", i);
    b += id;
  }
  return b + "}}";
}

// Rows in the server's audit tables (every table whose name holds "audit").
inline int64_t audit_rows(const std::string& db) {
  sqlite3* h = nullptr;
  REQUIRE(sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
  sqlite3_busy_timeout(h, 5000);
  std::vector<std::string> tables;
  sqlite3_stmt* st = nullptr;
  REQUIRE(sqlite3_prepare_v2(h, "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE '%audit%'", -1, &st,
                             nullptr) == SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) tables.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(st, 0)));
  sqlite3_finalize(st);
  int64_t n = 0;
  for (const auto& t : tables) {
    REQUIRE(sqlite3_prepare_v2(h, ("SELECT count(*) FROM \"" + t + "\"").c_str(), -1, &st, nullptr) == SQLITE_OK);
    if (sqlite3_step(st) == SQLITE_ROW) n += sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(h);
  return n;
}

// Enrols a device with a fresh code through `port` and returns its bearer token.
inline std::string enrol(uint16_t port, bool tls, const std::string& code, const std::string& device) {
  std::string body = "{\"code\":\"" + code + "\",\"device_id\":\"" + device + "\"}";
  auto r = raw_exchange(port, tls, http_request("POST", "/v1/enrol", body, "Content-Type: application/json\r\n"));
  INFO(r.head << "\n" << r.body);
  REQUIRE(r.status == 200);
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  REQUIRE(j.is_object());
  return j.value("device_token", "");
}

inline std::string bearer(const std::string& token) { return "Authorization: Bearer " + token + "\r\n"; }

}  // namespace hearth::test::hostile
