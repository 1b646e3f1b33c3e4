// graphile-worker side of queue-bench: the same measurements as the Rust harness, on the same
// PostgreSQL, at graphile-worker's documented high-throughput settings (local queue of 500,
// completeJobBatchDelay 0, failJobBatchDelay 0; see worker.graphile.org/docs/performance).
// Workers are separate Node processes (Node runs one thread each). Prints one JSON line.
//
//   node graphile_bench.mjs --url postgres://... --jobs N --workers W
import { fork } from "node:child_process";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";
import { readFileSync } from "node:fs";

const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, ".graphile", "package.json"));
const { run, makeWorkerUtils } = require("graphile-worker");
const version = JSON.parse(
  readFileSync(path.join(here, ".graphile/node_modules/graphile-worker/package.json"), "utf8"),
).version;

const CONCURRENCY = 24;
const PRESET = {
  worker: {
    localQueue: { size: 500 },
    completeJobBatchDelay: 0,
    failJobBatchDelay: 0,
  },
};

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

const nowMs = () => performance.timeOrigin + performance.now();

if (process.env.GRAPHILE_BENCH_CHILD) {
  // A worker process: runs until told to stop, reports first start / last end.
  const url = process.env.GRAPHILE_BENCH_URL;
  let first = Infinity;
  let last = 0;
  const latencies = [];
  const runner = await run({
    connectionString: url,
    concurrency: CONCURRENCY,
    maxPoolSize: CONCURRENCY + 2,
    noHandleSignals: true,
    pollInterval: 500,
    preset: PRESET,
    logger: undefined,
    taskList: {
      noop: async () => {
        const t = nowMs();
        if (t < first) first = t;
        if (t > last) last = t;
      },
      probe: async (payload) => {
        latencies.push(nowMs() - payload.t);
      },
    },
  });
  process.send({ ready: true });
  process.on("message", async (msg) => {
    // JSON has no Infinity: a worker that ran nothing reports null.
    if (msg.report) process.send({ first: Number.isFinite(first) ? first : null, last, latencies });
    if (msg.stop) {
      await runner.stop();
      process.exit(0);
    }
  });
} else {
  const url = arg("url", "postgres://postgres@127.0.0.1:5432/test");
  const jobs = Number(arg("jobs", "10000"));
  const maxWorkers = Number(arg("workers", "4"));
  const utils = await makeWorkerUtils({ connectionString: url });
  await utils.migrate();
  const reset = () =>
    utils.withPgClient((c) => c.query("delete from graphile_worker._private_jobs"));
  const remaining = async () =>
    utils.withPgClient(async (c) =>
      Number((await c.query("select count(*) from graphile_worker._private_jobs")).rows[0].count),
    );
  const enqueueBatched = async (task, n) => {
    for (let i = 0; i < n; i += 1000) {
      const specs = [];
      for (let j = i; j < Math.min(n, i + 1000); j++) specs.push({ identifier: task, payload: {} });
      await utils.addJobs(specs);
    }
  };
  const spawn = () =>
    new Promise((resolve) => {
      const child = fork(fileURLToPath(import.meta.url), [], {
        env: { ...process.env, GRAPHILE_BENCH_CHILD: "1", GRAPHILE_BENCH_URL: url },
        stdio: ["ignore", "ignore", "inherit", "ipc"],
      });
      child.once("message", () => resolve(child));
    });
  const ask = (child) =>
    new Promise((resolve) => {
      child.once("message", resolve);
      child.send({ report: true });
    });
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  await reset();
  const single = Math.min(jobs, 2000);
  let t = nowMs();
  for (let i = 0; i < single; i++) await utils.addJob("noop", {});
  const enqueue_single_per_s = single / ((nowMs() - t) / 1000);
  await reset();
  t = nowMs();
  await enqueueBatched("noop", jobs);
  const enqueue_batch_per_s = jobs / ((nowMs() - t) / 1000);

  const throughput_per_s = {};
  for (const w of [1, 2, 4].filter((w) => w <= Math.max(1, maxWorkers))) {
    await reset();
    await enqueueBatched("noop", jobs);
    // Started together, so that one does not drain the backlog before the others are up.
    const children = await Promise.all(Array.from({ length: w }, spawn));
    const deadline = Date.now() + 300_000;
    while ((await remaining()) > 0 && Date.now() < deadline) await sleep(20);
    const reports = [];
    for (const c of children) reports.push(await ask(c));
    await Promise.all(
      children.map((c) => new Promise((resolve) => {
        c.once("exit", resolve);
        c.send({ stop: true });
      })),
    );
    const ran = reports.filter((r) => r.first !== null);
    const first = Math.min(...ran.map((r) => r.first));
    const last = Math.max(...ran.map((r) => r.last));
    throughput_per_s[String(w)] = Math.round(jobs / ((last - first) / 1000));
  }

  await reset();
  const child = await spawn();
  await sleep(300);
  const LATENCY_JOBS = 300;
  for (let i = 0; i < LATENCY_JOBS; i++) {
    await utils.addJob("probe", { t: nowMs() });
    await sleep(5);
  }
  let report = await ask(child);
  const deadline = Date.now() + 30_000;
  while (report.latencies.length < LATENCY_JOBS && Date.now() < deadline) {
    await sleep(50);
    report = await ask(child);
  }
  child.send({ stop: true });
  const sorted = report.latencies.sort((a, b) => a - b);
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.round((p / 100) * (sorted.length - 1)))];
  await reset();
  await utils.release();
  console.log(
    JSON.stringify({
      name: "graphile-worker",
      version,
      concurrency: CONCURRENCY,
      local_queue: 500,
      enqueue_single_per_s: Math.round(enqueue_single_per_s),
      enqueue_batch_per_s: Math.round(enqueue_batch_per_s),
      throughput_per_s,
      latency_p50_ms: Math.round(pct(50) * 100) / 100,
      latency_p99_ms: Math.round(pct(99) * 100) / 100,
    }),
  );
  process.exit(0);
}
