// The SQL seam over embedded SQLite: platform::Database behind sql::Connection.
#include "hearth/platform/sqlite_db.hpp"
#include "storage/sql/connection.hpp"

#include <map>

namespace hearth::server::sql {

namespace {

class SqliteStatement final : public StatementImpl {
 public:
  explicit SqliteStatement(platform::Statement st) : st_(std::move(st)) {}
  void bind(int i, std::string_view text) override { st_.bind(i, text); }
  void bind_blob(int i, std::string_view bytes) override { st_.bind_blob(i, bytes); }
  void bind(int i, int64_t v) override { st_.bind(i, v); }
  void bind_null(int i) override { st_.bind_null(i); }
  Result<bool> step() override { return st_.step(); }
  void reset() override { st_.reset(); }
  std::string text(int col) const override { return st_.text(col); }
  std::string blob(int col) const override { return st_.blob(col); }
  int64_t integer(int col) const override { return st_.integer(col); }
  bool is_null(int col) const override { return st_.is_null(col); }

 private:
  platform::Statement st_;
};

class SqliteConnection final : public Connection {
 public:
  explicit SqliteConnection(std::unique_ptr<platform::Database> db, std::string path)
      : db_(std::move(db)), path_(std::move(path)) {}
  ~SqliteConnection() override { cache_.clear(); }  // statements before the connection

  Dialect dialect() const override { return Dialect::sqlite; }
  Result<void> exec(const std::string& sql) override { return db_->exec(sql); }
  Result<Statement> prepare(std::string_view sql) override {
    auto st = db_->prepare(sql);
    if (!st) return st.error();
    return Statement(std::make_unique<SqliteStatement>(std::move(*st)));
  }
  Result<Statement*> cached(const char* sql) override {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      it->second->reset();
      return it->second.get();
    }
    auto st = prepare(sql);
    if (!st) return st.error();
    auto owned = std::make_unique<Statement>(std::move(*st));
    Statement* raw = owned.get();
    cache_.emplace(sql, std::move(owned));
    return raw;
  }
  Result<void> begin() override { return db_->exec("BEGIN IMMEDIATE"); }
  Result<void> commit() override { return db_->exec("COMMIT"); }
  Result<void> rollback() override { return db_->exec("ROLLBACK"); }
  Result<void> lock_family(const std::string&) override { return {}; }
  platform::Database* sqlite() override { return db_.get(); }
  std::string describe() const override { return "SQLite database " + path_; }

 private:
  std::unique_ptr<platform::Database> db_;
  std::string path_;
  std::map<const char*, std::unique_ptr<Statement>> cache_;  // keyed by the literal's address
};

}  // namespace

Result<std::unique_ptr<Connection>> open_sqlite(const std::string& path) {
  auto db = platform::Database::open(path);
  if (!db) return db.error();
  return std::unique_ptr<Connection>(new SqliteConnection(std::move(*db), path));
}

std::unique_ptr<Connection> adopt_sqlite(std::unique_ptr<platform::Database> db) {
  return std::make_unique<SqliteConnection>(std::move(db), "(open)");
}

bool is_postgres_uri(std::string_view database) {
  auto starts = [&](std::string_view p) { return database.substr(0, p.size()) == p; };
  return starts("postgresql://") || starts("postgres://") || starts("host=") || starts("dbname=");
}

}  // namespace hearth::server::sql
