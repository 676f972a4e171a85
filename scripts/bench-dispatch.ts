/**
 * `npm run bench:dispatch`: how fast the job API takes submissions, and how long a queued job waits before
 * it is dispatched to a free worker, with instant simulated workers (fake ComfyUI, 0 ms per node).
 *
 * 1. Submit rate: closed loop, CONCURRENCY clients for DURATION_S, POST /api/jobs vs. a bare Nest route
 *    (same framework, same body parser and validation pipe, no work) in the same run.
 * 2. Dispatch overhead at a steady 100 submits/s: from the job's `jobQueued` event to its `jobStarted`
 *    event (the dispatcher chose a worker, claimed the job in the database and sent it), p50 / p99.
 * The service, the bare app and the load generator share this process; the fake workers run in a child process.
 */
import 'reflect-metadata';
import { Body, Controller, type INestApplication, Module, Post, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { createApp, listen } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';
import { SubmitJobDto } from '../src/jobs/dto/submit-job.dto';
import { JobEvents } from '../src/jobs/job.events';

const DURATION_S = Number(process.env.BENCH_DURATION_S ?? 5);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const RATE = Number(process.env.BENCH_RATE ?? 100);
const RATE_DURATION_S = Number(process.env.BENCH_RATE_DURATION_S ?? 10);

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

async function closedLoop(url: string): Promise<{ rate: number; count: number; errors: number }> {
  const deadline = performance.now() + DURATION_S * 1000;
  let count = 0;
  let errors = 0;
  const client = async () => {
    while (performance.now() < deadline) {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
      });
      await response.arrayBuffer();
      if (response.status < 300) count++;
      else errors++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, client));
  return { rate: count / ((performance.now() - started) / 1000), count, errors };
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

/** The fake workers run in a child process, so only the service's own work shares this event loop. */
async function startWorkers(count: number): Promise<{ urls: string[]; process: ChildProcess }> {
  const child = spawn(
    process.execPath,
    ['-r', 'ts-node/register/transpile-only', join('scripts', 'bench-workers.ts'), String(count)],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
    },
  );
  let output = '';
  for await (const chunk of child.stdout) {
    output += String(chunk);
    const line = output.split('\n').find((candidate) => candidate.startsWith('{'));
    if (line) return { urls: (JSON.parse(line) as { urls: string[] }).urls, process: child };
  }
  throw new Error('bench workers did not start');
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-dispatch-'));
  const workers = await startWorkers(4);
  const config = loadConfig({
    DATA_DIR: dataDir,
    DATABASE_URL: process.env.DATABASE_URL,
    LOCAL_COMFYUI_URLS: process.env.BENCH_NO_WORKERS ? '' : workers.urls.join(','),
    LOCAL_WORKER_CONCURRENCY: '8',
  });
  const app = await createApp({ config, logger: ['error'] });
  const serviceUrl = await listen(app, 0, '127.0.0.1');

  const bare = await NestFactory.create(BareModule, { logger: ['error'] });
  bare.useGlobalPipes(new ValidationPipe({ whitelist: true, transform: true, forbidNonWhitelisted: true }));
  const bareUrl = await listen(bare, 0, '127.0.0.1');

  // Warm both paths (JIT, connection pools, SQLite statement cache).
  for (let i = 0; i < 200; i++) {
    await fetch(`${bareUrl}/bench/bare`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
    });
    await fetch(`${serviceUrl}/api/jobs`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: BODY,
    });
  }
  await waitForIdle(app);

  const bareResult = await closedLoop(`${bareUrl}/bench/bare`);
  const submitResult = await closedLoop(`${serviceUrl}/api/jobs`);
  await waitForIdle(app);

  // Dispatch overhead at a steady rate.
  const events = app.get(EventEmitter2);
  const queuedAt = new Map<string, number>();
  const overheads: number[] = [];
  const submitLatencies: number[] = [];
  events.on(JobEvents.Queued, ({ jobId }: { jobId: string }) => queuedAt.set(jobId, performance.now()));
  events.on(JobEvents.Started, ({ jobId }: { jobId: string }) => {
    const at = queuedAt.get(jobId);
    if (at !== undefined) overheads.push(performance.now() - at);
  });
  const total = RATE * RATE_DURATION_S;
  const start = performance.now();
  const pending: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    const sent = performance.now();
    pending.push(
      fetch(`${serviceUrl}/api/jobs`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: BODY,
      }).then(async (response) => {
        await response.arrayBuffer();
        submitLatencies.push(performance.now() - sent);
      }),
    );
  }
  await Promise.all(pending);
  await waitForIdle(app);
  const achievedRate = total / ((performance.now() - start) / 1000);

  overheads.sort((a, b) => a - b);
  submitLatencies.sort((a, b) => a - b);
  const ratio = submitResult.rate / bareResult.rate;
  const result = {
    setup: {
      concurrency: CONCURRENCY,
      durationS: DURATION_S,
      workers: 4,
      slotsPerWorker: 8,
      database: config.databaseUrl ? 'postgres' : 'sqlite',
    },
    bareRoute: { requestsPerSecond: Math.round(bareResult.rate), errors: bareResult.errors },
    submitRoute: {
      requestsPerSecond: Math.round(submitResult.rate),
      errors: submitResult.errors,
      ratioToBare: Number(ratio.toFixed(3)),
    },
    steadyLoad: {
      targetRate: RATE,
      achievedRate: Number(achievedRate.toFixed(1)),
      jobs: overheads.length,
      submitLatencyMs: {
        p50: Number(percentile(submitLatencies, 50).toFixed(2)),
        p99: Number(percentile(submitLatencies, 99).toFixed(2)),
      },
      dispatchOverheadMs: {
        p50: Number(percentile(overheads, 50).toFixed(2)),
        p99: Number(percentile(overheads, 99).toFixed(2)),
        max: Number((overheads.at(-1) ?? NaN).toFixed(2)),
      },
    },
    targets: {
      submitAtLeastHalfOfBare: ratio >= 0.5,
      dispatchP99Below20ms: percentile(overheads, 99) < 20,
    },
  };
  console.log(JSON.stringify(result, null, 2));

  await app.close();
  await bare.close();
  workers.process.kill('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
