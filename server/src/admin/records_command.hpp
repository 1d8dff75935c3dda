#pragma once
// `hearth-server records`: the server's current records (storage/records.hpp) as the office
// reads them, one canonical JSON record per line (core/render.hpp), in revision order:
//   --family F  --type T  --person P [--family-wide]  --from D --to D (half-open, on the business
//   date)  --deleted  --limit N  --by WHO (required: the person reading, named in the audit)
// Reading personal data is audited: "records-read" in the server chain before anything is shown
// (with the query), and in each family's chain after, with the ids shown.
#include <cstdint>
#include <ostream>
#include <string>

#include "storage/storage.hpp"

namespace hearth::server {

struct RecordsArgs {
  RecordQuery query;
  std::string by;
};

// Exit status: 0 listed (possibly nothing), 1 bad arguments or a record that cannot be read
// (its error, naming it, goes to `err`; the lines before it were printed).
int records_command(Storage& store, const RecordsArgs& args, int64_t now_ms, std::ostream& out, std::ostream& err);

}  // namespace hearth::server
