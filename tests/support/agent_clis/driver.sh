#!/usr/bin/env bash
# Runs one `wave launch` against three scripted model servers (one per agent CLI) on loopback.
# Under `unshare -n` (root) the namespace has only `lo`: nothing can leave 127.0.0.1.
# Inputs (env): WAVE_BIN, REPO, WORK, WAVE_NUMBER, CLI_DIR, SERVER (model_server.py), PYTHON,
#   FAIL_CLI (cli whose tool call fails, or empty), STOP_SERVERS (1: SIGSTOP them before the run),
#   TIMEOUT_MINUTES, API_KEY (the value of TEST_MODEL_KEY given to the agents).
set -uo pipefail
if [[ "${IN_NETNS:-0}" == 1 ]]; then
  ip link set lo up
fi
# The interfaces the agents could reach the network through (in the namespace: `lo` only).
ip -o link show | awk -F': ' '{print $2}' > "$WORK/links"
pids=()
for cli in codex claude opencode; do
  tool=ok
  [[ "${FAIL_CLI:-}" == "$cli" ]] && tool=fail
  WAVE_FAKE_TOOL=$tool "$PYTHON" "$SERVER" --cli "$cli" --port-file "$WORK/$cli.port" \
    --log "$WORK/$cli.requests.jsonl" --max-requests 500 --max-seconds 600 &
  pids+=($!)
done
for cli in codex claude opencode; do
  for _ in $(seq 1 200); do [[ -s "$WORK/$cli.port" ]] && break; sleep 0.05; done
  [[ -s "$WORK/$cli.port" ]] || { echo "model server for $cli did not start" >&2; exit 90; }
done
if [[ "${STOP_SERVERS:-0}" == 1 ]]; then
  kill -STOP "${pids[@]}"
fi
export WAVE_CODEX_COMMAND="$CLI_DIR/bin/codex" WAVE_CLAUDE_COMMAND="$CLI_DIR/bin/claude" \
  WAVE_OPENCODE_COMMAND="$CLI_DIR/bin/opencode"
export WAVE_CODEX_BASE_URL="http://127.0.0.1:$(cat "$WORK/codex.port")/v1"
export WAVE_CLAUDE_BASE_URL="http://127.0.0.1:$(cat "$WORK/claude.port")"
export WAVE_OPENCODE_BASE_URL="http://127.0.0.1:$(cat "$WORK/opencode.port")/v1"
export TEST_MODEL_KEY="$API_KEY" CI=true
unset WAVE_STORE
start=$(date +%s.%N)
"$WAVE_BIN" --repo-root "$REPO" launch --wave "$WAVE_NUMBER" --max-retries-per-wave 0 --launch-stagger-ms 0 \
  --timeout-minutes "$TIMEOUT_MINUTES" --json > "$WORK/launch.json" 2> "$WORK/launch.err"
echo $? > "$WORK/launch.rc"
end=$(date +%s.%N)
echo "$start $end" > "$WORK/launch.secs"
kill -CONT "${pids[@]}" 2>/dev/null
kill "${pids[@]}" 2>/dev/null
wait 2>/dev/null
exit 0
