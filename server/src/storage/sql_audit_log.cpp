#include "sql_audit_log.hpp"

#include "audit/audit_chain.hpp"

namespace hearth::server::sql {

namespace {

class SqlAuditLog final : public AuditLog {
 public:
  explicit SqlAuditLog(std::unique_ptr<audit::AuditTrail> trail) : trail_(std::move(trail)) {}

  Result<void> append(const AuditEvent& e) override {
    return trail_->append(audit::Event{e.at, e.actor, e.device, e.action, e.family, e.detail});
  }

  Result<std::string> use_own_chain(const std::string& name, int64_t at, const std::string& about) override {
    return trail_->use_own_chain(name, at, about);
  }

  // The chains and the in-database checkpoints; `hearth-server verify-audit` also checks the
  // exported checkpoints (audit_chain.hpp).
  Result<int64_t> verify() override {
    auto report = trail_->verify();
    if (!report) return report.error();
    if (report->clean()) return report->events;
    std::string what;
    for (const auto& f : report->findings) what += (what.empty() ? "" : "; ") + f.message;
    return make_error(ErrorCode::corrupt, "audit trail: " + what);
  }

 private:
  std::unique_ptr<audit::AuditTrail> trail_;
};

}  // namespace

Result<std::unique_ptr<AuditLog>> make_sql_audit_log(sql::Connection& db, audit::AuditKey key,
                                                        FamilySealer* sealer) {
  auto trail = audit::AuditTrail::open(db, std::move(key), sealer);
  if (!trail) return trail.error();
  return std::unique_ptr<AuditLog>(std::make_unique<SqlAuditLog>(std::move(*trail)));
}

}  // namespace hearth::server::sql
