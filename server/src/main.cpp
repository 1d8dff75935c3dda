// hearth-server: the sync service and its administration. `hearth-server --help`.
#include "server_main.hpp"

int main(int argc, char** argv) {
  return hearth::server::hearth_server_main(argc, argv, {{"v1", &hearth::Schema::v1()}});
}
