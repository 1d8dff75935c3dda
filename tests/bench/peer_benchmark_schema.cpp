// The schema of the peer benchmark workload (../shared/peers/README.md): a document is a
// family with 30 last-writer-wins fields, its plan actions are records, its visit notes are
// APPEND records. Used only by benchmarks (hearth-bench, and hearth-bench-server --schema
// peer-benchmark); hearth-bench --check verifies it matches the workload generator.
#include "peer_benchmark_schema.hpp"

namespace hearth {

namespace {

FieldDef lww(const char* name, FieldType type) {
  FieldDef f;
  f.name = name;
  f.type = type;
  f.merge = MergeClass::LwwSilent;
  return f;
}

Schema build() {
  using FT = FieldType;
  Schema s;
  s.set_family_root_type("Family");
  EntityDef doc;
  doc.name = "Family";
  doc.conflict_role = "LEAD_PROFESSIONAL";
  doc.escalation_role = "TEAM_MANAGER";
  for (const char* n : {"family_name", "primary_contact", "address_line1", "address_line2", "city", "region", "phone",
                        "email", "language", "case_worker", "referral_source", "risk_summary", "goals_summary", "status_note"})
    doc.fields.push_back(lww(n, FT::String));
  for (const char* n : {"household_size", "adults", "children", "income_cents", "benefit_cents", "priority_score",
                        "risk_level", "visit_count", "program_id", "version_tag"})
    doc.fields.push_back(lww(n, FT::Int));
  for (const char* n : {"created_at", "updated_at", "intake_date", "last_visit_at", "next_review_at", "closed_at"})
    doc.fields.push_back(lww(n, FT::DateTime));
  s.add(doc);

  EntityDef action;
  action.name = "BenchAction";
  action.conflict_role = doc.conflict_role;
  action.escalation_role = doc.escalation_role;
  action.fields = {lww("title", FT::String), lww("status", FT::Enum), lww("priority", FT::Int), lww("owner", FT::String),
                   lww("due_at", FT::DateTime), lww("updated_at", FT::DateTime), lww("detail", FT::String)};
  action.fields[1].values = {"open", "in_progress", "blocked", "done"};
  s.add(action);

  EntityDef note;
  note.name = "BenchNote";
  note.conflict_role = doc.conflict_role;
  note.escalation_role = doc.escalation_role;
  note.append_only = true;
  note.occurred_field = "at";
  for (auto [n, t] : {std::pair{"at", FT::DateTime}, {"author", FT::String}, {"text", FT::Text}}) {
    FieldDef f = lww(n, t);
    f.merge = MergeClass::Append;
    note.fields.push_back(f);
  }
  s.add(note);
  return s;
}

}  // namespace

const Schema& peer_benchmark_schema() {
  static const Schema schema = build();
  return schema;
}

}  // namespace hearth
