#!/usr/bin/env bash
# `make sdk-matrix`: the core of the real-engine suite with the oldest `pulumi` Python SDK that
# pyproject.toml allows and with the newest on the package index, each in its own virtualenv
# under .tools/venvs (ignored; reused while its pins hold).
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-$(command -v python3.11 || command -v python3)}
oldest=$(sed -n 's/^ *"pulumi>=\([0-9.]*\),.*/\1/p' pyproject.toml | head -1)
[ -n "$oldest" ] || { echo "sdk-matrix: no pulumi>= pin in pyproject.toml" >&2; exit 1; }
# The deletion paths, the examples end to end, config and secrets; not the 10,000-job run.
CORE='test_destroy or replaced or continue_on_error or refresh_then or end_to_end or consume or beats or secrets_appear or detail'
status=0
for label in "oldest:$oldest" "newest:"; do
  name=${label%%:*}
  pin=${label#*:}
  venv=.tools/venvs/pulumi-$name
  spec="pulumi${pin:+==$pin}"
  if [ ! -f "$venv/.installed-$pin" ]; then
    rm -rf "$venv"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -e '.[test]' "$spec"
    ln -sfn "$PWD/provider/pulumi_foas_refjobs" \
      "$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/pulumi_foas_refjobs"
    touch "$venv/.installed-$pin"
  elif [ -z "$pin" ]; then
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pulumi
  fi
  version=$("$venv/bin/python" -c 'from importlib.metadata import version; print(version("pulumi"))')
  echo "sdk-matrix: pulumi Python SDK $version ($name)"
  if ! "$venv/bin/python" -m pytest tests/engine -q -p no:cacheprovider -k "$CORE"; then
    echo "sdk-matrix: FAILED with pulumi $version ($name)" >&2
    status=1
  fi
done
exit $status
