// Audit of every record end to end (issue 9 part 4): a real hearth-server over TLS and real
// tablets. A practitioner's changes and their reads of T3 records (visit narratives) reach the
// family's audit chain; the IG query answers "who saw or changed this family's records" with
// that family's events only; the trail verifies.
#include <catch2/catch.hpp>

#include "../support/db_count.hpp"
#include "tablet.hpp"

using namespace hearth;
using namespace hearth::test;
using Catch::Matchers::Contains;

TEST_CASE("Audit e2e: changes and T3 views of a family are answered by hearth-server audit, and no other family's",
          "[e2e][security]") {
  ServerProcess server;
  Tablet hv(server, "hv-1"), yw(server, "yw-1");
  auto fam = must(hv.store->create_family(family_fields("Family A")));
  auto note = must(hv.store->create(fam, "Contact", contact_fields("2026-11-20T10:00:00Z", "marker-A1 visit", "hv-1")));
  must(hv.store->update(fam, "phone", Value(std::string("07700 900555"))));
  auto other = must(yw.store->create_family(family_fields("Family B")));
  auto other_note = must(yw.store->create(other, "Contact", contact_fields("2026-11-21T10:00:00Z", "marker-B1", "yw-1")));
  hv.sync();
  yw.sync();
  server.admin({"allocate", "--family", fam, "--practitioner", "yw-1"});
  yw.sync();
  (void)must(yw.store->get(note));        // yw-1 reads hv-1's visit narrative (T3)
  (void)must(yw.store->get(other_note));  // and one of their own family
  yw.sync();                              // the views go up with the push

  auto a = server.admin({"audit", "--family", fam});
  INFO(a);
  CHECK_THAT(a, Contains("  hv-1  ") && Contains("  create  Contact " + note));
  CHECK_THAT(a, Contains("  update  Family " + fam + "  fields phone"));
  CHECK_THAT(a, Contains("  yw-1  ") && Contains("  viewed  Contact " + note));
  CHECK_THAT(a, Contains("  office  hearth-server  " + fam + "  create  TeamMember "));
  CHECK(a.find(other) == std::string::npos);  // the other family never appears
  CHECK(a.find(other_note) == std::string::npos);
  CHECK(a.find("marker-A1") == std::string::npos);  // values are never in the audit
  auto by_yw = server.admin({"audit", "--practitioner", "yw-1"});
  CHECK_THAT(by_yw, Contains("viewed  Contact " + note) && Contains("viewed  Contact " + other_note));
  CHECK(by_yw.find("  hv-1  ") == std::string::npos);
  // the tablet forgot what the server acknowledged: a further sync sends no view again
  yw.sync();
  CHECK(db_count(server.db(), "SELECT count(*) FROM audit_events WHERE action = 'record-viewed'") == 2);
  CHECK_THAT(server.admin({"verify-audit"}), Contains("audit trail intact"));
}
