/**
 * `npm run bench:dispatch`: how fast the job API takes submissions, and how long a queued job waits before
 * it is dispatched to a free worker, with simulated ComfyUI workers (the fake ComfyUI) in a child process.
 *
 * Env: BENCH_DURATION_S (5), BENCH_CONCURRENCY (16), BENCH_ROUNDS (5), BENCH_RATE (100), BENCH_RATE_DURATION_S
 * (10), BENCH_SLOTS_PER_WORKER (8), BENCH_EVENT_STREAMS (0), BENCH_EVENT_STREAM_ROUNDS (2), DATABASE_URL
 * (PostgreSQL instead of SQLite).
 *
 * Closed loops (CONCURRENCY clients for DURATION_S each, ROUNDS times in turn; medians), driven from a
 * separate load-generator process (scripts/bench-load.ts, node:http keep-alive) so the service's process does
 * only the service's work:
 * 1. a bare Nest route: same framework, body parser and validation pipe, no work;
 * 2. POST /api/jobs while every worker slot is busy: the submit path (validate, persist, queue, the dispatch
 *    pass each arrival triggers) with a growing backlog, the state a burst leaves the service in; and the
 *    same with RunPod configured (the fake RunPod) and no local worker, every job waiting for a pod;
 * 3. POST /api/jobs with instant workers: the same process also runs every accepted job (websocket, /prompt,
 *    /history, /view, the output file, the job's row updates); jobs completed per second are reported too.
 * Then EXECUTION_JOBS jobs queued in-process and run by the instant workers (what running a job costs), and
 * at a steady RATE submits/s to instant workers: submit latency and dispatch overhead, from a job's
 * `jobQueued` event to its `jobStarted` event (the dispatcher chose a worker, claimed the job, sent it).
 *
 * With BENCH_EVENT_STREAMS=N (the 100 open dashboards): the execution-only run and the steady load
 * again, in turn without and with N open GET /api/events streams (held by scripts/bench-event-streams.ts, a
 * separate process), BENCH_EVENT_STREAM_ROUNDS times; medians of each side and their ratio, in `eventStreams`.
 */
import 'reflect-metadata';
import { Body, Controller, type INestApplication, Module, Post, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp, listen } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';
import { SubmitJobDto } from '../src/jobs/dto/submit-job.dto';
import { JobEvents } from '../src/jobs/job.events';
import { JobsService } from '../src/jobs/jobs.service';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const RATE_DURATION_S = Number(process.env.BENCH_RATE_DURATION_S ?? 10);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const EXECUTION_JOBS = 2000;
const WORKERS = 4;
const SLOTS_PER_WORKER = Number(process.env.BENCH_SLOTS_PER_WORKER ?? 8);
const EVENT_STREAMS = Number(process.env.BENCH_EVENT_STREAMS ?? 0);
const EVENT_STREAM_ROUNDS = Number(process.env.BENCH_EVENT_STREAM_ROUNDS ?? 2);

const WORKFLOW = {
  '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'bench' } },
};
const BODY = JSON.stringify({ workflow: WORKFLOW });

@Controller('bench')
class BareController {
  @Post('bare')
  bare(@Body() body: SubmitJobDto): { ok: boolean; nodes: number } {
    return { ok: true, nodes: Object.keys(body.workflow).length };
  }
}

@Module({ controllers: [BareController] })
class BareModule {}

interface LoopResult {
  rate: number;
  count: number;
  errors: number;
  /** The load generator's CPU time over wall time: near 1 means it, not the service, set the rate. */
  busy: number;
}

/**
 * One closed loop, run by the load-generator process. `eventLoopUs`: this process's event-loop time per
 * accepted request (everything in this process, the service's job execution included).
 */
async function closedLoop(url: string): Promise<LoopResult & { eventLoopUs: number }> {
  const before = performance.eventLoopUtilization();
  const result = await runLoadGenerator(url);
  const active = performance.eventLoopUtilization(before).active;
  return { ...result, eventLoopUs: (active * 1000) / Math.max(1, result.count) };
}

function runLoadGenerator(url: string): Promise<LoopResult> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '-r',
        'ts-node/register/transpile-only',
        join('scripts', 'bench-load.ts'),
        url,
        String(DURATION_S),
        String(CONCURRENCY),
        BODY,
      ],
      (error, stdout) => {
        if (error) reject(new Error(`the load generator failed: ${error.message}`));
        else resolve(JSON.parse(stdout) as LoopResult);
      },
    );
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The run with the median rate (its error count and load with it). */
function medianRun<T extends LoopResult>(runs: T[]): T {
  return [...runs].sort((a, b) => a.rate - b.rate)[Math.floor(runs.length / 2)];
}

function percentile(sorted: number[], p: number): number {
  return sorted.length === 0
    ? NaN
    : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function waitForIdle(app: INestApplication): Promise<void> {
  const deadline = Date.now() + 120000;
  while (Date.now() < deadline) {
    const stats = (await (await fetch(`${await app.getUrl()}/api/stats`)).json()) as {
      jobs: { byStatus: Record<string, number> };
    };
    if (stats.jobs.byStatus.queued === 0 && stats.jobs.byStatus.running === 0) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

interface Workers {
  instant: string[];
  busy: string[];
  /** Points the service at the fake RunPod (pods only). */
  runpodEnv: Record<string, string>;
  process: ChildProcess;
}

/** The fake workers run in a child process, so only the service's own work shares its event loop. */
async function startWorkers(instant: number, busy: number): Promise<Workers> {
  const child = spawn(
    process.execPath,
    [
      '-r',
      'ts-node/register/transpile-only',
      join('scripts', 'bench-workers.ts'),
      String(instant),
      String(busy),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
    if (line) return { ...(JSON.parse(line) as Omit<Workers, 'process'>), process: child };
  }
  throw new Error('bench workers did not start');
}

interface Service {
  app: INestApplication;
  url: string;
  dataDir: string;
  database: string;
}

async function startService(workerUrls: string[], env: Record<string, string> = {}): Promise<Service> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-dispatch-'));
  const config = loadConfig({
    // Thousands of submissions a second from one client: the per-client creation limit is off here.
    RATE_LIMIT_CREATE_PER_MINUTE: '0',
    ...env,
    DATA_DIR: dataDir,
    DATABASE_URL: process.env.DATABASE_URL,
    LOCAL_COMFYUI_URLS: workerUrls.join(','),
    LOCAL_WORKER_CONCURRENCY: String(SLOTS_PER_WORKER),
  });
  const app = await createApp({ config, logger: ['error'] });
  const url = await listen(app, 0, '127.0.0.1');
  return { app, url, dataDir, database: config.databaseUrl ? 'postgres' : 'sqlite' };
}

async function post(url: string): Promise<void> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: BODY,
  });
  await response.arrayBuffer();
}

/**
 * What running a job costs the service, without HTTP submissions competing: EXECUTION_JOBS jobs queued
 * in-process at once, then run by the instant workers. Event-loop time per job (its submission included).
 */
async function executionOnly(service: Service) {
  const jobs = service.app.get(JobsService);
  const events = service.app.get(EventEmitter2);
  let completed = 0;
  let allDone: () => void = () => undefined;
  const done = new Promise<void>((resolve) => (allDone = resolve));
  const onCompleted = () => {
    if (++completed === EXECUTION_JOBS) allDone();
  };
  events.on(JobEvents.Completed, onCompleted);
  const before = performance.eventLoopUtilization();
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  // All queued at once, then run: what running a job costs. (Awaiting each create in turn would interleave a
  // dispatch pass with every submit, since the job rows' group commit settles on the next turn of the loop.)
  await Promise.all(Array.from({ length: EXECUTION_JOBS }, () => jobs.create({ workflow: WORKFLOW })));
  await done;
  const seconds = (performance.now() - started) / 1000;
  const active = performance.eventLoopUtilization(before).active;
  const cpu = process.cpuUsage(cpuBefore);
  events.off(JobEvents.Completed, onCompleted);
  return {
    jobs: EXECUTION_JOBS,
    jobsPerSecond: Math.round(EXECUTION_JOBS / seconds),
    eventLoopUsPerJob: Math.round((active * 1000) / EXECUTION_JOBS),
    /** CPU time of this process (the service) per job: less swayed than wall time by a busy machine. */
    cpuUsPerJob: Math.round((cpu.user + cpu.system) / EXECUTION_JOBS),
  };
}

/** Dispatch overhead and submit latency at a steady rate. */
async function steadyLoad(service: Service) {
  const events = service.app.get(EventEmitter2);
  const queuedAt = new Map<string, number>();
  const overheads: number[] = [];
  const submitLatencies: number[] = [];
  const onQueued = ({ jobId }: { jobId: string }) => void queuedAt.set(jobId, performance.now());
  const onStarted = ({ jobId }: { jobId: string }) => {
    const at = queuedAt.get(jobId);
    if (at !== undefined) overheads.push(performance.now() - at);
  };
  events.on(JobEvents.Queued, onQueued);
  events.on(JobEvents.Started, onStarted);
  const total = RATE * RATE_DURATION_S;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    pending.push(
      post(`${service.url}/api/jobs`).then(() => void submitLatencies.push(performance.now() - sent)),
    );
  }
  await Promise.all(pending);
  await waitForIdle(service.app);
  events.off(JobEvents.Queued, onQueued);
  events.off(JobEvents.Started, onStarted);
  const achievedRate = total / ((performance.now() - start) / 1000);
  overheads.sort((a, b) => a - b);
  submitLatencies.sort((a, b) => a - b);
  const round = (value: number) => Number(value.toFixed(2));
  return {
    targetRate: RATE,
    achievedRate: Number(achievedRate.toFixed(1)),
    jobs: overheads.length,
    submitLatencyMs: {
      p50: round(percentile(submitLatencies, 50)),
      p99: round(percentile(submitLatencies, 99)),
    },
    dispatchOverheadMs: {
      p50: round(percentile(overheads, 50)),
      p99: round(percentile(overheads, 99)),
      max: round(overheads.at(-1) ?? NaN),
    },
  };
}

interface HeldStreams {
  /** Closes the streams; what they received. */
  stop(): Promise<{ streams: number; events: number; bytes: number; ended: number }>;
}

/** Opens `count` GET /api/events streams from a child process; resolves once every one has its hello. */
async function holdEventStreams(url: string, count: number): Promise<HeldStreams> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join('scripts', 'bench-event-streams.ts'), url, String(count)],
    { stdio: ['pipe', 'pipe', 'inherit'] },
  );
  const lines = (async function* () {
    let output = '';
    for await (const chunk of child.stdout) {
      output += String(chunk);
      let end: number;
      while ((end = output.indexOf('\n')) >= 0) {
        yield output.slice(0, end);
        output = output.slice(end + 1);
      }
    }
  })();
  const first = await lines.next();
  if (first.done || !(JSON.parse(first.value) as { ready?: boolean }).ready)
    throw new Error('bench event streams did not open');
  return {
    async stop() {
      child.stdin.end('stop\n');
      const last = await lines.next();
      if (last.done) throw new Error('bench event streams exited without a report');
      return JSON.parse(last.value) as Awaited<ReturnType<HeldStreams['stop']>>;
    },
  };
}

/**
 * What N open dashboards cost the dispatcher: the execution-only run and the steady load, without and with
 * N streams, in turn (so drift on the machine touches both sides alike); medians per side.
 */
async function compareWithEventStreams(service: Service) {
  const without: Array<{
    steady: Awaited<ReturnType<typeof steadyLoad>>;
    execution: Awaited<ReturnType<typeof executionOnly>>;
  }> = [];
  const withStreams: typeof without = [];
  const received: number[] = [];
  for (let round = 0; round < EVENT_STREAM_ROUNDS; round++) {
    without.push({
      execution: await executionOnly(service),
      steady: await steadyLoad(service),
    });
    const streams = await holdEventStreams(service.url, EVENT_STREAMS);
    withStreams.push({
      execution: await executionOnly(service),
      steady: await steadyLoad(service),
    });
    const report = await streams.stop();
    received.push(report.events / report.streams);
  }
  const side = (runs: typeof without) => ({
    eventLoopUsPerJob: median(runs.map((run) => run.execution.eventLoopUsPerJob)),
    cpuUsPerJob: median(runs.map((run) => run.execution.cpuUsPerJob)),
    dispatchOverheadMs: {
      p50: median(runs.map((run) => run.steady.dispatchOverheadMs.p50)),
      p99: median(runs.map((run) => run.steady.dispatchOverheadMs.p99)),
    },
    submitLatencyMsP50: median(runs.map((run) => run.steady.submitLatencyMs.p50)),
  });
  const base = side(without);
  const loaded = side(withStreams);
  const ratio = (a: number, b: number) => Number((a / b).toFixed(3));
  return {
    streams: EVENT_STREAMS,
    rounds: EVENT_STREAM_ROUNDS,
    eventsReceivedPerStreamPerRound: Math.round(median(received)),
    without: base,
    with: loaded,
    ratio: {
      eventLoopUsPerJob: ratio(loaded.eventLoopUsPerJob, base.eventLoopUsPerJob),
      cpuUsPerJob: ratio(loaded.cpuUsPerJob, base.cpuUsPerJob),
      dispatchOverheadP50: ratio(loaded.dispatchOverheadMs.p50, base.dispatchOverheadMs.p50),
      dispatchOverheadP99: ratio(loaded.dispatchOverheadMs.p99, base.dispatchOverheadMs.p99),
    },
  };
}

async function main(): Promise<void> {
  const workers = await startWorkers(WORKERS, WORKERS);
  const backlog = await startService(workers.busy);
  // RunPod configured, no local worker: every job waits for a pod. The autoscaler does not tick during the
  // benchmark, so none comes and the queue only grows.
  const waitingForPods = await startService([], {
    ...workers.runpodEnv,
    RUNPOD_DOCKER_IMAGE: 'example/comfyui:latest',
    CLOUD_TICK_INTERVAL: '3600000',
    CLOUD_SWEEP_INTERVAL: '3600000',
  });
  const instant = await startService(workers.instant);
  const bare = await NestFactory.create(BareModule, { logger: ['error'] });
  bare.useGlobalPipes(new ValidationPipe({ whitelist: true, transform: true, forbidNonWhitelisted: true }));
  const bareUrl = await listen(bare, 0, '127.0.0.1');

  // Warm every path (JIT, connection pools, SQLite statement cache).
  for (let i = 0; i < 200; i++) {
    await post(`${bareUrl}/bench/bare`);
    await post(`${backlog.url}/api/jobs`);
    await post(`${waitingForPods.url}/api/jobs`);
    await post(`${instant.url}/api/jobs`);
  }
  await waitForIdle(instant.app);

  // The three loops in turn, ROUNDS times, so drift on the machine touches each alike; medians reported.
  type Run = Awaited<ReturnType<typeof closedLoop>>;
  const bareRuns: Run[] = [];
  const backlogRuns: Run[] = [];
  const podWaitRuns: Run[] = [];
  const executingRuns: Run[] = [];
  const completedPerSecond: number[] = [];
  const events = instant.app.get(EventEmitter2);
  for (let round = 0; round < ROUNDS; round++) {
    bareRuns.push(await closedLoop(`${bareUrl}/bench/bare`));
    backlogRuns.push(await closedLoop(`${backlog.url}/api/jobs`));
    podWaitRuns.push(await closedLoop(`${waitingForPods.url}/api/jobs`));
    let completed = 0;
    const countCompleted = () => void completed++;
    events.on(JobEvents.Completed, countCompleted);
    executingRuns.push(await closedLoop(`${instant.url}/api/jobs`));
    events.off(JobEvents.Completed, countCompleted);
    completedPerSecond.push(completed / DURATION_S);
    await waitForIdle(instant.app);
  }
  const bareResult = medianRun(bareRuns);
  const backlogResult = medianRun(backlogRuns);
  const podWaitResult = medianRun(podWaitRuns);
  const executingResult = medianRun(executingRuns);
  const completed = median(completedPerSecond);

  const execution = await executionOnly(instant);
  const steady = await steadyLoad(instant);
  const eventStreams = EVENT_STREAMS > 0 ? await compareWithEventStreams(instant) : undefined;

  const ratio = (result: LoopResult) => Number((result.rate / bareResult.rate).toFixed(3));
  const result = {
    setup: {
      loadGenerator: 'separate process, node:http keep-alive',
      concurrency: CONCURRENCY,
      durationS: DURATION_S,
      rounds: ROUNDS,
      workers: WORKERS,
      slotsPerWorker: SLOTS_PER_WORKER,
      database: instant.database,
    },
    bareRoute: {
      requestsPerSecond: Math.round(bareResult.rate),
      errors: bareResult.errors,
      loadGeneratorBusy: Number(bareResult.busy.toFixed(2)),
      eventLoopUsPerRequest: Math.round(bareResult.eventLoopUs),
    },
    submitWithBacklog: {
      requestsPerSecond: Math.round(backlogResult.rate),
      errors: backlogResult.errors,
      ratioToBare: ratio(backlogResult),
      eventLoopUsPerRequest: Math.round(backlogResult.eventLoopUs),
    },
    submitWhileWaitingForPods: {
      requestsPerSecond: Math.round(podWaitResult.rate),
      errors: podWaitResult.errors,
      ratioToBare: ratio(podWaitResult),
      eventLoopUsPerRequest: Math.round(podWaitResult.eventLoopUs),
    },
    submitWhileExecuting: {
      requestsPerSecond: Math.round(executingResult.rate),
      errors: executingResult.errors,
      ratioToBare: ratio(executingResult),
      jobsCompletedPerSecond: Math.round(completed),
    },
    executionOnly: execution,
    steadyLoad: steady,
    ...(eventStreams ? { eventStreams } : {}),
    targets: {
      submitPathAtLeastHalfOfBare: ratio(backlogResult) >= 0.5 && ratio(podWaitResult) >= 0.5,
      dispatchP99Below20ms: steady.dispatchOverheadMs.p99 < 20,
      ...(eventStreams
        ? {
            eventStreamsWithin10Percent:
              eventStreams.ratio.cpuUsPerJob <= 1.1 && eventStreams.ratio.dispatchOverheadP50 <= 1.1,
          }
        : {}),
    },
  };
  console.log(JSON.stringify(result, null, 2));

  await Promise.all([backlog.app.close(), waitingForPods.app.close(), instant.app.close(), bare.close()]);
  workers.process.kill('SIGTERM');
  for (const service of [backlog, waitingForPods, instant])
    rmSync(service.dataDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
