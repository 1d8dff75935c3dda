#!/usr/bin/env bash
# Installs every system package Hearth needs on Debian 12 (bookworm). Idempotent:
# returns at once when everything is present, and refreshes apt lists only when needed.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
PKGS=(
  build-essential cmake ninja-build pkg-config ccache git openssl
  libssl-dev libsqlite3-dev sqlite3 libcurl4-openssl-dev
  libcpprest-dev
  catch2 nlohmann-json3-dev libcli11-dev
  libbenchmark-dev
  clang-14 lld-14 libclang-rt-14-dev
  nginx
  systemd  # systemd-analyze, which checks deploy/systemd/hearth-server.service (tests/server/test_deploy_files.cpp)
  libpq-dev postgresql  # the PostgreSQL store (libpq) and the throwaway cluster its tests start (scripts/pg-tmp.sh)
  python3-jsonschema python3-yaml  # the OpenAPI response checker (tests/openapi/check_response.py)
  chromium fonts-dejavu-core
)
# node and npm for the OpenAPI validator (tests/openapi/validate.sh): Debian's packages, unless a
# node with its own npm is installed already (NodeSource's nodejs conflicts with Debian's npm).
if ! command -v npm >/dev/null 2>&1; then PKGS+=(nodejs npm); fi
if dpkg -s "${PKGS[@]}" >/dev/null 2>&1; then exit 0; fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_InRelease' -mmin -60 2>/dev/null | head -1)" ]; then
  $SUDO apt-get update -qq
fi
$SUDO apt-get install -y -qq --no-install-recommends "${PKGS[@]}" >/dev/null
