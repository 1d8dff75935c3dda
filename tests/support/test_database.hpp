#pragma once
// The database a server test runs against. By default a SQLite file in the test's folder; when
// HEARTH_TEST_POSTGRES_DIR names a running throwaway cluster (scripts/pg-tmp.sh, started by the
// ctest fixture "postgres: start"), a PostgreSQL database of the test's own, made afresh and
// dropped at the end, so tests running in parallel never meet.
#include <atomic>
#include <cstdlib>
#include <fstream>
#include <random>
#include <stdexcept>
#include <string>

#include "storage/sql/connection.hpp"
#include "temp_dir.hpp"

namespace hearth::test {

// The cluster's URI (database "postgres"), or "" when the tests run on SQLite.
inline std::string postgres_cluster() {
  const char* dir = std::getenv("HEARTH_TEST_POSTGRES_DIR");
  if (!dir || !*dir) return "";
  std::ifstream in(std::string(dir) + "/port");
  std::string port;
  if (!(in >> port)) throw std::runtime_error(std::string("HEARTH_TEST_POSTGRES_DIR: no port file in ") + dir);
  return "postgresql://postgres@127.0.0.1:" + port + "/postgres";
}

inline bool testing_postgres() { return !postgres_cluster().empty(); }

class TestDatabase {
 public:
  // `file`: the SQLite file's name in `dir` when the tests run on SQLite.
  explicit TestDatabase(const TempDir& dir, const std::string& file = "server.db") {
    const std::string cluster = postgres_cluster();
    if (cluster.empty()) {
      location_ = dir.file(file);
      return;
    }
    static std::atomic<int> made{0};
    std::random_device rd;
    name_ = "hearth_t" + std::to_string(rd()) + "_" + std::to_string(++made);
    admin(cluster, "CREATE DATABASE " + name_);
    location_ = cluster.substr(0, cluster.rfind('/') + 1) + name_;
  }
  ~TestDatabase() {
    if (name_.empty()) return;
    try {
      admin(postgres_cluster(), "DROP DATABASE IF EXISTS " + name_ + " WITH (FORCE)");
    } catch (...) {  // the cluster goes at the end of the run anyway
    }
  }
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  // What open_storage takes: the SQLite path or the PostgreSQL URI.
  const std::string& location() const { return location_; }
  bool postgres() const { return !name_.empty(); }

 private:
  static void admin(const std::string& cluster, const std::string& statement) {
    auto conn = server::sql::open_postgres(cluster);
    if (!conn) throw std::runtime_error(conn.error().message);
    if (auto r = (*conn)->exec(statement); !r) throw std::runtime_error(statement + ": " + r.error().message);
  }

  std::string location_;
  std::string name_;  // the PostgreSQL database's name, or "" on SQLite
};

}  // namespace hearth::test
