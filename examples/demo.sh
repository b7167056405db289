#!/usr/bin/env bash
# `make demo`: the emulator on a free loopback port, the CLI against it, then stop it.
set -euo pipefail
cd "$(dirname "$0")/.."
CLI=.venv/bin/foas-refjobs
work=$(mktemp -d)
"$CLI" emulator --port 0 >"$work/emulator.out" 2>"$work/emulator.err" &
emulator_pid=$!
cleanup() {
  kill "$emulator_pid" 2>/dev/null || true
  wait "$emulator_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

for _ in $(seq 100); do
  grep -q "listening on" "$work/emulator.out" 2>/dev/null && break
  sleep 0.1
done
url=$(sed -n 's/^FOAS emulator listening on //p' "$work/emulator.out")
if [ -z "$url" ]; then
  echo "demo: the emulator did not start:" >&2
  cat "$work/emulator.err" >&2
  exit 1
fi
# The emulator's own demo AccessKey (fake; see provider/foas_refjobs/emulator/state.py).
export ALIBABA_CLOUD_ACCESS_KEY_ID=LTAI5tEmulatorDemoKey
export ALIBABA_CLOUD_ACCESS_KEY_SECRET=emulator-demo-secret-do-not-use
echo "== emulator running at $url"

run() {
  echo
  echo "\$ foas-refjobs $*"
  set +e
  "$CLI" "$@"
  status=$?
  set -e
  echo "(exit $status)"
  return 0
}
expect() {
  if [ "$status" != "$1" ]; then
    echo "demo: expected exit $1, got $status" >&2
    exit 1
  fi
}

run list --project bayes_team --package blink_test_datastream.jar --endpoint "$url"
expect 0
run check-unreferenced --project bayes_team --package blink_test_datastream.jar --endpoint "$url"
expect 3
run check-unreferenced --project bayes_team --package unused-udf.jar --endpoint "$url"
expect 0

if [ -f examples/pulumi_demo.sh ]; then
  bash examples/pulumi_demo.sh "$url"
fi
echo
echo "== demo finished; emulator stopped"
