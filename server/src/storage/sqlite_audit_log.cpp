#include "sqlite_audit_log.hpp"

#include "hearth/core/json_writer.hpp"
#include "hearth/platform/encoding.hpp"

namespace hearth::server::sqlite {

namespace {

using platform::sha256_hex;

std::string event_text(const AuditEvent& e) {
  JsonWriter w;
  w.begin_object();
  w.key("at").integer(e.at).key("actor").string(e.actor).key("device").string(e.device);
  w.key("action").string(e.action).key("family").string(e.family).key("detail").string(e.detail);
  w.end_object();
  return w.take();
}

class SqliteAuditLog final : public AuditLog {
 public:
  explicit SqliteAuditLog(platform::Database& db) : db_(db) {}

  Result<void> append(const AuditEvent& e) override {
    auto prev = db_.cached("SELECT hash FROM audit ORDER BY seq DESC LIMIT 1");
    if (!prev) return prev.error();
    auto row = (*prev)->step();
    if (!row) return row.error();
    std::string prev_hash = *row ? (*prev)->text(0) : std::string(64, '0');
    (*prev)->reset();
    auto st = db_.cached("INSERT INTO audit(at, actor, device, action, family, detail, hash) VALUES(?, ?, ?, ?, ?, ?, ?)");
    if (!st) return st.error();
    (*st)->bind(1, e.at).bind(2, e.actor).bind(3, e.device).bind(4, e.action).bind(5, e.family).bind(6, e.detail);
    (*st)->bind(7, sha256_hex(prev_hash + event_text(e)));
    return (*st)->run();
  }

  Result<int64_t> verify() override {
    auto st = db_.prepare("SELECT seq, at, actor, device, action, family, detail, hash FROM audit ORDER BY seq");
    if (!st) return st.error();
    std::string prev(64, '0');
    int64_t n = 0;
    while (true) {
      auto row = st->step();
      if (!row) return row.error();
      if (!*row) break;
      AuditEvent e{st->integer(1), st->text(2), st->text(3), st->text(4), st->text(5), st->text(6)};
      std::string expected = sha256_hex(prev + event_text(e));
      if (expected != st->text(7))
        return make_error(ErrorCode::corrupt, "audit event " + std::to_string(st->integer(0)) +
                                                  " does not match the chain: it or an earlier event was altered");
      prev = expected;
      ++n;
    }
    return n;
  }

 private:
  platform::Database& db_;
};

}  // namespace

Result<void> create_audit_tables(platform::Database& db) {
  return db.exec(
      "CREATE TABLE IF NOT EXISTS audit(seq INTEGER PRIMARY KEY AUTOINCREMENT, at INTEGER NOT NULL, "
      "actor TEXT NOT NULL, device TEXT NOT NULL, action TEXT NOT NULL, family TEXT NOT NULL, detail TEXT NOT NULL, "
      "hash TEXT NOT NULL);");
}

std::unique_ptr<AuditLog> make_sqlite_audit_log(platform::Database& db) { return std::make_unique<SqliteAuditLog>(db); }

}  // namespace hearth::server::sqlite
