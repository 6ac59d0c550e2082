#!/usr/bin/env python3
"""Scripted model server for the real agent-CLI tests: the shared fake_model_server.py with the
script bent per test.

Environment:
  WAVE_FAKE_MODEL_SERVER  path of fake_model_server.py (../shared/tools/)
  WAVE_FAKE_TOOL          ok   -> the shell tool call writes proof-<cli>.txt and prints the marker
                          fail -> the shell tool call fails (exit 3), so the marker never comes back
All other arguments go to the shared server (--cli, --port-file, --log, --model, ...).
"""
import importlib.util
import os

spec = importlib.util.spec_from_file_location("fake_model_server", os.environ["WAVE_FAKE_MODEL_SERVER"])
server = importlib.util.module_from_spec(spec)
spec.loader.exec_module(server)

DOC_DELTA = "[wave-doc-delta] state=none detail=ok"
server.FINAL_TEXT = "All done, proof file written.\n" + server.PROOF_LINE + "\n" + DOC_DELTA + "\n"
server.FAIL_TEXT = (
    "The tool call did not succeed.\n"  # (state=gap: the marker grammar has no `unmet`)
    "[wave-proof] completion=contract durability=none proof=unit state=gap detail=tool-failed\n"
    + DOC_DELTA + "\n"
)
if os.environ.get("WAVE_FAKE_TOOL", "ok") == "fail":
    server.SHELL_CMD = "echo 'tool refused for {cli}' >&2; exit 3"
else:
    server.SHELL_CMD = "printf 'proof from {cli}\\n' > proof-{cli}.txt && echo PROOF-$((6*7))"
server.main()
