// The SQL seam over PostgreSQL, with libpq (Debian's libpq-dev): the C library PostgreSQL
// ships, chosen over libpqxx because errors here are values (libpqxx throws) and libpq is all
// this needs: parameters, prepared statements, text results.
#include <libpq-fe.h>

#include <cctype>
#include <cstdlib>
#include <map>
#include <vector>

#include "storage/sql/connection.hpp"

namespace hearth::server::sql {

namespace {

constexpr Oid kByteaOid = 17;
constexpr Oid kBoolOid = 16;

// SQLite's placeholders as PostgreSQL's: `?` numbered in order ($1, $2, ...) and `?NNN` as
// $NNN; quoted text is left alone. `count`: the highest parameter number.
std::string numbered(std::string_view sql, int& count) {
  std::string out;
  out.reserve(sql.size() + 16);
  char quote = 0;
  int next = 0;
  count = 0;
  for (size_t i = 0; i < sql.size(); ++i) {
    char c = sql[i];
    if (quote) {
      if (c == quote) quote = 0;
      out += c;
    } else if (c == '\'' || c == '"') {
      quote = c;
      out += c;
    } else if (c == '?') {
      int n = 0;
      size_t j = i + 1;
      while (j < sql.size() && sql[j] >= '0' && sql[j] <= '9' && n < 10000) n = n * 10 + (sql[j++] - '0');
      if (j == i + 1) n = ++next;
      i = j - 1;
      if (n > count) count = n;
      out += '$' + std::to_string(n);
    } else {
      out += c;
    }
  }
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// A BYTEA value in text form ("\x" then hex) as its bytes; anything else as it is.
std::string bytea(const char* v, int len) {
  if (len < 2 || v[0] != '\\' || v[1] != 'x') return std::string(v, static_cast<size_t>(len));
  std::string out;
  out.reserve(static_cast<size_t>(len - 2) / 2);
  for (int i = 2; i + 1 < len; i += 2) {
    int hi = hex_value(v[i]), lo = hex_value(v[i + 1]);
    if (hi < 0 || lo < 0) break;
    out += static_cast<char>(hi * 16 + lo);
  }
  return out;
}

// The statement's first word, upper-cased ("SELECT", "SAVEPOINT", ...).
std::string first_word(std::string_view sql) {
  std::string out;
  for (char c : sql) {
    if (c == ' ' || c == '\n' || c == '\t') {
      if (out.empty()) continue;
      break;
    }
    if (out.size() >= 10) break;
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

class PgConnection;

class PgStatement final : public StatementImpl {
 public:
  PgStatement(PgConnection& conn, std::string sql, int params, std::string prepared)
      : conn_(conn), sql_(std::move(sql)), prepared_(std::move(prepared)) {
    values_.resize(static_cast<size_t>(params));
    null_.assign(static_cast<size_t>(params), true);
    binary_.assign(static_cast<size_t>(params), 0);
    bytea_.assign(static_cast<size_t>(params), false);
  }
  ~PgStatement() override { clear(); }

  // Text goes in binary format, which for text is its bytes as they are: the same value reaches
  // a TEXT column and a BYTEA one (a column SQLite types TEXT that holds sealed values is BYTEA
  // here, sql/dialect.hpp), with no escaping to get wrong.
  void bind(int i, std::string_view text) override { set(i, std::string(text), true, false); }
  void bind_blob(int i, std::string_view bytes) override { set(i, std::string(bytes), true, true); }
  void bind(int i, int64_t v) override { set(i, std::to_string(v), false, false); }
  void bind_null(int i) override {
    if (i >= 1 && static_cast<size_t>(i) <= values_.size()) null_[static_cast<size_t>(i - 1)] = true;
  }
  Result<bool> step() override;
  void reset() override {
    clear();
    null_.assign(values_.size(), true);
  }
  std::string text(int col) const override {
    if (!row_ok(col)) return {};
    const char* v = PQgetvalue(res_, row_, col);
    int len = PQgetlength(res_, row_, col);
    if (PQftype(res_, col) == kByteaOid) return bytea(v, len);
    return std::string(v, static_cast<size_t>(len));
  }
  std::string blob(int col) const override { return text(col); }
  int64_t integer(int col) const override {
    if (!row_ok(col) || PQgetisnull(res_, row_, col)) return 0;
    const char* v = PQgetvalue(res_, row_, col);
    if (PQftype(res_, col) == kBoolOid) return v[0] == 't' ? 1 : 0;
    return std::strtoll(v, nullptr, 10);
  }
  bool is_null(int col) const override { return !row_ok(col) || PQgetisnull(res_, row_, col); }

 private:
  void set(int i, std::string v, bool binary, bool bytes) {
    if (i < 1 || static_cast<size_t>(i) > values_.size()) return;  // as SQLite: out of range is ignored
    auto k = static_cast<size_t>(i - 1);
    values_[k] = std::move(v);
    null_[k] = false;
    binary_[k] = binary ? 1 : 0;
    bytea_[k] = bytes;
  }
  bool row_ok(int col) const { return res_ && row_ >= 0 && row_ < rows_ && col >= 0 && col < PQnfields(res_); }
  void clear() {
    if (res_) PQclear(res_);
    res_ = nullptr;
    row_ = -1;
    rows_ = 0;
  }

  PgConnection& conn_;
  std::string sql_;
  std::string prepared_;  // the server-side name when cached, else empty
  int prepared_generation_ = -1;
  std::vector<std::string> values_;
  std::vector<bool> null_;
  std::vector<int> binary_;
  std::vector<bool> bytea_;  // bound as a blob: typed BYTEA where the statement is not prepared
  PGresult* res_ = nullptr;
  int row_ = -1;
  int rows_ = 0;
};

void ignore_notice(void*, const char*) {}

// `message` without the password of `uri`, nor the URI itself (libpq quotes a URI it cannot
// parse): a connection string's secrets never reach a log.
std::string scrub(std::string message, const std::string& uri) {
  auto cut = [&](const std::string& secret) {
    if (secret.empty()) return;
    for (size_t at = message.find(secret); at != std::string::npos; at = message.find(secret, at))
      message.replace(at, secret.size(), "(hidden)");
  };
  cut(uri);
  char* err = nullptr;
  if (PQconninfoOption* options = PQconninfoParse(uri.c_str(), &err)) {
    for (auto* o = options; o->keyword; ++o)
      if (o->val && std::string(o->keyword) == "password") cut(o->val);
    PQconninfoFree(options);
  }
  if (err) PQfreemem(err);
  return message;
}

class PgConnection final : public Connection {
 public:
  explicit PgConnection(PGconn* conn) : conn_(conn) { PQsetNoticeProcessor(conn_, ignore_notice, nullptr); }
  ~PgConnection() override {
    cache_.clear();
    PQfinish(conn_);
  }

  Dialect dialect() const override { return Dialect::postgres; }
  Result<void> exec(const std::string& sql) override {
    if (auto r = reconnect_if_lost(); !r) return r;
    const std::string first = first_word(sql);
    if (auto r = before(first); !r) return r;
    PGresult* r = PQexec(conn_, sql.c_str());
    auto out = check(r, "exec");
    PQclear(r);
    if (!out) {
      failed();
      return out;
    }
    return after(first);
  }

  // A statement failed: a transaction begun by before() is rolled back and forgotten, so the
  // next SAVEPOINT outside a transaction begins a fresh one.
  void failed() {
    if (!implicit_) return;
    PGresult* r = PQexec(conn_, "ROLLBACK");
    PQclear(r);
    implicit_ = false;
    implicit_depth_ = 0;
  }

  // SQLite's SAVEPOINT outside a transaction begins one, and releasing the outermost commits
  // it (the audit trail relies on that); PostgreSQL refuses SAVEPOINT outside a transaction,
  // so the same is done here by hand.
  Result<void> before(const std::string& first) {
    if (first != "SAVEPOINT") return {};
    if (PQtransactionStatus(conn_) == PQTRANS_IDLE) {  // whatever was remembered, none is open
      implicit_ = false;
      implicit_depth_ = 0;
    }
    if (!implicit_ && PQtransactionStatus(conn_) == PQTRANS_IDLE) {
      PGresult* r = PQexec(conn_, "BEGIN");
      auto out = check(r, "begin");
      PQclear(r);
      if (!out) return out;
      implicit_ = true;
    }
    if (implicit_) ++implicit_depth_;
    return {};
  }
  Result<void> after(const std::string& first) {
    if (first != "RELEASE" || !implicit_) return {};
    if (--implicit_depth_ > 0) return {};
    implicit_ = false;
    PGresult* r = PQexec(conn_, "COMMIT");
    auto out = check(r, "commit");
    PQclear(r);
    return out;
  }
  Result<Statement> prepare(std::string_view sql) override {
    int count = 0;
    std::string text = numbered(sql, count);
    return Statement(std::make_unique<PgStatement>(*this, std::move(text), count, ""));
  }
  Result<Statement*> cached(const char* sql) override {
    auto it = cache_.find(sql);
    if (it != cache_.end()) {
      it->second->reset();
      return it->second.get();
    }
    int count = 0;
    std::string text = numbered(sql, count);
    // Only plannable statements can be prepared on the server; SAVEPOINT and the like run as
    // they are each time.
    const std::string first = first_word(sql);
    const bool plannable = first == "SELECT" || first == "INSERT" || first == "UPDATE" || first == "DELETE" ||
                           first == "WITH" || first == "VALUES";
    std::string name = plannable ? "h" + std::to_string(cache_.size() + 1) : "";
    auto owned = std::make_unique<Statement>(std::make_unique<PgStatement>(*this, std::move(text), count, name));
    Statement* raw = owned.get();
    cache_.emplace(sql, std::move(owned));
    return raw;
  }
  Result<void> begin() override {
    if (auto r = reconnect_if_lost(); !r) return r;
    auto r = exec("BEGIN");
    in_tx_ = static_cast<bool>(r);
    return r;
  }
  // Never made again here (in_tx_ still set): a COMMIT on a new connection would "succeed"
  // with nothing to commit. A transaction a failed statement aborted would be rolled back by
  // COMMIT with no error, so it is refused instead: nothing reported stored that is not.
  Result<void> commit() override {
    if (PQtransactionStatus(conn_) == PQTRANS_INERROR) {
      (void)exec("ROLLBACK");
      in_tx_ = false;
      return make_error(ErrorCode::storage, "postgresql commit: a statement of the transaction failed; rolled back");
    }
    auto r = exec("COMMIT");
    in_tx_ = false;
    return r;
  }
  Result<void> rollback() override {
    auto r = exec("ROLLBACK");
    in_tx_ = false;
    return r;
  }

  // A connection the server dropped (restart, failover, idle timeout) is made again when no
  // transaction of ours was open on it, never in the middle of one (the rest of that
  // transaction must fail, not run on its own); its prepared statements go with it.
  Result<void> reconnect_if_lost() {
    if (PQstatus(conn_) == CONNECTION_OK || in_tx_) return {};
    PQreset(conn_);
    implicit_ = false;
    implicit_depth_ = 0;
    if (PQstatus(conn_) != CONNECTION_OK)
      return make_error(ErrorCode::storage, describe() + ": the connection was lost and could not be made again: " +
                                                std::string(PQerrorMessage(conn_)));
    ++generation_;
    return configure();
  }
  Result<void> lock_family(const std::string& family) override {
    auto st = cached("SELECT pg_advisory_xact_lock(hashtextextended(?, 0))");
    if (!st) return st.error();
    (*st)->bind(1, family);
    return (*st)->run();
  }
  std::string describe() const override {
    return std::string("PostgreSQL database ") + PQdb(conn_) + " on " + PQhost(conn_) + ":" + PQport(conn_);
  }

  // The session's settings: every statement bounded in time, no chatter.
  Result<void> configure() {
    return exec("SET statement_timeout = '60s'; SET lock_timeout = '30s'; SET client_min_messages = warning");
  }

  // The result's status as a Result: rows or a command done are fine, anything else names the
  // database and PostgreSQL's message.
  Result<void> check(PGresult* r, const char* what) const {
    auto status = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK || status == PGRES_EMPTY_QUERY) return {};
    std::string message = r ? PQresultErrorMessage(r) : PQerrorMessage(conn_);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return make_error(ErrorCode::storage, std::string("postgresql ") + what + ": " + message);
  }

  PGconn* raw() { return conn_; }
  int generation() const { return generation_; }

 private:
  PGconn* conn_;
  int generation_ = 0;
  bool in_tx_ = false;     // between our begin() and its commit() or rollback()
  bool implicit_ = false;  // a transaction begun by a SAVEPOINT outside one (before())
  int implicit_depth_ = 0;
  std::map<const char*, std::unique_ptr<Statement>> cache_;
};

Result<bool> PgStatement::step() {
  if (!res_) {
    if (auto lost = conn_.reconnect_if_lost(); !lost) return lost.error();
    std::vector<const char*> values(values_.size());
    std::vector<int> lengths(values_.size());
    for (size_t i = 0; i < values_.size(); ++i) {
      values[i] = null_[i] ? nullptr : values_[i].c_str();
      lengths[i] = static_cast<int>(values_[i].size());
    }
    const int n = static_cast<int>(values_.size());
    PGresult* r = nullptr;
    const std::string first = prepared_.empty() ? first_word(sql_) : std::string();
    if (auto b = conn_.before(first); !b) return b.error();
    if (prepared_.empty()) {
      std::vector<Oid> types(values_.size(), 0);
      for (size_t i = 0; i < values_.size(); ++i)
        if (bytea_[i]) types[i] = kByteaOid;
      r = PQexecParams(conn_.raw(), sql_.c_str(), n, types.data(), values.data(), lengths.data(), binary_.data(), 0);
    } else {
      if (prepared_generation_ != conn_.generation()) {
        PGresult* p = PQprepare(conn_.raw(), prepared_.c_str(), sql_.c_str(), 0, nullptr);
        auto ok = conn_.check(p, "prepare");
        PQclear(p);
        if (!ok) return make_error(ok.error().code, ok.error().message + " (in: " + sql_ + ")");
        prepared_generation_ = conn_.generation();
      }
      r = PQexecPrepared(conn_.raw(), prepared_.c_str(), n, values.data(), lengths.data(), binary_.data(), 0);
    }
    auto ok = conn_.check(r, "statement");
    if (!ok) {
      PQclear(r);
      conn_.failed();
      return make_error(ok.error().code, ok.error().message + " (in: " + sql_ + ")");
    }
    res_ = r;
    rows_ = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) : 0;
    row_ = -1;
    if (auto a = conn_.after(first); !a) return a.error();
  }
  ++row_;
  return row_ < rows_;
}

}  // namespace

std::string postgres_location(const std::string& uri) {
  char* err = nullptr;
  PQconninfoOption* options = PQconninfoParse(uri.c_str(), &err);
  if (err) PQfreemem(err);
  if (!options) return "a PostgreSQL database (its connection string does not parse)";
  std::string host, port, dbname;
  for (auto* o = options; o->keyword; ++o) {
    if (!o->val) continue;
    const std::string k = o->keyword;
    if (k == "host") host = o->val;
    else if (k == "port") port = o->val;
    else if (k == "dbname") dbname = o->val;
  }
  PQconninfoFree(options);
  return "PostgreSQL database " + (dbname.empty() ? std::string("(default)") : dbname) + " on " +
         (host.empty() ? std::string("(local socket)") : host) + (port.empty() ? "" : ":" + port);
}

Result<std::unique_ptr<Connection>> open_postgres(const std::string& uri) {
  // connect_timeout unless the URI sets one: a server that cannot reach its database says so
  // within seconds rather than hanging its start.
  const char* keys[] = {"dbname", "connect_timeout", nullptr};
  const char* values[] = {uri.c_str(), "10", nullptr};
  PGconn* conn = PQconnectdbParams(keys, values, 1);
  if (!conn) return make_error(ErrorCode::storage, "postgresql: out of memory connecting");
  if (PQstatus(conn) != CONNECTION_OK) {
    std::string message = scrub(PQerrorMessage(conn), uri);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    PQfinish(conn);
    return make_error(ErrorCode::storage, "cannot connect to PostgreSQL: " + message);
  }
  auto c = std::make_unique<PgConnection>(conn);
  if (auto r = c->configure(); !r) return r.error();
  return std::unique_ptr<Connection>(std::move(c));
}

}  // namespace hearth::server::sql
