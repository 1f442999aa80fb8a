#!/usr/bin/env bash
# Fuzz the REST API with Schemathesis against its own OpenAPI document (`/api/openapi.json`),
# every check on, with a bearer token of local mode: once on the embedded default (SQLite file +
# in-process queue), once on PostgreSQL + Redis (a fresh database, dropped afterwards).
# Not part of CI (each run takes minutes); docs/fuzzing.md has the last run's figures.
#
#   bench/schemathesis.sh [embedded|services|both]        (default: both)
#
# Environment:
#   ST_MAX_TIME       seconds per run (default 300)
#   ST_MAX_EXAMPLES   test cases per operation and phase (default 200)
#   ST_SEED           Hypothesis seed (default 1), so a run can be repeated
#   CLASSIFY_BIN      a built `classify` (default: build the release one)
#   PG_ADMIN_URL      a PostgreSQL role that may CREATE DATABASE
#                     (default postgres://postgres@127.0.0.1:5432/postgres)
#   REDIS_URL         (default redis://127.0.0.1:6379)
# Reports (JUnit, and the log of each run) land in target/schemathesis/<backend>/.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=${CARGO_TARGET_DIR:-target}
VENV=$TARGET/schemathesis-venv
OUT=target/schemathesis
ST_VERSION=4.32.5
WHICH=${1:-both}
MAX_TIME=${ST_MAX_TIME:-300}
MAX_EXAMPLES=${ST_MAX_EXAMPLES:-200}
SEED=${ST_SEED:-1}
PG_ADMIN_URL=${PG_ADMIN_URL:-postgres://postgres@127.0.0.1:5432/postgres}
REDIS=${REDIS_URL:-redis://127.0.0.1:6379}

if [ ! -x "$VENV/bin/st" ]; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi
BIN=${CLASSIFY_BIN:-}
if [ -z "$BIN" ]; then
    CARGO_BUILD_JOBS=${CARGO_BUILD_JOBS:-2} cargo build --quiet --locked --release -p server --bin classify
    BIN=$TARGET/release/classify
fi

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

run() {
    local backend=$1 port data db_url="" prefix="" pid status=0
    port=$(free_port)
    data=$(mktemp -d)
    mkdir -p "$OUT/$backend"
    local env=(CLASSIFY_ADDR="127.0.0.1:$port" CLASSIFY_DATA_DIR="$data" CLASSIFY_WORKERS=1
        RUST_LOG=warn)
    if [ "$backend" = services ]; then
        local name="classify_st_$$"
        psql "$PG_ADMIN_URL" -qc "CREATE DATABASE $name" >/dev/null
        db_url="${PG_ADMIN_URL%/*}/$name"
        prefix="classify_st_$$"
        env+=(DATABASE_URL="$db_url" REDIS_URL="$REDIS" CLASSIFY_REDIS_PREFIX="$prefix")
    fi
    env "${env[@]}" "$BIN" serve >"$OUT/$backend/server.log" 2>&1 &
    pid=$!
    local base="http://127.0.0.1:$port"
    for _ in $(seq 1 100); do
        curl -fs "$base/health" >/dev/null 2>&1 && break
        sleep 0.2
    done
    local token
    token=$(curl -fs -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' \
        -d '{"grant_type":"local"}' | python3 -c 'import json, sys; print(json.load(sys.stdin)["access_token"])')
    echo "== $backend: $base (log in $OUT/$backend/)"
    "$VENV/bin/st" --config-file bench/schemathesis.toml run "$base/api/openapi.json" \
        --checks all \
        -H "Authorization: Bearer $token" \
        --max-time "$MAX_TIME" --max-examples "$MAX_EXAMPLES" --seed "$SEED" \
        --workers 2 --request-timeout 30 \
        --report junit --report-dir "$OUT/$backend" \
        2>&1 | tee "$OUT/$backend/st.log" || status=$?
    # The server's own count of the requests it answered, by status (its metrics).
    curl -fs "$base/metrics" | python3 -c '
import collections, re, sys
by_status = collections.Counter()
for line in sys.stdin:
    m = re.match(r"classify_http_requests_total\{.*status=\"(\d+)\".*\} (\d+)", line)
    if m:
        by_status[m.group(1)] += int(m.group(2))
print("server answered", sum(by_status.values()), "requests:",
      ", ".join(f"{s}: {n}" for s, n in sorted(by_status.items())))
' | tee "$OUT/$backend/requests.txt"
    kill "$pid"
    wait "$pid" || true
    # Every 5xx is logged by the server: none may appear.
    if grep -q '"request failed"\|request failed' "$OUT/$backend/server.log"; then
        echo "$backend: the server logged failed requests (see $OUT/$backend/server.log)" >&2
        status=1
    fi
    if [ -n "$db_url" ]; then
        psql "$PG_ADMIN_URL" -qc "DROP DATABASE classify_st_$$ WITH (FORCE)" >/dev/null
        redis-cli -u "$REDIS" --scan --pattern "$prefix:*" | xargs -r redis-cli -u "$REDIS" del >/dev/null
    fi
    rm -rf "$data"
    return "$status"
}

result=0
case "$WHICH" in
    embedded | services) run "$WHICH" || result=$? ;;
    both)
        run embedded || result=$?
        run services || result=$?
        ;;
    *) echo "usage: $0 [embedded|services|both]" >&2; exit 2 ;;
esac
exit "$result"
