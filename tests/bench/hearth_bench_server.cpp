// hearth-bench-server: hearth-server's own command line, able to serve the peer benchmark's
// schema as well (`serve --schema peer-benchmark`). Started by hearth-bench-sync; not shipped.
#include "peer_benchmark_schema.hpp"
#include "server_main.hpp"

int main(int argc, char** argv) {
  return hearth::server::hearth_server_main(
      argc, argv, {{"v1", &hearth::Schema::v1()}, {"peer-benchmark", &hearth::peer_benchmark_schema()}});
}
