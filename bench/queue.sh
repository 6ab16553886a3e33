#!/usr/bin/env bash
# Side-by-side job-queue benchmark: Herald against graphile-worker (Node + PostgreSQL 15)
# and BullMQ (Node + Redis), in one run on this machine. See bench/README.md.
#
#   bench/queue.sh [--jobs 50000] [--lateness-jobs 2000] [--over-seconds 10]
#                  [--only herald|peers|pg] [--no-build]
#                  [--processes "1 2 4"] [--soak [--soak-jobs 2000000] [--soak-processes 2]
#                   [--soak-setup-sql SQL]]
#
# --only pg: Herald's burn-down on the durable PostgreSQL the script starts, with 1, 2 and 4
# worker processes, next to graphile-worker's on the same server (no Redis, no lateness).
# --soak (with --only pg): then the soak, --soak-jobs through --soak-processes processes.
# Environment: HERALD (binary; default build-release/herald, built if missing unless
# --no-build or HERALD is set), NODE (default node), PG_BIN (default
# /usr/lib/postgresql/15/bin), PG_SETTINGS (extra server options, e.g. "-c max_wal_size=8GB").
set -euo pipefail

usage() {
  sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'
}

JOBS=50000
LATENESS_JOBS=2000
OVER_SECONDS=10
ONLY=all
BUILD=1
PROCESSES="1 2 4"
SOAK=0
SOAK_JOBS=2000000
SOAK_PROCESSES=2
SOAK_SETUP_SQL=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --jobs) JOBS=${2:?--jobs needs a value}; shift 2 ;;
    --jobs=*) JOBS=${1#*=}; shift ;;
    --lateness-jobs) LATENESS_JOBS=${2:?--lateness-jobs needs a value}; shift 2 ;;
    --lateness-jobs=*) LATENESS_JOBS=${1#*=}; shift ;;
    --over-seconds) OVER_SECONDS=${2:?--over-seconds needs a value}; shift 2 ;;
    --over-seconds=*) OVER_SECONDS=${1#*=}; shift ;;
    --only) ONLY=${2:?--only needs a value}; shift 2 ;;
    --only=*) ONLY=${1#*=}; shift ;;
    --no-build) BUILD=0; shift ;;
    --processes) PROCESSES=${2:?--processes needs a value}; shift 2 ;;
    --processes=*) PROCESSES=${1#*=}; shift ;;
    --soak) SOAK=1; shift ;;
    --soak-jobs) SOAK_JOBS=${2:?--soak-jobs needs a value}; shift 2 ;;
    --soak-jobs=*) SOAK_JOBS=${1#*=}; shift ;;
    --soak-processes) SOAK_PROCESSES=${2:?--soak-processes needs a value}; shift 2 ;;
    --soak-processes=*) SOAK_PROCESSES=${1#*=}; shift ;;
    --soak-setup-sql) SOAK_SETUP_SQL=${2?--soak-setup-sql needs a value}; shift 2 ;;
    --soak-setup-sql=*) SOAK_SETUP_SQL=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "queue.sh: unknown argument: $1" >&2; usage >&2; exit 2 ;;
  esac
done
for v in "$JOBS" "$LATENESS_JOBS" "$OVER_SECONDS" "$SOAK_JOBS" "$SOAK_PROCESSES" $PROCESSES; do
  [[ "$v" =~ ^[1-9][0-9]*$ ]] || { echo "queue.sh: counts must be positive integers, got '$v'" >&2; exit 2; }
done
case "$ONLY" in
  all|herald|peers|pg) ;;
  *) echo "queue.sh: --only must be herald, peers or pg" >&2; exit 2 ;;
esac
if (( SOAK )) && [[ $ONLY != pg ]]; then
  echo "queue.sh: --soak goes with --only pg" >&2; exit 2
fi

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BENCH="$ROOT/bench"
PEERS_DIR="$BENCH/queue-peers"
NODE=${NODE:-node}
PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
# Any statement over 5 s is logged with its plan (auto_explain; the plan only, no per-node
# timing, so it costs nothing until it fires). pg_stat_statements gives the soak's windows
# their per-statement times (a small cost on every statement, for every system alike).
# PG_SETTINGS: more server settings for every system on it, e.g. "-c max_wal_size=8GB".
PG_SETTINGS=${PG_SETTINGS:-}
PG_SLOW_LOG="-c shared_preload_libraries=auto_explain,pg_stat_statements -c auto_explain.log_min_duration=5s -c log_min_duration_statement=5s"
HERALD_FROM_ENV=${HERALD:+1}
HERALD=${HERALD:-$ROOT/build-release/herald}
RUN_PEERS=0; RUN_HERALD=0; PG_MODE=0
[[ $ONLY != herald ]] && RUN_PEERS=1
[[ $ONLY != peers ]] && RUN_HERALD=1
[[ $ONLY == pg ]] && PG_MODE=1

say() { printf '[queue.sh %s] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }

STAMP=$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$BENCH/results"
RESULTS="$BENCH/results/queue-$STAMP.jsonl"
: > "$RESULTS"
FAILED=()

# ---------------------------------------------------------------- cleanup ----
PG_TMP=""; PG_PID=""; REDIS_TMP=""; REDIS_PID=""; CHILD_PID=""; WORK_TMP=""
AS_PG=()   # prefix that runs PostgreSQL tools as the postgres user when we are root
cleanup() {
  local rc=$?
  set +e
  if [[ -n "$CHILD_PID" ]] && kill -0 "$CHILD_PID" 2>/dev/null; then
    kill -TERM "$CHILD_PID"   # GNU timeout passes the signal on to the driver
    for _ in $(seq 50); do kill -0 "$CHILD_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$CHILD_PID" 2>/dev/null && kill -KILL "$CHILD_PID"
    say "stopped the running driver (pid $CHILD_PID)"
  fi
  if [[ -n "$REDIS_PID" ]] && kill -0 "$REDIS_PID" 2>/dev/null; then
    kill -TERM "$REDIS_PID"
    for _ in $(seq 50); do kill -0 "$REDIS_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$REDIS_PID" 2>/dev/null && kill -KILL "$REDIS_PID"
    say "redis-server (pid $REDIS_PID) stopped"
  fi
  if [[ -n "$PG_PID" ]] && kill -0 "$PG_PID" 2>/dev/null; then
    # pg_ctl signals the postmaster named in postmaster.pid (= PG_PID) and waits for it.
    "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -m fast -w -t 30 stop >/dev/null 2>&1
    kill -0 "$PG_PID" 2>/dev/null && kill -QUIT "$PG_PID"
    for _ in $(seq 50); do kill -0 "$PG_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$PG_PID" 2>/dev/null && kill -KILL "$PG_PID"
    say "PostgreSQL (pid $PG_PID) stopped"
  fi
  [[ -n "$WORK_TMP" ]] && rm -rf "$WORK_TMP"
  [[ -n "$REDIS_TMP" ]] && rm -rf "$REDIS_TMP"
  if [[ -n "$PG_TMP" ]]; then
    # Statements that took over 5 s, with their plans: kept beside the results.
    if grep -q "duration: " "$PG_TMP/server.log" 2>/dev/null; then
      cp "$PG_TMP/server.log" "${RESULTS%.jsonl}-postgres.log"
      say "PostgreSQL logged slow statements (with plans): ${RESULTS%.jsonl}-postgres.log"
    fi
    rm -rf "$PG_TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
  "$NODE" -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

load_avg() { uptime | sed 's/.*load average[s]*: *//'; }

# ------------------------------------------------------------ dependencies ----
apt_install() {  # apt_install PACKAGE...: apt-get update only when a package is unknown
  if [[ $EUID -ne 0 ]]; then
    echo "queue.sh: $* missing and not root: install it with apt-get as root" >&2; exit 1
  fi
  local p
  for p in "$@"; do
    if ! apt-cache show "$p" >/dev/null 2>&1; then
      say "apt-get update (apt does not know $p yet)"
      apt-get update -qq
      break
    fi
  done
  say "apt-get install $*"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >&2
}

if (( RUN_PEERS )); then
  command -v "$NODE" >/dev/null || { echo "queue.sh: node not found (set NODE)" >&2; exit 1; }
  (( PG_MODE )) || command -v redis-server >/dev/null || apt_install redis-server
  [[ -x "$PG_BIN/postgres" ]] || apt_install postgresql-15
  if [[ ! -d "$PEERS_DIR/node_modules" ]]; then
    say "npm ci in bench/queue-peers"
    if ! (cd "$PEERS_DIR" && npm ci --no-audit --no-fund >&2); then
      # The lock file has no entries for msgpackr-extract's prebuilt packages for other
      # platforms (darwin, win32, linux-arm): the registry used to make it does not carry
      # them, and npm ci then calls the lock "out of sync". npm install takes the same
      # locked versions and leaves the lock file as it is.
      say "npm ci refused the lock file; npm install from the same lock instead"
      (cd "$PEERS_DIR" && npm install --no-audit --no-fund >&2)
    fi
  fi
fi

HERALD_OK=0
if (( RUN_HERALD )); then
  if [[ ! -x "$HERALD" && -z "$HERALD_FROM_ENV" && $BUILD -eq 1 ]]; then
    say "no $HERALD: building it (Release, target herald, -j2)"
    if (cd "$ROOT" && cmake -S . -B build-release -G Ninja -DCMAKE_BUILD_TYPE=Release -DHERALD_BUILD_TESTS=OFF >&2 \
          && cmake --build build-release --target herald -j2 >&2); then
      :
    else
      say "building herald failed"
    fi
  fi
  if [[ -x "$HERALD" ]]; then
    HERALD_OK=1
  else
    say "HERALD NOT RUN: no executable at $HERALD; Herald's rows are skipped"
  fi
fi

# ------------------------------------------------------------------ servers ----
start_postgres() {
  PG_TMP=$(mktemp -d -t herald-bench-pg.XXXXXX)
  if [[ $EUID -eq 0 ]]; then
    chown postgres:postgres "$PG_TMP"
    AS_PG=(runuser -u postgres --)
  fi
  PG_PORT=$(free_port)
  "${AS_PG[@]}" "$PG_BIN/initdb" -D "$PG_TMP/data" -U postgres -A trust -E UTF8 --locale=C.UTF-8 \
    --no-sync >"$PG_TMP/initdb.log" 2>&1 || { cat "$PG_TMP/initdb.log" >&2; return 1; }
  # Durable: fsync and synchronous_commit are the defaults; they are spelled out here so
  # that a changed postgresql.conf default cannot silently make the peer non-durable.
  "${AS_PG[@]}" "$PG_BIN/pg_ctl" -D "$PG_TMP/data" -l "$PG_TMP/server.log" -w -t 30 \
    -o "-p $PG_PORT -k $PG_TMP -c listen_addresses=127.0.0.1 -c fsync=on -c synchronous_commit=on -c full_page_writes=on $PG_SLOW_LOG $PG_SETTINGS" \
    start >/dev/null || { cat "$PG_TMP/server.log" >&2; return 1; }
  PG_PID=$(head -n1 "$PG_TMP/data/postmaster.pid")
  DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/postgres"
  say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT (pid $PG_PID, data $PG_TMP)${PG_SETTINGS:+, with $PG_SETTINGS}"
}

start_redis() {
  REDIS_TMP=$(mktemp -d -t herald-bench-redis.XXXXXX)
  REDIS_PORT=$(free_port)
  redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --dir "$REDIS_TMP" \
    --appendonly yes --appendfsync everysec --save "" \
    --daemonize no --logfile "$REDIS_TMP/redis.log" &
  REDIS_PID=$!
  for _ in $(seq 100); do
    redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null 2>&1 && break
    kill -0 "$REDIS_PID" 2>/dev/null || { cat "$REDIS_TMP/redis.log" >&2; return 1; }
    sleep 0.1
  done
  redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping >/dev/null || { echo "queue.sh: redis did not start" >&2; return 1; }
  say "redis-server $(redis-server --version | sed -n 's/.*v=\([^ ]*\).*/\1/p') on 127.0.0.1:$REDIS_PORT (pid $REDIS_PID, dir $REDIS_TMP, appendonly yes, appendfsync everysec)"
}

WORK_TMP=$(mktemp -d -t herald-bench-work.XXXXXX)
LOAD_START=$(load_avg)
say "load average at start: $LOAD_START ($(nproc) CPUs)"

if (( RUN_PEERS )); then
  start_postgres
  (( PG_MODE )) || start_redis
fi

# -------------------------------------------------------------------- runs ----
# run_one NAME CMD...: runs a driver, keeps the last JSON line of its stdout.
# The driver runs in the background and the script waits for it, so that a signal to
# the script is handled at once (bash runs traps only between foreground commands).
RUN_TIMEOUT=900
run_one() {
  local name=$1; shift
  local line status=0
  say "$name: $*"
  timeout --kill-after=10 "$RUN_TIMEOUT" "$@" > "$WORK_TMP/out" &
  CHILD_PID=$!
  wait "$CHILD_PID" || status=$?
  CHILD_PID=""
  if (( status == 0 )); then
    line=$(grep '^{' "$WORK_TMP/out" | tail -n1 || true)
    if [[ -n "$line" ]] && printf '%s' "$line" | "$NODE" -e 'JSON.parse(require("fs").readFileSync(0,"utf8"))' 2>/dev/null; then
      printf '%s\n' "$line" >> "$RESULTS"
      printf '%s\n' "$line"
      return 0
    fi
    say "$name: FAILED (no JSON result line on stdout)"
  else
    say "$name: FAILED (exit status $status)"
  fi
  FAILED+=("$name")
  return 0
}

if (( PG_MODE )); then
  # graphile-worker first, then Herald with 1, 2 and 4 worker processes, all on the same
  # durable server; each Herald run makes (and drops) a scratch database of its own.
  run_one "graphile-worker burn-down" env DATABASE_URL="$DATABASE_URL" \
    "$NODE" "$PEERS_DIR/graphile.mjs" --workload burn-down --jobs "$JOBS"
  sleep 2
  if (( HERALD_OK )); then
    for p in $PROCESSES; do
      run_one "herald pg burn-down x$p" "$HERALD" bench queue --workload burn-down --jobs "$JOBS" \
        --database "$DATABASE_URL" --processes "$p" --json
      sleep 2
    done
    if (( SOAK )); then
      RUN_TIMEOUT=$((4 * 3600))
      soak_extra=()
      [[ -n "$SOAK_SETUP_SQL" ]] && soak_extra=(--setup-sql "$SOAK_SETUP_SQL")
      run_one "herald pg soak" "$HERALD" bench queue --workload soak --jobs "$SOAK_JOBS" \
        --database "$DATABASE_URL" --processes "$SOAK_PROCESSES" --timeout $((4 * 3600 - 60)) "${soak_extra[@]}" --json
      RUN_TIMEOUT=900
    fi
  fi
fi

for workload in burn-down lateness; do
  (( PG_MODE )) && break
  if [[ $workload == burn-down ]]; then
    n=$JOBS; extra=()
  else
    n=$LATENESS_JOBS; extra=(--over-seconds "$OVER_SECONDS")
  fi
  if (( HERALD_OK )); then
    run_one "herald $workload" "$HERALD" bench queue --workload "$workload" --jobs "$n" "${extra[@]}" --json
    sleep 2
  fi
  if (( RUN_PEERS )); then
    run_one "graphile-worker $workload" env DATABASE_URL="$DATABASE_URL" \
      "$NODE" "$PEERS_DIR/graphile.mjs" --workload "$workload" --jobs "$n" "${extra[@]}"
    sleep 2
    run_one "bullmq $workload" env REDIS_PORT="$REDIS_PORT" \
      "$NODE" "$PEERS_DIR/bullmq.mjs" --workload "$workload" --jobs "$n" "${extra[@]}"
    sleep 2
  fi
done

LOAD_END=$(load_avg)
say "load average at end: $LOAD_END"

# One closing line with what the machine was doing, then the table.
LOAD_START="$LOAD_START" LOAD_END="$LOAD_END" STAMP="$STAMP" HERALD_OK="$HERALD_OK" \
  RUN_HERALD="$RUN_HERALD" HERALD_PATH="$HERALD" FAILED="$(IFS=';'; printf '%s' "${FAILED[*]:-}")" \
  "$NODE" -e '
    const os = require("os");
    const e = process.env;
    const run = {
      run: {
        started_utc: e.STAMP, cpus: os.cpus().length, cpu_model: os.cpus()[0]?.model ?? "?",
        load_start: e.LOAD_START, load_end: e.LOAD_END, node: process.version,
        herald: e.RUN_HERALD === "1" ? (e.HERALD_OK === "1" ? e.HERALD_PATH : "not run: binary missing") : "not requested",
        failed: e.FAILED ? e.FAILED.split(";") : [],
      },
    };
    process.stdout.write(JSON.stringify(run) + "\n");
  ' >> "$RESULTS"

PG_MODE="$PG_MODE" PG_PROCESSES="$PROCESSES" "$NODE" - "$RESULTS" <<'EOF'
const fs = require("fs");
const lines = fs.readFileSync(process.argv[2], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const results = lines.filter((r) => r.system);
const run = lines.find((r) => r.run)?.run ?? {};
const fmt = (x) => Math.round(x).toLocaleString("en-US");
const figure = (r) =>
  r.workload === "burn-down"
    ? `${fmt(r.jobs_per_s)} jobs/s (${r.jobs} in ${r.seconds} s)`
    : r.workload === "soak"
      ? `${fmt(r.jobs_per_s)} jobs/s (${r.jobs} in ${Math.round(r.seconds)} s); windows of ${r.window}: first ${fmt(r.first_window_jobs_per_s)}, last ${fmt(r.last_window_jobs_per_s)} jobs/s (${r.last_vs_first.toFixed(2)}x)`
      : `p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, max ${r.max_ms} ms (${r.jobs} over ${r.over_seconds ?? "?"} s)`;
const label = (r) =>
  r.system === "herald" && r.store === "postgresql"
    ? `herald ${r.version} on PostgreSQL, ${r.processes} process${r.processes === 1 ? "" : "es"} x ${r.workers} workers`
    : `${r.system} ${r.version ?? ""}`.trim();
const rows = [["system", "workload", "figure", "settings"]];
for (const r of results) rows.push([label(r), r.workload, figure(r), r.settings ?? ""]);
if (results.length === 0) {
  console.log("\nno results\n");
} else {
  const w = [0, 1, 2].map((c) => Math.max(...rows.map((r) => r[c].length)));
  const out = [];
  rows.forEach((r, i) => {
    out.push(r.map((cell, c) => (c < 3 ? cell.padEnd(w[c]) : cell)).join("  ").trimEnd());
    if (i === 0) out.push(w.map((n) => "-".repeat(n)).join("  ") + "  " + "-".repeat(8));
  });
  console.log("\n" + out.join("\n") + "\n");
}

const pgRuns = results.filter((r) => r.system === "herald" && r.store === "postgresql" && r.workload === "burn-down");
const graphileBd = results.find((r) => r.system === "graphile-worker" && r.workload === "burn-down");
if (pgRuns.length || process.env.PG_MODE === "1") {
  for (const r of pgRuns) {
    console.log(
      graphileBd
        ? `burn-down on one PostgreSQL: herald ${r.processes} process${r.processes === 1 ? "" : "es"} ${fmt(r.jobs_per_s)} jobs/s / graphile-worker ${fmt(graphileBd.jobs_per_s)} jobs/s = ${(r.jobs_per_s / graphileBd.jobs_per_s).toFixed(2)}x`
        : `burn-down on PostgreSQL: herald ${r.processes} process(es) ${fmt(r.jobs_per_s)} jobs/s (no graphile-worker result)`,
    );
  }
  if (!pgRuns.length && process.env.PG_PROCESSES) console.log(`burn-down ratio: n/a (no herald PostgreSQL result)`);
  const server = pgRuns[0]?.server;
  if (server) {
    console.log(
      `durability: server fsync=${server.fsync}, synchronous_commit=${server.synchronous_commit}, full_page_writes=${server.full_page_writes} ` +
        `(graphile-worker: every commit waits for its WAL fsync); Herald: claims, outcomes and sandbox writes commit with ` +
        `synchronous_commit=off (reach disk within ~3 x wal_writer_delay=${server.wal_writer_delay}; redone after a power cut), ` +
        `publishing marks, permits and new posts with synchronous_commit=on`,
    );
  }
  for (const s of results.filter((r) => r.system === "herald" && r.workload === "soak")) {
    console.log(`soak: ${s.jobs} jobs through ${s.processes} processes; rate per ${s.window} jobs:`);
    console.log("  " + s.windows.map((w) => fmt(w.jobs_per_s)).join(", "));
    const mb = (b) => (b / 1048576).toFixed(1);
    for (const t of Object.keys(s.sizes_after)) {
      const b = s.sizes_before[t] ?? {}, a = s.sizes_after[t];
      console.log(`  ${t}: total ${mb(b.total_bytes ?? 0)} -> ${mb(a.total_bytes)} MB, table ${mb(b.table_bytes ?? 0)} -> ${mb(a.table_bytes)} MB, dead tuples ${b.dead_tuples ?? "?"} -> ${a.dead_tuples}, autovacuums ${a.autovacuums}; indexes ` +
        Object.entries(a.index_bytes).map(([i, v]) => `${i} ${mb((b.index_bytes ?? {})[i] ?? 0)} -> ${mb(v)}`).join(", "));
    }
  }
}
const pick = (sys, wl) => results.find((r) => r.system === sys && r.workload === wl && r.store !== "postgresql");
const peers = (wl) => results.filter((r) => r.system !== "herald" && r.workload === wl);
const h = { bd: pick("herald", "burn-down"), lat: pick("herald", "lateness") };
const bestBd = peers("burn-down").sort((a, b) => b.jobs_per_s - a.jobs_per_s)[0];
const bestLat = peers("lateness").sort((a, b) => a.p99_ms - b.p99_ms)[0];
const heraldWhy = (wl) =>
  run.herald === "not requested"
    ? " (herald not requested)"
    : run.herald?.startsWith("not run")
      ? ` (herald ${run.herald})`
      : run.failed?.includes(`herald ${wl}`)
        ? " (herald run failed: see its stderr above)"
        : " (no herald result)";
if (process.env.PG_MODE === "1") {
  // the PostgreSQL ratios are above
} else if (h.bd && bestBd) {
  console.log(`burn-down: herald ${fmt(h.bd.jobs_per_s)} jobs/s / best peer ${bestBd.system} ${fmt(bestBd.jobs_per_s)} jobs/s = ${(h.bd.jobs_per_s / bestBd.jobs_per_s).toFixed(2)}x  (above 1: Herald drains faster)`);
} else {
  console.log(`burn-down ratio: n/a${h.bd ? " (no peer result)" : heraldWhy("burn-down")}`);
}
if (process.env.PG_MODE === "1") {
  // no lateness runs in this mode
} else if (h.lat && bestLat) {
  const r = h.lat.p99_ms > 0 ? `${(bestLat.p99_ms / h.lat.p99_ms).toFixed(2)}x` : "n/a (herald p99 is 0 ms)";
  console.log(`lateness p99: best peer ${bestLat.system} ${bestLat.p99_ms} ms / herald ${h.lat.p99_ms} ms = ${r}  (above 1: Herald is less late)`);
} else {
  console.log(`lateness ratio: n/a${h.lat ? " (no peer result)" : heraldWhy("lateness")}`);
}
console.log(`\nload average (1, 5, 15 min): start ${run.load_start}, end ${run.load_end}; ${run.cpus} CPUs (${run.cpu_model}); node ${run.node}`);
if (run.failed?.length) console.log(`FAILED: ${run.failed.join(", ")}`);
console.log(`results: ${process.argv[2]}`);
EOF

if (( ${#FAILED[@]} )); then
  exit 1
fi
