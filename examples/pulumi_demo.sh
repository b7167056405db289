#!/usr/bin/env bash
# Called by examples/demo.sh with the emulator's URL: `pulumi up` on the root project against
# the emulator, its outputs, a quiet preview, then destroy. Uses .tools/bin/pulumi (`make engine`)
# or a `pulumi` on PATH; skipped when there is neither (the demo never builds the engine).
#
# The state backend, PULUMI_HOME and the stack's config file go to a temporary directory; the
# program runs in the repository's .venv (made by `make demo`, with the not-a-plugin marker
# linked in, see the Makefile), served by tools/run_inline.py: an engine built from Go modules
# has no Python language host, so the program is an inline program (`pulumi up --client=...`).
set -euo pipefail
url=${1:?usage: examples/pulumi_demo.sh EMULATOR_URL}
cd "$(dirname "$0")/.."
repo=$(pwd)
if [ -x .tools/bin/pulumi ]; then
  export PATH="$repo/.tools/bin:$PATH"
elif command -v pulumi >/dev/null 2>&1; then
  export PATH="$PATH:$repo/.tools/bin"
else
  echo
  echo "== no pulumi CLI (.tools/bin/pulumi or on PATH): skipping the Pulumi part of the demo"
  exit 0
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo
echo "== Pulumi $(pulumi version) ($(command -v pulumi)): root project (examples/stack_outputs) against $url"
mkdir -p "$work/project/examples" "$work/state" "$work/home"
cp -R examples/stack_outputs "$work/project/examples/stack_outputs"
rm -rf "$work/project/examples/stack_outputs/.venv"
sed "s|virtualenv: .venv|virtualenv: $repo/.venv|" Pulumi.yaml >"$work/project/Pulumi.yaml"

export PULUMI_HOME="$work/home/.pulumi"
export PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE=demo-passphrase
export PULUMI_SKIP_UPDATE_CHECK=true
cd "$work/project"
export PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION=true
p() { echo "\$ pulumi $*"; "$repo/.venv/bin/python" "$repo/tools/run_inline.py" "$@" --non-interactive; }
p login "file://$work/state"
p stack init dev
p config set project bayes_team
p config set package blink_test_datastream.jar
p config set foas:endpoint "$url"
p config set foas:accessKeyId LTAI5tEmulatorDemoKey
p config set --secret foas:accessKeySecret emulator-demo-secret-do-not-use
p up --yes
p stack output
p preview --expect-no-changes
p destroy --yes
p stack rm dev --yes
