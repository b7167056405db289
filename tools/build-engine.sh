#!/usr/bin/env bash
# `make engine`: the pulumi CLI built from its Go modules into .tools/bin, plus the dynamic-provider
# plugin script. Does nothing when both are present and current, and builds nothing when a
# `pulumi` is already on PATH (the tests use that one).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.tools/bin
MOD=tools/pulumi-engine
VERSION=$(sed -n 's|^require github.com/pulumi/pulumi/pkg/v3 \(v[0-9.]*\)$|\1|p' "$MOD/go.mod")
[ -n "$VERSION" ] || { echo "engine: no github.com/pulumi/pulumi/pkg/v3 version in $MOD/go.mod" >&2; exit 1; }
mkdir -p "$BIN"

plugin="$BIN/pulumi-resource-pulumi-python"
plugin_text='#!/bin/sh
# Started by the pulumi CLI for dynamic providers (pulumi-python:dynamic:*); written by `make engine`.
# Like Pulumi'"'"'s own: the virtualenv from PULUMI_RUNTIME_VIRTUALENV (the project'"'"'s `virtualenv`
# option, relative paths against $PWD), else ${PULUMI_PYTHON_CMD:-python3}.
if [ -n "${PULUMI_RUNTIME_VIRTUALENV:-}" ]; then
  venv=${PULUMI_RUNTIME_VIRTUALENV%/}
  case $venv in
    /*) ;;
    *) venv=$PWD/$venv ;;
  esac
  if [ ! -x "$venv/bin/python" ]; then
    echo "pulumi-resource-pulumi-python: $venv (PULUMI_RUNTIME_VIRTUALENV) is not a virtualenv" >&2
    exit 1
  fi
  PATH=$venv/bin:$PATH
  export PATH
  unset PYTHONHOME
  exec "$venv/bin/python" -u -m pulumi.dynamic "$@"
fi
exec ${PULUMI_PYTHON_CMD:-python3} -u -m pulumi.dynamic "$@"'
if [ ! -x "$plugin" ] || [ "$(cat "$plugin")" != "$plugin_text" ]; then
  printf '%s\n' "$plugin_text" >"$plugin"
  chmod +x "$plugin"
  echo "engine: wrote $plugin"
fi

on_path=$(PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vx "$PWD/$BIN" | paste -sd: -) \
  command -v pulumi || true)
if [ -n "$on_path" ]; then
  echo "engine: using $on_path ($("$on_path" version 2>/dev/null || echo 'version unknown')) from PATH; nothing to build"
  exit 0
fi
if ! command -v go >/dev/null 2>&1; then
  if [ -x "$BIN/pulumi" ]; then
    echo "engine: no Go on PATH; keeping $BIN/pulumi ($("$BIN/pulumi" version))"
    exit 0
  fi
  echo "engine: neither Go nor a pulumi binary is available; cannot build the engine" >&2
  exit 1
fi

stamp=$( (cat "$MOD/go.mod" "$MOD/go.sum" "$MOD/tools.go"; go version) | sha256sum | cut -c1-16)
if [ -x "$BIN/pulumi" ] && [ "$(cat "$BIN/.pulumi.stamp" 2>/dev/null)" = "$stamp" ]; then
  echo "engine: $BIN/pulumi $VERSION is current"
  exit 0
fi

echo "engine: building pulumi $VERSION (github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) into $BIN/pulumi"
echo "engine: a first build downloads 1.6 GB of modules and compiles about 1,700 packages (minutes); later builds reuse Go's caches"
start=$(date +%s)
(cd "$MOD" && go mod download) 
count=0
# `go build -v` names each package as it compiles it: print a running count instead of 2,000 lines.
(cd "$MOD" && go build -v -trimpath \
  -ldflags "-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=$VERSION" \
  -o "../../$BIN/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi) 2>&1 |
  while IFS= read -r line; do
    case $line in
      *" "*|*:*) echo "$line" ;;
      *) count=$((count + 1)); [ $((count % 200)) -eq 0 ] && echo "engine: $count packages compiled" ;;
    esac
  done
[ -x "$BIN/pulumi.tmp" ] || { echo "engine: go build failed" >&2; exit 1; }
mv "$BIN/pulumi.tmp" "$BIN/pulumi"
echo "$stamp" >"$BIN/.pulumi.stamp"
echo "engine: built $BIN/pulumi ($("$BIN/pulumi" version)) in $(( $(date +%s) - start )) s"
