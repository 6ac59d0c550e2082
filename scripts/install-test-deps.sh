#!/usr/bin/env bash
# Installs the npm packages the GitHub contract tests read (data only, never run):
#   @octokit/openapi           GitHub's official REST API description (OpenAPI)
#   @octokit/webhooks-examples real webhook payloads
# into a cache directory outside the crate's sources: $WAVE_TEST_NODE_DIR, else target/npm.
# Idempotent: does nothing when the pinned versions are already there.
set -euo pipefail
cd "$(dirname "$0")/.."

OPENAPI_VERSION="23.0.2"
EXAMPLES_VERSION="7.6.1"
dir="${WAVE_TEST_NODE_DIR:-target/npm}"
mkdir -p "$dir"

installed_version() {
  local pkg="$1"
  local manifest="$dir/node_modules/$pkg/package.json"
  [[ -f "$manifest" ]] || return 0
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -n 1
}

if [[ "$(installed_version @octokit/openapi)" == "$OPENAPI_VERSION" &&
      "$(installed_version @octokit/webhooks-examples)" == "$EXAMPLES_VERSION" ]]; then
  echo "test deps present in $dir"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed to install the GitHub contract-test data (apt-get install npm)" >&2
  exit 1
fi

npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
  "@octokit/openapi@$OPENAPI_VERSION" "@octokit/webhooks-examples@$EXAMPLES_VERSION"
echo "test deps installed in $dir"
