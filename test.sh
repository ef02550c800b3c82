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
compgen -G "/usr/lib/postgresql/*/bin/initdb" >/dev/null || missing+=(postgresql)
# The dashboard's end-to-end tests drive the system's Chromium (never a downloaded browser).
[ -x /usr/bin/chromium ] || missing+=(chromium)
# The metrics tests start a Prometheus of their own (on loopback, with a temporary configuration).
[ -x /usr/bin/prometheus ] || missing+=(prometheus)
# Native AOT (the AOT smoke test) links with clang against zlib.
command -v clang >/dev/null 2>&1 || missing+=(clang)
[ -f /usr/include/zlib.h ] || missing+=(zlib1g-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "Installing ${missing[*]} from Debian's packages..."
  as_root apt-get update -qq
  DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v dotnet >/dev/null 2>&1; then
  echo "The .NET 10 SDK is needed (https://dotnet.microsoft.com/download); 'dotnet' is not on PATH." >&2
  exit 1
fi

# A private PostgreSQL cluster on loopback for the tests, removed on exit. PostgreSQL refuses to
# run as root, so as root it runs as the 'postgres' user the Debian package creates.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_port=${FLAGSTAFF_TEST_PG_PORT:-55432}
pg_data=$(mktemp -d /tmp/flagstaff-test-pg.XXXXXX)
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" -eq 0 ] && chown postgres:postgres "$pg_data"
stop_postgres() {
  as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -m immediate stop >/dev/null 2>&1 || true
  rm -rf "$pg_data"
}
trap stop_postgres EXIT
echo "== Starting PostgreSQL ($("$pg_bin/postgres" --version | awk '{print $3}')) on 127.0.0.1:$pg_port"
as_postgres "$pg_bin/initdb" -D "$pg_data" -U postgres -A trust --no-sync >/dev/null
as_postgres "$pg_bin/pg_ctl" -D "$pg_data" -l "$pg_data/server.log" -w -t 60 start \
  -o "-p $pg_port -k $pg_data -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=500" >/dev/null
export FLAGSTAFF_TEST_POSTGRES="Host=127.0.0.1;Port=$pg_port;Username=postgres;Database=postgres"

echo "== Test vectors against the reference evaluator (tggl-core)"
(cd tests/interop && npm ci --no-audit --no-fund --loglevel=error && node check-vectors.mjs)

echo "== AOT smoke test (the IsAotCompatible libraries, published with native AOT)"
aot_out=$(mktemp -d /tmp/flagstaff-aot.XXXXXX)
dotnet publish tests/Flagstaff.Aot.Smoke -c Release -o "$aot_out" --nologo -v quiet
"$aot_out/Flagstaff.Aot.Smoke" > "$aot_out/output.txt"
diff -u tests/Flagstaff.Aot.Smoke/expected.txt "$aot_out/output.txt"
rm -rf "$aot_out"

echo "== Formatting (dotnet format --verify-no-changes)"
dotnet format Flagstaff.slnx --verify-no-changes

echo "== .NET tests"
dotnet test Flagstaff.slnx --nologo "$@"
