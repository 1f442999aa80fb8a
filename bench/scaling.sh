#!/usr/bin/env bash
# The scaling measurement behind docs/deploy.md ("Scaling"): verification throughput with 1, 2
# and 4 `classify worker` processes on PostgreSQL + Redis while 32 clients read the gallery.
#
#   bench/scaling.sh                          # PHOTOS=2000 WORKERS="0 1 2 4" CLIENTS=32
#   PHOTOS=500 WORKERS="1 2" bench/scaling.sh # a quicker look (CLASSIFY_BIN=path skips the build)
#
# Each round: a fresh database (classify_scale) and Redis prefix, `classify migrate`, one
# `classify serve --workers 0` on 127.0.0.1:18080 (local mode, loopback), PHOTOS distinct
# 2048x1536 JPEGs uploaded through the API (16 per request), then N `classify worker`
# processes (one consumer each) and, at the same moment, `POST /blur/analyze-batch
# {"filter":"all"}` and a wrk load of CLIENTS connections asking for random gallery pages
# (random filter, random cursor, 50 a page, bearer token). The clock stops when the batch is
# `done`; wrk is stopped then. Round 0 is the gallery load alone for 20 s (no worker).
# Settings are the manifests': DATABASE_MAX_CONNECTIONS 10 for the server, 3 per worker.
#
# Needs: PostgreSQL (CLASSIFY_TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/postgres,
# a role that may CREATE DATABASE), Redis (CLASSIFY_TEST_REDIS_URL, default redis://127.0.0.1:6379),
# wrk (Debian: apt-get install wrk), python3 (Pillow is installed into a venv under target/).
# Everything it starts listens on loopback only and is stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)

photos=${PHOTOS:-2000}
rounds=${WORKERS:-0 1 2 4}
clients=${CLIENTS:-32}
admin=${CLASSIFY_TEST_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}
redis_url=${CLASSIFY_TEST_REDIS_URL:-redis://127.0.0.1:6379}
target=${CARGO_TARGET_DIR:-$root/target}
work=$target/scaling
port=18080
base=http://127.0.0.1:$port
db=classify_scale
db_url=${admin%/*}/$db
mkdir -p "$work"
export PGOPTIONS="--client-min-messages=warning"

command -v wrk >/dev/null || {
  if [ "$(id -u)" = 0 ]; then apt-get install -y -qq wrk >/dev/null; else
    echo "needs wrk: sudo apt-get install wrk" >&2; exit 1; fi
}

bin=${CLASSIFY_BIN:-}
if [ -z "$bin" ]; then
  echo "building classify (release) ..." >&2
  cargo build --release --locked --quiet -p server --bin classify
  bin=$target/release/classify
fi

venv=$target/scaling-venv
[ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import PIL' 2>/dev/null || {
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check 'Pillow==11.*'
}
py=$venv/bin/python

set_dir=$work/photos-$photos
if [ "$(find "$set_dir" -name '*.jpg' 2>/dev/null | wc -l)" != "$photos" ]; then
  echo "making $photos distinct 2048x1536 JPEGs into $set_dir ..." >&2
  rm -rf "$set_dir"
  "$py" bench/scaling_photos.py "$photos" "$set_dir"
fi

cat > "$work/gallery.lua" <<EOF
-- Random gallery pages: one of the four filters, a random keyset cursor, 50 photos a page.
local filters = {"all", "blurred", "not_blurred", "unprocessed"}
math.randomseed(os.time())
request = function()
  local path = "/api/v1/photos?limit=50&filter=" .. filters[math.random(4)]
    .. "&cursor=" .. math.random($photos)
  return wrk.format("GET", path)
end
EOF

pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  pids=()
}
trap cleanup EXIT

json() { "$py" -c "import json,sys; print(json.load(sys.stdin)$1)"; }
since() { awk -v now="$(date +%s.%N)" -v t="$1" 'BEGIN {print now - t}'; }
div() { awk -v a="$1" -v b="$2" 'BEGIN {print a / b}'; }
# wrk's error lines (non-2xx answers, socket errors), or "none".
wrk_errors() {
  local e
  e=$(grep -E 'Non-2xx|Socket errors' "$1" | tr -s ' ' | sed 's/^ //' | paste -sd';' || true)
  echo "${e:-none}" | tr ' ' '_'
}
# CPU seconds (user + system) a process has used so far.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.1f", ($14 + $15) / hz}' "/proc/$1/stat" 2>/dev/null || echo 0; }
rss_mib() { awk '/VmHWM/ {printf "%.0f", $2/1024}' "/proc/$1/status" 2>/dev/null || echo "?"; }

results=$work/results.txt
: > "$results"
echo "# $(date -u +%FT%TZ) $(nproc) cores, load average before: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$results"
echo "# photos=$photos clients=$clients commit=$(git rev-parse --short HEAD)" | tee -a "$results"

for n in $rounds; do
  prefix=classify_scale_$$_$n
  blobs=$work/blobs
  rm -rf "$blobs" "$work/data"
  psql -q "$admin" -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db"
  export DATABASE_URL=$db_url REDIS_URL=$redis_url CLASSIFY_REDIS_PREFIX=$prefix \
    CLASSIFY_BLOB_DIR=$blobs CLASSIFY_DATA_DIR=$work/data RUST_LOG=warn
  "$bin" migrate
  DATABASE_MAX_CONNECTIONS=10 "$bin" serve --workers 0 --addr 127.0.0.1:$port 2> "$work/serve-$n.log" &
  server=$!
  pids+=("$server")
  for _ in $(seq 100); do curl -sf "$base/health/ready" >/dev/null && break; sleep 0.1; done
  token=$(curl -sf -X POST "$base/api/v1/auth/token" -H 'content-type: application/json' \
    -d '{"grant_type":"local"}' | json '["access_token"]')
  auth="Authorization: Bearer $token"

  started=$(date +%s.%N)
  files=("$set_dir"/*.jpg)
  for ((i = 0; i < ${#files[@]}; i += 16)); do
    args=()
    for f in "${files[@]:i:16}"; do args+=(-F "file=@$f;type=image/jpeg"); done
    curl -sf -o /dev/null -H "$auth" "${args[@]}" "$base/api/v1/photos"
  done
  upload_s=$(since "$started")

  if [ "$n" = 0 ]; then
    load=$(cut -d' ' -f1 /proc/loadavg)
    wrk -t2 -c"$clients" -d20s --latency -H "$auth" -s "$work/gallery.lua" "$base" > "$work/wrk-$n.txt"
    rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$n.txt")
    p50=$(awk '$1 == "50%" {print $2}' "$work/wrk-$n.txt")
    p99=$(awk '$1 == "99%" {print $2}' "$work/wrk-$n.txt")
    printf 'workers=0 photos/s=- batch_s=- gallery_req/s=%s gallery_p50=%s gallery_p99=%s gallery_errors=%s upload_photos/s=%.0f load_before=%s server_rss_mib=%s\n' \
      "$rps" "$p50" "$p99" "$(wrk_errors "$work/wrk-$n.txt")" "$(div "$photos" "$upload_s")" "$load" "$(rss_mib "$server")" | tee -a "$results"
    cleanup
    continue
  fi

  worker_pids=()
  for _ in $(seq "$n"); do
    DATABASE_MAX_CONNECTIONS=3 "$bin" worker --workers 1 2>> "$work/worker-$n.log" &
    worker_pids+=($!)
    pids+=($!)
  done
  sleep 1
  load=$(cut -d' ' -f1 /proc/loadavg)

  wrk -t2 -c"$clients" -d600s --latency -H "$auth" -s "$work/gallery.lua" "$base" > "$work/wrk-$n.txt" &
  wrk_pid=$!
  pids+=("$wrk_pid")
  started=$(date +%s.%N)
  job=$(curl -sf -X POST "$base/api/v1/blur/analyze-batch" -H "$auth" -H 'content-type: application/json' \
    -d '{"filter":"all"}' | json '["job_id"]')
  status=queued
  deadline=$(($(date +%s) + 900))
  while [ "$status" != done ] && [ "$status" != failed ] && [ "$(date +%s)" -lt "$deadline" ]; do
    sleep 0.2
    progress=$(curl -sf -H "$auth" "$base/api/v1/blur/jobs/$job")
    status=$(echo "$progress" | json '["status"]')
  done
  batch_s=$(since "$started")
  kill -INT "$wrk_pid"
  wait "$wrk_pid" || true
  done_n=$(echo "$progress" | json '["done"]')
  failed_n=$(echo "$progress" | json '["failed"]')
  rps=$(awk '/Requests\/sec/ {print $2}' "$work/wrk-$n.txt")
  p50=$(awk '$1 == "50%" {print $2}' "$work/wrk-$n.txt")
  p99=$(awk '$1 == "99%" {print $2}' "$work/wrk-$n.txt")
  worker_rss=$(for p in "${worker_pids[@]}"; do rss_mib "$p"; echo; done | sort -n | tail -n 1)
  # CPU the workers and the server used from their start: per photo, whatever the neighbours took.
  worker_cpu=$(for p in "${worker_pids[@]}"; do cpu_s "$p"; echo; done | awk '{t += $1} END {printf "%.1f", t}')
  server_cpu=$(cpu_s "$server")
  printf 'workers=%s photos/s=%.1f batch_s=%.1f done=%s failed=%s status=%s gallery_req/s=%s gallery_p50=%s gallery_p99=%s gallery_errors=%s upload_photos/s=%.0f load_before=%s server_rss_mib=%s worker_rss_mib_max=%s worker_cpu_ms_per_photo=%.1f server_cpu_s=%s\n' \
    "$n" "$(div "$photos" "$batch_s")" "$batch_s" "$done_n" "$failed_n" "$status" "$rps" "$p50" "$p99" "$(wrk_errors "$work/wrk-$n.txt")" \
    "$(div "$photos" "$upload_s")" "$load" "$(rss_mib "$server")" "$worker_rss" "$(div "$(awk -v s="$worker_cpu" 'BEGIN {print s * 1000}')" "$photos")" "$server_cpu" | tee -a "$results"
  cleanup
  redis-cli -u "$redis_url" --scan --pattern "$prefix:*" | xargs -r redis-cli -u "$redis_url" del >/dev/null
done
psql -q "$admin" -c "DROP DATABASE IF EXISTS $db"
rm -rf "$work/blobs" "$work/data"
echo "results in $results" >&2
