#pragma once
// Scanning files for personal data, as someone holding them without keys would: every marker
// in UTF-8, UTF-16 (both byte orders) and base64 (all three alignments). Used on the tablet's
// store folder (tests/client/test_encryption.cpp) and the server's data directory, WAL,
// backups and logs (tests/server/test_server_encryption.cpp).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "hearth/client/store.hpp"
#include "hearth/platform/encoding.hpp"
#include "must.hpp"
#include "samples.hpp"

namespace hearth::test {

namespace fs = std::filesystem;


// Every way a marker could appear in a file: UTF-8, UTF-16 (both orders), and base64 at each
// of the three byte alignments.
inline std::vector<std::string> encodings(const std::string& marker) {
  std::vector<std::string> out{marker};
  std::string le, be;
  for (char c : marker) {
    le += c;
    le += '\0';
    be += '\0';
    be += c;
  }
  out.push_back(le);
  out.push_back(be);
  for (size_t pad = 0; pad < 3; ++pad) {
    std::string b = platform::base64(std::string(pad, '\0') + marker);
    size_t skip = (pad * 4 + 2) / 3;  // characters that depend on the bytes before the marker
    if (b.size() > skip + 4) out.push_back(b.substr(skip, b.size() - skip - 4));
  }
  return out;
}

inline std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The files (of `path`, a file or a folder searched recursively) in which any encoding of any
// marker appears, as "<file> reveals <marker>".
inline std::vector<std::string> files_revealing(const fs::path& path, const std::vector<std::string>& markers) {
  std::vector<std::string> hits;
  size_t files = 0;
  auto scan = [&](const fs::path& file) {
    ++files;
    std::string bytes = slurp(file);
    for (const auto& m : markers)
      for (const auto& e : encodings(m))
        if (bytes.find(e) != std::string::npos) hits.push_back(file.filename().string() + " reveals " + m);
  };
  if (fs::is_regular_file(path)) scan(path);
  else
    for (const auto& entry : fs::recursive_directory_iterator(path))
      if (entry.is_regular_file()) scan(entry.path());
  REQUIRE(files > 0);
  return hits;
}

// A family whose every sensitive field holds a marker; returns the markers.
inline std::vector<std::string> record_markers(client::Store& s, const std::string& tag, std::string& family) {
  std::vector<std::string> m;
  auto mark = [&](const std::string& what) {
    m.push_back("MRK" + tag + what + "QZX");
    return m.back();
  };
  family = must(s.create_family({{"display_name", mark("familyname")}, {"phone", mark("phone")}}));
  std::string person = must(s.create(family, "Person", {{"given_names", mark("given")}, {"family_name", mark("surname")},
                                                        {"person_status", "LIVING"}, {"date_of_birth", "1987-06-05"},
                                                        {"nhs_number", "9434765919"}}));
  m.push_back("1987-06-05");  // a date of birth
  m.push_back("9434765919");  // an NHS number
  must(s.create(family, "Address", {{"lines", mark("street")}, {"postcode", mark("postcode")}, {"type", "REFUGE"},
                                    {"confidential", true}}));
  must(s.create(family, "Contact", contact_fields("2026-11-23T10:00:00Z", mark("visitnote"))));
  std::string ep = must(s.create(family, "EarlyHelpEpisode", episode_fields({person})));
  auto as = assessment_fields(ep);
  as["reason_for_assessment"] = mark("reason");
  std::string assessment = must(s.create(family, "Assessment", as));
  must(s.update(assessment, "analysis", mark("analysis")));
  must(s.create(family, "AssessmentFinding", {{"assessment", assessment}, {"domain", "PC_BASIC_CARE"},
                                              {"needs_worries", mark("worries")}}, client::finding_id(assessment, "PC_BASIC_CARE")));
  auto consent = consent_fields();
  std::string c = must(s.create(family, "ConsentRecord", consent));
  must(s.update(c, "withdrawal_reason", mark("consentnote")));
  return m;
}


}  // namespace hearth::test
