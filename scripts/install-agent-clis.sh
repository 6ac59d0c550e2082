#!/usr/bin/env bash
# Installs the pinned agent CLIs (Codex, Claude Code, OpenCode) from npm into a cache folder:
# $WAVE_AGENT_CLI_DIR, else target/agent-clis. The versions come from one file,
# src/run/executor/agent-clis.env, which the crate also reads.
# Afterwards <dir>/bin/{codex,claude,opencode} link to the native binaries shipped inside the
# platform packages, so neither install scripts nor Node are needed to run them.
# Idempotent: does nothing when the pinned versions are already installed.
set -euo pipefail
cd "$(dirname "$0")/.."

# shellcheck source=../src/run/executor/agent-clis.env
source src/run/executor/agent-clis.env
dir="${WAVE_AGENT_CLI_DIR:-target/agent-clis}"
mkdir -p "$dir/bin"
dir="$(cd "$dir" && pwd)"
stamp="$dir/.installed"
want="codex=$CODEX_VERSION claude=$CLAUDE_VERSION opencode=$OPENCODE_VERSION"

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) arch=x64 triple=x86_64-unknown-linux-musl ;;
  Linux-aarch64) arch=arm64 triple=aarch64-unknown-linux-musl ;;
  *) echo "error: agent CLIs are installed for Linux x86_64/aarch64 only" >&2; exit 1 ;;
esac

link_bins() {
  local m="$dir/node_modules"
  ln -sfn "$m/@openai/codex-linux-$arch/vendor/$triple/bin/codex" "$dir/bin/codex"
  ln -sfn "$m/@anthropic-ai/claude-code-linux-$arch/claude" "$dir/bin/claude"
  ln -sfn "$m/opencode-linux-$arch/bin/opencode" "$dir/bin/opencode"
  local b
  for b in codex claude opencode; do
    if [[ ! -x "$dir/bin/$b" ]]; then
      echo "error: $dir/bin/$b does not point at an executable; remove $dir and retry" >&2
      exit 1
    fi
  done
}

if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  link_bins
  echo "agent CLIs present in $dir ($want)"
  exit 0
fi

if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm is needed to install the agent CLIs (apt-get install npm)" >&2
  exit 1
fi

# --ignore-scripts: the native binaries come as optional platform packages; the postinstall
# steps only hard-link them over placeholders, and bin/ links to them directly instead.
# --engine-strict=false: Claude Code declares node >= 22 but ships a native binary.
npm install --prefix "$dir" --no-save --no-audit --no-fund --ignore-scripts --engine-strict=false \
  --loglevel=error \
  "$CODEX_PACKAGE@$CODEX_VERSION" "$CLAUDE_PACKAGE@$CLAUDE_VERSION" "$OPENCODE_PACKAGE@$OPENCODE_VERSION"
link_bins
echo "$want" > "$stamp"
echo "agent CLIs installed in $dir ($want)"
