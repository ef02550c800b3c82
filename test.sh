#!/usr/bin/env bash
# Runs Flagstaff's whole test suite on a fresh Debian machine: installs what the tests need from
# Debian's packages, checks the shared test vectors against the reference JavaScript evaluator,
# and runs every .NET test project.
set -euo pipefail
cd "$(dirname "$0")"

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

missing=()
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian's packages..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is needed (https://dotnet.microsoft.com/download); 'dotnet' is not on PATH." >&2
  exit 1
fi

echo "== Test vectors against the reference evaluator (tggl-core)"
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && node check-vectors.mjs)

echo "== .NET tests"
dotnet test Flagstaff.slnx --nologo "$@"
