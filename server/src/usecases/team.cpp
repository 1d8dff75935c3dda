#include "team.hpp"

#include <algorithm>

#include "record_values.hpp"

namespace hearth::server {

namespace {

using Edits = std::vector<AuthorityEdit>;

const sync::EntityMerge* live(const sync::Materialiser& m, const std::string& id) {
  const sync::EntityMerge* e = m.entity(id);
  return e && e->created() && !e->deleted() ? e : nullptr;
}

bool closed(const sync::EntityMerge& e) {
  const auto& l = e.def().lifecycle;
  return l && std::find(l->terminal.begin(), l->terminal.end(), e.status()) != l->terminal.end();
}

Result<void> check_scope(const sync::Materialiser& m, const std::string& scope) {
  const EntityDef* def = m.schema().entity("TeamMember");
  if (!def) return make_error(ErrorCode::invalid_argument, "this server's schema has no TeamMember records");
  const FieldDef* f = def->field("access_scope");
  if (f && f->allows(scope)) return {};
  std::string list;
  for (const auto& v : f ? f->values : std::vector<std::string>{}) list += (list.empty() ? "" : ", ") + v;
  return make_error(ErrorCode::invalid_argument, "--scope '" + scope + "' is not defined; use one of: " + list);
}

}  // namespace

std::string team_member_id(const std::string& family, const std::string& practitioner) {
  return family + "/team/" + practitioner;
}

AuthorityWrite allocation(const Allocation& a) {
  AuthorityWrite w;
  w.family = a.family;
  w.author = a.author;
  w.action = "allocate";
  w.detail = a.practitioner + (a.lead ? " as lead professional" : " as team member") +
             (a.scope ? ", scope " + *a.scope : std::string());
  w.plan = [a](ServiceContext& ctx, const sync::Materialiser& m) -> Result<Edits> {
    if (!m.schema().entity("TeamMember")) {  // a schema without team records: the index alone
      if (auto r = ctx.store.caseload().allocate(a.family, a.practitioner, a.lead, ctx.now()); !r) return r.error();
      return Edits{};
    }
    auto organisation = ctx.store.caseload().organisation_of(a.practitioner);
    if (!organisation) return organisation.error();
    if (a.scope)
      if (auto ok = check_scope(m, *a.scope); !ok) return ok.error();
    const std::string id = team_member_id(a.family, a.practitioner);
    const std::string role = a.lead ? "LEAD_PROFESSIONAL" : "TAF_MEMBER";
    const std::string now = datetime_of(ctx.now());
    Edits edits;
    if (const sync::EntityMerge* e = live(m, id)) {
      if (!e->value("left_at").is_null()) {  // rejoins
        edits.push_back(AuthorityEdit::set(id, "left_at", Value()));
        edits.push_back(AuthorityEdit::set(id, "joined_at", now));
      }
      if (text_of(*e, "team_role") != role) edits.push_back(AuthorityEdit::set(id, "team_role", role));
      if (a.scope && text_of(*e, "access_scope") != *a.scope)
        edits.push_back(AuthorityEdit::set(id, "access_scope", *a.scope));
    } else {
      edits.push_back(AuthorityEdit::create("TeamMember", id,
                                            {{"practitioner", a.practitioner},
                                             {"organisation", *organisation},
                                             {"team_role", role},
                                             {"access_scope", a.scope.value_or("FULL_EPISODE")},
                                             {"joined_at", now}}));
    }
    if (a.lead) {
      for (const sync::EntityMerge* e : m.entities(a.family)) {
        if (!e->created() || e->deleted() || e->id() == id) continue;
        if (e->def().name == "TeamMember" && e->value("left_at").is_null() &&
            text_of(*e, "team_role") == "LEAD_PROFESSIONAL")
          edits.push_back(AuthorityEdit::set(e->id(), "team_role", "TAF_MEMBER"));
        if (e->def().name == "EarlyHelpEpisode" && !closed(*e) && text_of(*e, "lead_professional") != a.practitioner)
          edits.push_back(AuthorityEdit::set(e->id(), "lead_professional", a.practitioner));
      }
    }
    return edits;
  };
  return w;
}

AuthorityWrite deallocation(const std::string& family, const std::string& practitioner, const std::string& author) {
  AuthorityWrite w;
  w.family = family;
  w.author = author;
  w.action = "deallocate";
  w.detail = practitioner;
  w.plan = [family, practitioner](ServiceContext& ctx, const sync::Materialiser& m) -> Result<Edits> {
    if (!m.schema().entity("TeamMember")) {  // a schema without team records: the index alone
      if (auto r = ctx.store.caseload().deallocate(family, practitioner, ctx.now()); !r) return r.error();
      return Edits{};
    }
    const std::string id = team_member_id(family, practitioner);
    const std::string now = datetime_of(ctx.now());
    auto not_on_team = [&] {
      return make_error(ErrorCode::not_found,
                        "practitioner '" + practitioner + "' is not on the team of family '" + family + "'");
    };
    if (const sync::EntityMerge* e = live(m, id)) {
      if (!e->value("left_at").is_null()) return not_on_team();
      return Edits{AuthorityEdit::set(id, "left_at", now)};
    }
    // A membership from before the records were authoritative: recorded as ended.
    auto was = ctx.store.caseload().membership(family, practitioner);
    if (!was) return was.error();
    if (!*was || (*was)->removed_at) return not_on_team();
    auto organisation = ctx.store.caseload().organisation_of(practitioner);
    if (!organisation) return organisation.error();
    return Edits{AuthorityEdit::create("TeamMember", id,
                                       {{"practitioner", practitioner},
                                        {"organisation", *organisation},
                                        {"team_role", (*was)->lead ? "LEAD_PROFESSIONAL" : "TAF_MEMBER"},
                                        {"access_scope", "FULL_EPISODE"},
                                        {"joined_at", datetime_of((*was)->joined_at)},
                                        {"left_at", now}})};
  };
  return w;
}

AuthorityWrite creator_membership(const std::string& family, const std::string& creator) {
  AuthorityWrite w;
  w.family = family;
  w.author = creator;
  w.action = "team-member";
  w.detail = creator + " created the family and leads its team";
  w.plan = [family, creator](ServiceContext& ctx, const sync::Materialiser& m) -> Result<Edits> {
    // A schema without team records (the peers' benchmark schema): the team index alone.
    if (!m.schema().entity("TeamMember")) {
      if (auto r = ctx.store.caseload().allocate(family, creator, true, ctx.now()); !r) return r.error();
      return Edits{};
    }
    const std::string id = team_member_id(family, creator);
    if (m.entity(id)) return Edits{};
    auto organisation = ctx.store.caseload().organisation_of(creator);
    if (!organisation) return organisation.error();
    return Edits{AuthorityEdit::create("TeamMember", id,
                                       {{"practitioner", creator},
                                        {"organisation", *organisation},
                                        {"team_role", "LEAD_PROFESSIONAL"},
                                        {"access_scope", "FULL_EPISODE"},
                                        {"joined_at", datetime_of(ctx.now())}})};
  };
  return w;
}

}  // namespace hearth::server
