#!/usr/bin/env node
// BullMQ driver for bench/queue.sh.
//
//   node bullmq.mjs --workload burn-down|lateness [--jobs N] [--over-seconds S]
//                   [--redis-port P] [--redis-host 127.0.0.1] [--concurrency 100]
//
// The port comes from --redis-port or REDIS_PORT. The driver obliterates the
// queue named by --queue (default herald-bench) before and after each run.
// Prints exactly one JSON line on stdout; progress goes to stderr.

import { Queue, Worker } from "bullmq";
import IORedis from "ioredis";
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
} from "./common.mjs";

const args = parseArgs(process.argv.slice(2), {
  "redis-port": { env: "REDIS_PORT", default: undefined },
  "redis-host": { env: "REDIS_HOST", default: "127.0.0.1" },
  queue: { default: "herald-bench" },
});
if (!args["redis-port"]) die("set --redis-port or REDIS_PORT");
const port = positiveInt(args["redis-port"], "--redis-port");
const concurrency = positiveInt(args.concurrency ?? "100", "--concurrency");
const VERSION = packageVersion("bullmq");
// BullMQ requires maxRetriesPerRequest: null on connections that block (workers).
const connection = { host: args["redis-host"], port, maxRetriesPerRequest: null };
let phase = "connecting";
let started = 0;
let completed = 0;
const watchdog = startWatchdog(
  args.timeoutSeconds,
  () => `${phase}; ${started}/${args.jobs} started, ${completed} completed`,
);
let lastError = "";
function onError(what) {
  return (err) => {
    const m = `${what}: ${err?.message}`;
    if (m !== lastError) log(m); // ioredis repeats the same error on every reconnect
    lastError = m;
  };
}

const admin = new IORedis(connection);
admin.on("error", onError("redis"));
const [, aof] = await admin.config("GET", "appendonly");
const [, fsyncPolicy] = await admin.config("GET", "appendfsync");
const [, save] = await admin.config("GET", "save");
const redisVersion = /redis_version:(\S+)/.exec(await admin.info("server"))?.[1] ?? "?";
log(`bullmq ${VERSION}: Redis ${redisVersion}, appendonly=${aof}, appendfsync=${fsyncPolicy}, save="${save}"`);
if (aof !== "yes") log("WARNING: Redis AOF is off; figures are not comparable with durable peers");

const settings =
  `Redis ${redisVersion} appendonly ${aof} appendfsync ${fsyncPolicy}, ioredis ${packageVersion("ioredis")},` +
  ` Worker concurrency ${concurrency}, removeOnComplete true, other options default` +
  ` (drainDelay 5 s, stalledInterval 30 s)`;

const queue = new Queue(args.queue, { connection });
queue.on("error", onError("queue"));
phase = "running";
await queue.obliterate({ force: true });

const n = args.jobs;
const seen = new Uint8Array(n);
let duplicates = 0;
let failures = 0;
const allStarted = deferred();
const allCompleted = deferred();
const lateness = args.workload === "lateness" ? new Float64Array(n) : null;

async function processor(job) {
  const t = nowMs();
  const i = job.data.i;
  if (seen[i]) {
    duplicates++;
    return;
  }
  seen[i] = 1;
  if (lateness) lateness[i] = t - job.data.at;
  if (++started === n) allStarted.resolve();
}

function startWorker() {
  const w = new Worker(args.queue, processor, { connection, concurrency });
  // 'completed' fires once BullMQ has moved the job out of the active list in Redis.
  w.on("completed", () => {
    if (++completed === n) allCompleted.resolve();
  });
  w.on("failed", (job, err) => {
    failures++;
    log(`job ${job?.id} failed: ${err?.message}`);
  });
  w.on("error", onError("worker"));
  return w;
}

const jobOpts = { removeOnComplete: true };

let worker;
try {
  if (args.workload === "burn-down") {
    log(`enqueueing ${n} jobs (Queue.addBulk, 1000 per call, not timed)`);
    const te = nowMs();
    for (let k = 0; k < n; k += 1000) {
      const batch = [];
      for (let i = k; i < Math.min(n, k + 1000); i++) batch.push({ name: "noop", data: { i }, opts: jobOpts });
      await queue.addBulk(batch);
    }
    log(`enqueued in ${round((nowMs() - te) / 1000, 2)} s; start the worker`);

    const t0 = nowMs();
    worker = startWorker();
    await allCompleted.promise;
    const t1 = nowMs();
    const seconds = (t1 - t0) / 1000;
    const counts = await queue.getJobCounts("wait", "active", "delayed", "failed");
    log(`burn-down: ${n} jobs in ${seconds.toFixed(3)} s; left ${JSON.stringify(counts)}; duplicates ${duplicates}, failures ${failures}`);
    await worker.close();
    worker = undefined;
    emit({
      system: "bullmq",
      version: VERSION,
      workload: "burn-down",
      jobs: n,
      seconds: round(seconds, 3),
      jobs_per_s: Math.round(n / seconds),
      duplicates,
      failures,
      settings,
    });
  } else {
    worker = startWorker();
    await worker.waitUntilReady();
    await new Promise((r) => setTimeout(r, 500)); // let the idle worker settle
    const overMs = args.overSeconds * 1000;
    const base = nowMs() + args.startDelaySeconds * 1000;
    // BullMQ only takes a relative delay: compute it per chunk, just before the
    // chunk is sent, so that run time = add time + delay = the planned instant.
    for (let k = 0; k < n; k += 500) {
      const batch = [];
      const addNow = Date.now();
      for (let i = k; i < Math.min(n, k + 500); i++) {
        const at = scheduleFor(base, i, n, overMs);
        batch.push({ name: "noop", data: { i, at }, opts: { ...jobOpts, delay: Math.max(0, Math.round(at - addNow)) } });
      }
      await queue.addBulk(batch);
    }
    const lead = base - nowMs();
    log(`lateness: ${n} jobs due over ${args.overSeconds} s; first due ${round(lead, 0)} ms after enqueue finished`);
    if (lead < 0) log("WARNING: enqueue finished after the first run time");
    await allStarted.promise;
    await worker.close();
    worker = undefined;
    const summary = latenessSummary(lateness);
    log(`lateness: p50 ${summary.p50_ms} ms, p99 ${summary.p99_ms} ms, max ${summary.max_ms} ms; duplicates ${duplicates}`);
    emit({
      system: "bullmq",
      version: VERSION,
      workload: "lateness",
      jobs: n,
      over_seconds: args.overSeconds,
      ...summary,
      lead_ms: round(lead, 0),
      duplicates,
      failures,
      settings,
    });
  }
} finally {
  clearTimeout(watchdog);
  if (worker) await worker.close(true).catch(() => {});
  await queue.obliterate({ force: true }).catch(() => {});
  await queue.close();
  await admin.quit();
}
