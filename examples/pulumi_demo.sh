#!/usr/bin/env bash
# Called by examples/demo.sh with the emulator's URL: `pulumi up` on the root project against
# the emulator, a quiet preview, then destroy. Skipped when no `pulumi` CLI is on PATH.
#
# The state backend, PULUMI_HOME and the stack's config file go to a temporary directory; the
# program runs in the repository's .venv (made by `make demo`, with the not-a-plugin marker
# linked in, see the Makefile).
set -euo pipefail
url=${1:?usage: examples/pulumi_demo.sh EMULATOR_URL}
if ! command -v pulumi >/dev/null 2>&1; then
  echo
  echo "== no pulumi CLI on PATH: skipping the Pulumi part of the demo"
  exit 0
fi
cd "$(dirname "$0")/.."
repo=$(pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo
echo "== Pulumi: root project (examples/stack_outputs) against $url"
mkdir -p "$work/project/examples" "$work/state" "$work/home"
cp -R examples/stack_outputs "$work/project/examples/stack_outputs"
rm -rf "$work/project/examples/stack_outputs/.venv"
sed "s|virtualenv: .venv|virtualenv: $repo/.venv|" Pulumi.yaml >"$work/project/Pulumi.yaml"

export PULUMI_HOME="$work/home/.pulumi"
export PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE=demo-passphrase
export PULUMI_SKIP_UPDATE_CHECK=true
cd "$work/project"
p() { echo "\$ pulumi $*"; pulumi "$@" --non-interactive; }
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
