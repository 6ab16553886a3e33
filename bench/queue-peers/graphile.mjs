#!/usr/bin/env node
// graphile-worker driver for bench/queue.sh.
//
//   node graphile.mjs --workload burn-down|lateness [--jobs N] [--over-seconds S]
//                     [--database-url postgres://...] [--concurrency 24] [--local-queue 500]
//
// The connection string comes from --database-url or DATABASE_URL. The driver
// owns the schema named by --schema (default herald_bench_graphile): it drops
// and recreates it on every run, so never point it at a schema you care about.
// Prints exactly one JSON line on stdout; progress goes to stderr.

import {
  deferred,
  die,
  emit,
  latenessSummary,
  log,
  nowMs,
  packageVersion,
  parseArgs,
  positiveInt,
  round,
  scheduleFor,
  startWatchdog,
  waitFor,
} from "./common.mjs";

const args = parseArgs(process.argv.slice(2), {
  "database-url": { env: "DATABASE_URL", default: undefined },
  schema: { default: "herald_bench_graphile" },
  "local-queue": { default: "500" },
});
if (!args["database-url"]) die("set --database-url or DATABASE_URL");
let phase = "connecting";
let started = 0;
const watchdog = startWatchdog(args.timeoutSeconds, () => `${phase}; ${started}/${args.jobs} jobs started`);
if (!/^[a-z_][a-z0-9_]*$/.test(args.schema)) die("--schema must be a plain lower-case identifier");
const concurrency = positiveInt(args.concurrency ?? "24", "--concurrency");
const localQueueSize = Number(args["local-queue"]);
if (!Number.isInteger(localQueueSize) || (localQueueSize !== -1 && localQueueSize < 2)) {
  die("--local-queue must be -1 (off) or an integer >= 2");
}

// Per-job "Completed task" info lines would cost more than the no-op job itself;
// the library reads this variable when it loads (its own perf test sets it too).
process.env.NO_LOG_SUCCESS ??= "1";
const { run, makeWorkerUtils, Logger } = await import("graphile-worker");

const VERSION = packageVersion("graphile-worker");
const TASK = "herald_bench_noop";
const schema = args.schema;

const logger = new Logger((scope) => (level, message) => {
  if (level === "debug") return;
  process.stderr.write(`[graphile-worker ${scope.label || "core"}] ${level.toUpperCase()}: ${message}\n`);
});

// The worker setup: graphile-worker's documented high-throughput configuration
// (performance docs: concurrentJobs 24, maxPoolSize 25, localQueue 500,
// completeJobBatchDelay 0, failJobBatchDelay 0). pollInterval stays at the
// library default (2000 ms): that is what bounds lateness for future jobs.
const workerPreset = {
  worker: {
    connectionString: args["database-url"],
    schema,
    concurrentJobs: concurrency,
    maxPoolSize: concurrency + 1,
    localQueue: { size: localQueueSize },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
    logger,
  },
};

const utils = await makeWorkerUtils({ connectionString: args["database-url"], schema, logger });
let pgSettings;
try {
  pgSettings = await utils.withPgClient(async (c) => {
    const r = await c.query(
      "select current_setting('server_version') v, current_setting('fsync') f, current_setting('synchronous_commit') s, current_setting('wal_sync_method') w",
    );
    return r.rows[0];
  });
  log(`graphile-worker ${VERSION}: PostgreSQL ${pgSettings.v}, fsync=${pgSettings.f}, synchronous_commit=${pgSettings.s}`);
  if (pgSettings.f !== "on" || pgSettings.s !== "on") {
    log("WARNING: PostgreSQL is not running with durable settings; figures are not comparable");
  }
  await utils.withPgClient((c) => c.query(`drop schema if exists ${schema} cascade`));
  await utils.migrate();
} catch (e) {
  await utils.release();
  throw e;
}

const settings =
  `PostgreSQL ${pgSettings.v.split(" ")[0]} fsync=${pgSettings.f} synchronous_commit=${pgSettings.s}` +
  ` (wal_sync_method ${pgSettings.w}), concurrency ${concurrency}, maxPoolSize ${concurrency + 1},` +
  ` localQueue ${localQueueSize}, completeJobBatchDelay 0, pollInterval 2000 (default)`;

phase = "running";
const n = args.jobs;
const seen = new Uint8Array(n); // 1 once job i has started: catches duplicates and strays
let duplicates = 0;
const allStarted = deferred();
const lateness = args.workload === "lateness" ? new Float64Array(n) : null;

const taskList = {
  [TASK]: async (payload) => {
    const t = nowMs();
    const i = payload.i;
    if (seen[i]) {
      duplicates++;
      return;
    }
    seen[i] = 1;
    if (lateness) lateness[i] = t - payload.at;
    if (++started === n) allStarted.resolve();
  },
};

function startRunner() {
  // No cron items: the third argument stops the runner from looking for a
  // crontab file in the current directory.
  return run({ preset: workerPreset, taskList, noHandleSignals: true }, undefined, []);
}

function countJobs() {
  return utils.withPgClient(async (c) => {
    const r = await c.query(`select count(*)::int n from ${schema}._private_jobs`);
    return r.rows[0].n;
  });
}

async function addInChunks(specs, chunk) {
  for (let k = 0; k < specs.length; k += chunk) {
    await utils.addJobs(specs.slice(k, k + chunk));
  }
}

let runner;
try {
  if (args.workload === "burn-down") {
    log(`enqueueing ${n} jobs (addJobs, 10000 per call, not timed)`);
    const specs = [];
    for (let i = 0; i < n; i++) specs.push({ identifier: TASK, payload: { i } });
    const te = nowMs();
    await addInChunks(specs, 10000);
    log(`enqueued in ${round((nowMs() - te) / 1000, 2)} s; checkpoint, then start the worker`);
    // Start from a quiet server: no checkpoint of the enqueue's WAL mid-measurement.
    await utils.withPgClient((c) => c.query("checkpoint"));

    const t0 = nowMs();
    runner = await startRunner();
    const tRunning = nowMs();
    await allStarted.promise;
    const tHandlers = nowMs();
    // A job is done when its row is gone (completion committed), not when the
    // handler returns: completions are batched asynchronously.
    await waitFor(async () => (await countJobs()) === 0, { everyMs: 2, timeoutMs: 60000, what: "completions to commit" });
    const t1 = nowMs();
    const seconds = (t1 - t0) / 1000;
    log(
      `burn-down: ${n} jobs in ${seconds.toFixed(3)} s (worker start ${round(tRunning - t0, 1)} ms,` +
        ` last handler at ${round((tHandlers - t0) / 1000, 3)} s); duplicates ${duplicates}`,
    );
    await runner.stop();
    runner = undefined;
    emit({
      system: "graphile-worker",
      version: VERSION,
      workload: "burn-down",
      jobs: n,
      seconds: round(seconds, 3),
      jobs_per_s: Math.round(n / seconds),
      startup_ms: round(tRunning - t0, 1),
      duplicates,
      settings,
    });
  } else {
    runner = await startRunner();
    await new Promise((r) => setTimeout(r, 500)); // let the idle worker settle
    const overMs = args.overSeconds * 1000;
    const base = nowMs() + args.startDelaySeconds * 1000;
    const specs = [];
    for (let i = 0; i < n; i++) {
      const at = scheduleFor(base, i, n, overMs);
      specs.push({ identifier: TASK, payload: { i, at }, runAt: new Date(at) });
    }
    await addInChunks(specs, 10000);
    const lead = base - nowMs();
    log(`lateness: ${n} jobs due over ${args.overSeconds} s; first due ${round(lead, 0)} ms after enqueue finished`);
    if (lead < 0) log("WARNING: enqueue finished after the first run time");
    await allStarted.promise;
    await runner.stop();
    runner = undefined;
    const summary = latenessSummary(lateness);
    log(`lateness: p50 ${summary.p50_ms} ms, p99 ${summary.p99_ms} ms, max ${summary.max_ms} ms; duplicates ${duplicates}`);
    emit({
      system: "graphile-worker",
      version: VERSION,
      workload: "lateness",
      jobs: n,
      over_seconds: args.overSeconds,
      ...summary,
      lead_ms: round(lead, 0),
      duplicates,
      settings,
    });
  }
} finally {
  clearTimeout(watchdog);
  if (runner) await runner.stop().catch(() => {});
  await utils.withPgClient((c) => c.query(`drop schema if exists ${schema} cascade`)).catch(() => {});
  await utils.release();
}
