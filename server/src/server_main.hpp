#pragma once
// hearth-server's command line (init, serve, the admin subcommands) as a function of the record
// schemas `serve --schema NAME` may choose from, so a benchmark can build a server that also
// serves its own schema without core/ carrying it (tests/bench/hearth_bench_server.cpp).
#include <map>
#include <string>

#include "hearth/core/schema.hpp"

namespace hearth::server {

using SchemaChoices = std::map<std::string, const Schema*>;  // name -> schema; "v1" is the default

// Runs the command line; returns the process exit code. Never throws.
int hearth_server_main(int argc, char** argv, const SchemaChoices& schemas);

}  // namespace hearth::server
