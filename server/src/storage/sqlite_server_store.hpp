#pragma once
#include <memory>
#include <string>

#include "server_store.hpp"

namespace hearth::server {

// The default store: one SQLite database in the data directory.
Result<std::unique_ptr<ServerStore>> open_sqlite_server_store(const std::string& path);

}  // namespace hearth::server
