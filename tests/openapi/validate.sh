#!/usr/bin/env bash
# Validates docs/openapi.yaml with a real OpenAPI validator from the npm registry
# (@apidevtools/swagger-parser, the version pinned by package.json and package-lock.json here).
# It is installed by `npm ci` into DEST (a folder of the build), once per lock file.
# Needs node and npm (scripts/install-deps.sh) and, the first time, the network: ctest runs it
# in the release pass only (its name starts "npm:", which scripts/test.sh's sanitizer pass
# excludes). Without npm it is skipped (exit 77), unless CI=true.
# Usage: validate.sh DEST
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
dest="${1:?usage: validate.sh DEST}"
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
  if [ "${CI:-}" = "true" ]; then echo "node/npm are not installed and CI=true: run scripts/install-deps.sh" >&2; exit 1; fi
  echo "node/npm are not installed: skipping (scripts/install-deps.sh installs them)"; exit 77
fi
mkdir -p "$dest"
# Install again only when the pinned versions changed.
if ! cmp -s "$here/package-lock.json" "$dest/package-lock.json" || [ ! -d "$dest/node_modules/@apidevtools/swagger-parser" ]; then
  cp "$here/package.json" "$here/package-lock.json" "$dest/"
  (cd "$dest" && npm ci --no-audit --no-fund --ignore-scripts --loglevel=error)
fi
cp "$here/validate.js" "$dest/"
node "$dest/validate.js" "$root/docs/openapi.yaml"
