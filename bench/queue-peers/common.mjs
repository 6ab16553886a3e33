// Shared helpers for the peer queue drivers (graphile.mjs, bullmq.mjs).
// Everything human-readable goes to stderr; the single JSON result line goes to stdout.

import { createRequire } from "node:module";
import { performance } from "node:perf_hooks";

const require = createRequire(import.meta.url);

/** Wall-clock time in milliseconds with sub-millisecond resolution. */
export function nowMs() {
  return performance.timeOrigin + performance.now();
}

export function log(...parts) {
  process.stderr.write(`[${new Date().toISOString()}] ${parts.join(" ")}\n`);
}

export function packageVersion(name) {
  return require(`${name}/package.json`).version;
}

const USAGE = `options:
  --workload burn-down|lateness   which workload to run (required)
  --jobs N                        number of jobs (default 50000 for burn-down, 2000 for lateness)
  --over-seconds S                lateness: spread run times over S seconds (default 10)
  --start-delay-seconds D         lateness: first run time D seconds after enqueue (default 2)
  --concurrency C                 jobs run in parallel by the worker
  --timeout-seconds T             give up (exit 1) if the workload has not finished after T s`;

/**
 * Parses `--key value` / `--key=value` arguments. `extra` maps option names to
 * { env, default } for driver-specific options (connection string, port, ...).
 */
export function parseArgs(argv, extra = {}) {
  const known = {
    workload: { default: undefined },
    jobs: { default: undefined },
    "over-seconds": { default: "10" },
    "start-delay-seconds": { default: "2" },
    concurrency: { default: undefined },
    "timeout-seconds": { default: undefined },
    ...extra,
  };
  const out = {};
  for (const [k, spec] of Object.entries(known)) {
    out[k] = spec.env && process.env[spec.env] ? process.env[spec.env] : spec.default;
  }
  for (let i = 0; i < argv.length; i++) {
    let a = argv[i];
    if (a === "-h" || a === "--help") {
      process.stderr.write(USAGE + "\n" + Object.keys(extra).map((k) => `  --${k}`).join("\n") + "\n");
      process.exit(0);
    }
    if (!a.startsWith("--")) die(`unexpected argument: ${a}`);
    a = a.slice(2);
    let v;
    const eq = a.indexOf("=");
    if (eq >= 0) {
      v = a.slice(eq + 1);
      a = a.slice(0, eq);
    } else {
      v = argv[++i];
    }
    if (!(a in known)) die(`unknown option --${a}\n${USAGE}`);
    if (v === undefined) die(`option --${a} needs a value`);
    out[a] = v;
  }
  if (out.workload !== "burn-down" && out.workload !== "lateness") {
    die(`--workload must be burn-down or lateness\n${USAGE}`);
  }
  out.jobs = positiveInt(out.jobs ?? (out.workload === "burn-down" ? "50000" : "2000"), "--jobs");
  out.overSeconds = positiveNumber(out["over-seconds"], "--over-seconds");
  out.startDelaySeconds = positiveNumber(out["start-delay-seconds"], "--start-delay-seconds");
  out.timeoutSeconds =
    out["timeout-seconds"] !== undefined
      ? positiveNumber(out["timeout-seconds"], "--timeout-seconds")
      : out.workload === "burn-down"
        ? 300
        : out.startDelaySeconds + out.overSeconds + 60;
  return out;
}

export function positiveInt(v, name) {
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) die(`${name} must be a positive integer, got ${v}`);
  return n;
}

function positiveNumber(v, name) {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) die(`${name} must be a positive number, got ${v}`);
  return n;
}

export function die(msg) {
  process.stderr.write(`error: ${msg}\n`);
  process.exit(2);
}

/**
 * The run time of job i (0-based) out of n, spread uniformly over
 * [base, base + overMs): base + i * overMs / n, rounded to whole milliseconds
 * (the resolution every system here stores).
 */
export function scheduleFor(base, i, n, overMs) {
  return Math.round(base + (i * overMs) / n);
}

/** Nearest-rank percentile of an ascending-sorted array. */
export function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1];
}

export function round(x, digits) {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

/** Summary of lateness samples (ms) as the fields every driver reports. */
export function latenessSummary(samples) {
  const s = Float64Array.from(samples).sort();
  return {
    p50_ms: round(percentile(s, 50), 1),
    p99_ms: round(percentile(s, 99), 1),
    max_ms: round(s[s.length - 1], 1),
    min_ms: round(s[0], 1),
  };
}

/** Prints the one result line on stdout. */
export function emit(result) {
  process.stdout.write(JSON.stringify(result) + "\n");
}

/**
 * Ends the process with status 1 if it is still running after `seconds`, whatever
 * it is waiting for (a lost server connection retries forever otherwise).
 * Call it before connecting to anything; cancel it with clearTimeout.
 */
export function startWatchdog(seconds, status) {
  return setTimeout(() => {
    log(`timed out after ${seconds} s: ${status()}`);
    process.exit(1);
  }, seconds * 1000);
}

/** Resolves when `cond()` is true, checking every `everyMs`; rejects after `timeoutMs`. */
export async function waitFor(cond, { everyMs = 5, timeoutMs, what }) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A promise plus its resolve function (Promise.withResolvers is Node 22+). */
export function deferred() {
  let resolve, reject;
  const promise = new Promise((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}
