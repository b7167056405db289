#!/usr/bin/env bash
# Called by examples/demo.sh with the emulator's URL: `pulumi up` on the root project against
# the emulator, a quiet preview, then destroy. Skipped when no `pulumi` CLI is on PATH.
#
# Everything goes to a temporary directory: the state backend, PULUMI_HOME, and a virtualenv
# with a regular install of this repository. The repository's own .venv is an editable
# install, which Pulumi cannot use: it would not find pulumi_foas_refjobs/pulumi-plugin.json
# and would try to download a `foas-refjobs` resource plugin that does not exist.
set -euo pipefail
url=${1:?usage: examples/pulumi_demo.sh EMULATOR_URL}
if ! command -v pulumi >/dev/null 2>&1; then
  echo
  echo "== no pulumi CLI on PATH: skipping the Pulumi part of the demo"
  exit 0
fi
cd "$(dirname "$0")/.."
repo=$(pwd)
python=${PYTHON:-$(command -v python3.11 || command -v python3)}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo
echo "== Pulumi: root project (examples/stack_outputs) against $url"
"$python" -m venv "$work/venv"
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip setuptools wheel
"$work/venv/bin/python" -m pip install --quiet --disable-pip-version-check "$repo"

mkdir -p "$work/project/examples" "$work/state" "$work/home"
cp -R examples/stack_outputs "$work/project/examples/stack_outputs"
rm -rf "$work/project/examples/stack_outputs/.venv"
sed "s|virtualenv: .venv|virtualenv: $work/venv|" Pulumi.yaml >"$work/project/Pulumi.yaml"

export PULUMI_HOME="$work/home/.pulumi"
export PULUMI_BACKEND_URL="file://$work/state"
export PULUMI_CONFIG_PASSPHRASE=demo-passphrase
export PULUMI_SKIP_UPDATE_CHECK=true
cd "$work/project"
p() { echo "\$ pulumi $*"; pulumi "$@" --non-interactive; }
p login --local
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
