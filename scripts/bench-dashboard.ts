/**
 * `npm run bench:dashboard`: the dashboard's reads at a studio's scale. Seeds BENCH_JOBS (100,000) jobs over a
 * year and a year of cost history (pods' per-day ledger rows and pod rows, one serverless ledger row per
 * serverless job) into SQLite (or PostgreSQL when DATABASE_URL is set, in a scratch schema dropped afterwards),
 * boots the service, and times over HTTP (keep-alive, one request at a time, BENCH_REPEAT calls each):
 * the jobs list's first page, filtered pages, a deep cursor page; the cost history for a year by day and for
 * 93 days by hour. Prints p50/p95 per case. Target: the list answers in under 50 ms.
 */
import 'reflect-metadata';
import { getRepositoryToken } from '@nestjs/typeorm';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client } from 'pg';
import type { Repository } from 'typeorm';
import { createApp, listen } from '../src/bootstrap';
import { podCostByDay } from '../src/cloud/policy/pod-cost';
import { HOUR } from '../src/common/clock';
import { loadConfig } from '../src/config/app-config';
import { encodeJobListCursor } from '../src/jobs/job-list-cursor';
import { CLOUD_WORKERS_DATA_SOURCE } from '../src/persistence/data-source-name';
import { type JobBackend, JobEntity, type JobStatus } from '../src/persistence/entities/job.entity';
import { LedgerEntryEntity } from '../src/persistence/entities/ledger-entry.entity';
import { PodEntity } from '../src/persistence/entities/pod.entity';

const JOBS = Number(process.env.BENCH_JOBS ?? 100_000);
const REPEAT = Number(process.env.BENCH_REPEAT ?? 40);
const PODS_PER_DAY = 3;
const DAY = 24 * HOUR;
const SERVERLESS_PRICE_PER_SECOND = 0.00034;

/** Deterministic pseudo-random numbers, so every run seeds the same data. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

function pick<T>(roll: number, weighted: Array<[T, number]>): T {
  let total = 0;
  for (const [value, weight] of weighted) {
    total += weight;
    if (roll < total) return value;
  }
  return weighted[weighted.length - 1][0];
}

async function insertChunks<T extends object>(repository: Repository<T>, rows: T[], size: number) {
  for (let i = 0; i < rows.length; i += size) {
    await repository.insert(rows.slice(i, i + size));
  }
}

async function seed(app: Awaited<ReturnType<typeof createApp>>, now: number, postgres: boolean) {
  const token = (entity: object) => getRepositoryToken(entity as never, CLOUD_WORKERS_DATA_SOURCE);
  const jobs = app.get<Repository<JobEntity>>(token(JobEntity), { strict: false });
  const ledger = app.get<Repository<LedgerEntryEntity>>(token(LedgerEntryEntity), { strict: false });
  const pods = app.get<Repository<PodEntity>>(token(PodEntity), { strict: false });
  const roll = random(42);
  const yearAgo = now - 365 * DAY;
  const workflow = JSON.stringify({ '1': { class_type: 'EmptyImage', inputs: {} } });

  const jobRows: JobEntity[] = [];
  const serverlessRows: LedgerEntryEntity[] = [];
  for (let i = 0; i < JOBS; i++) {
    const createdAt = Math.floor(yearAgo + (i / JOBS) * 365 * DAY);
    // Ended jobs only: the dispatcher must not start working on the seed while it is measured.
    const status = pick<JobStatus>(roll(), [
      ['completed', 0.9],
      ['failed', 0.06],
      ['cancelled', 0.04],
    ]);
    const backend = pick<JobBackend>(roll(), [
      ['local', 0.6],
      ['serverless', 0.25],
      ['pod', 0.15],
    ]);
    const runMs = Math.floor(5000 + roll() * 60_000);
    const id = `job-bench-${i.toString().padStart(7, '0')}`;
    const costUsd = backend === 'serverless' ? Math.ceil(runMs / 1000) * SERVERLESS_PRICE_PER_SECOND : 0;
    jobRows.push(
      Object.assign(new JobEntity(), {
        id,
        status,
        requestedBackend: 'auto',
        backend,
        workerId: backend === 'local' ? 'local-1' : null,
        workflow,
        createdAt,
        startedAt: createdAt + 200,
        completedAt: createdAt + 200 + runMs,
        costUsd,
        outputs:
          status === 'completed'
            ? '[{"filename":"ComfyUI_00001_.png","contentType":"image/png","size":1}]'
            : '[]',
      }),
    );
    if (backend === 'serverless' && status !== 'cancelled') {
      const at = createdAt + 200 + runMs;
      serverlessRows.push(
        Object.assign(new LedgerEntryEntity(), {
          key: `serverless:${id}:1`,
          kind: 'serverless',
          source: 'serverless',
          day: new Date(at).toISOString().slice(0, 10),
          amountUsd: costUsd,
          updatedAt: at,
        }),
      );
    }
  }

  const podRows: PodEntity[] = [];
  const podLedger: LedgerEntryEntity[] = [];
  for (let day = 0; day < 365; day++) {
    for (let n = 0; n < PODS_PER_DAY; n++) {
      const createdAt = Math.floor(yearAgo + day * DAY + roll() * DAY);
      const end = Math.min(now, createdAt + Math.floor((0.5 + roll() * 6) * HOUR));
      const costPerHour = pick(roll(), [
        [0.34, 0.5],
        [0.69, 0.3],
        [2.39, 0.2],
      ]);
      const runpodId = `benchpod${day.toString().padStart(3, '0')}${n}`;
      podRows.push(
        Object.assign(new PodEntity(), {
          name: `comfyui-worker-bench-${day}-${n}`,
          runpodId,
          state: 'terminated',
          origin: 'autoscale',
          gpuTypeId: 'NVIDIA RTX A4000',
          costPerHour,
          requestedAt: createdAt,
          createdAt,
          readyAt: createdAt + 120_000,
          terminatedAt: end,
          billedThrough: end,
          costUsd: (costPerHour * (end - createdAt)) / HOUR,
        }),
      );
      for (const slice of podCostByDay(costPerHour, createdAt, end))
        podLedger.push(
          Object.assign(new LedgerEntryEntity(), {
            key: `pod:${runpodId}:${slice.day}`,
            kind: 'pod',
            source: runpodId,
            day: slice.day,
            amountUsd: slice.amountUsd,
            updatedAt: end,
          }),
        );
    }
  }

  await insertChunks(jobs, jobRows, 500);
  await insertChunks(ledger, [...serverlessRows, ...podLedger], 500);
  await insertChunks(pods, podRows, 500);
  // What a long-running database has: planner statistics (PostgreSQL autovacuum; SQLite's optimize).
  await jobs.query(postgres ? 'ANALYZE' : 'PRAGMA optimize');
  return {
    jobRows,
    serverlessRows: serverlessRows.length,
    podRows: podRows.length,
    podLedger: podLedger.length,
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function time(url: string): Promise<{ p50: number; p95: number; bytes: number }> {
  const samples: number[] = [];
  let bytes = 0;
  for (let i = 0; i < REPEAT + 3; i++) {
    const start = performance.now();
    const response = await fetch(url);
    const body = await response.arrayBuffer();
    const elapsed = performance.now() - start;
    if (response.status !== 200) throw new Error(`${url} answered ${response.status}`);
    bytes = body.byteLength;
    if (i >= 3) samples.push(elapsed); // the first calls warm up statement caches and the JIT
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p95: percentile(samples, 95), bytes };
}

async function main(): Promise<void> {
  const dataDir = mkdtempSync(join(tmpdir(), 'bench-dashboard-'));
  const databaseUrl = process.env.DATABASE_URL || undefined;
  const schema = databaseUrl ? `bench_dashboard_${process.pid}` : undefined;
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    PORT: '0',
    LOG_LEVEL: 'warn',
    ...(databaseUrl && schema ? { DATABASE_URL: databaseUrl, DATABASE_SCHEMA: schema } : {}),
  };
  const config = loadConfig(env);
  const app = await createApp({ config });
  try {
    const base = await listen(app, 0, '127.0.0.1');
    const now = Date.now();
    const seedStart = performance.now();
    const seeded = await seed(app, now, Boolean(databaseUrl));
    console.log(
      `${databaseUrl ? 'PostgreSQL' : 'SQLite'}: seeded ${JOBS} jobs, ${seeded.podRows} pods, ` +
        `${seeded.podLedger} pod ledger rows, ${seeded.serverlessRows} serverless ledger rows ` +
        `in ${((performance.now() - seedStart) / 1000).toFixed(1)} s`,
    );
    const sorted = seeded.jobRows.sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
    const deep = sorted[Math.floor(sorted.length * 0.9)];
    const iso = (ms: number) => new Date(ms).toISOString();
    const cases: Array<[string, string]> = [
      ['jobs: first page (50)', '/api/jobs?limit=50'],
      ['jobs: first page (500)', '/api/jobs?limit=500'],
      ['jobs: status=failed', '/api/jobs?status=failed&limit=50'],
      ['jobs: backend=pod', '/api/jobs?backend=pod&limit=50'],
      ['jobs: backend=serverless&status=cancelled', '/api/jobs?backend=serverless&status=cancelled&limit=50'],
      ['jobs: deep cursor (90% down)', `/api/jobs?limit=50&cursor=${encodeJobListCursor(deep)}`],
      [
        'jobs: deep cursor, backend=local&status=completed',
        `/api/jobs?backend=local&status=completed&limit=50&cursor=${encodeJobListCursor(deep)}`,
      ],
      [
        'cost: 365 days by day',
        `/api/cloud/cost/history?granularity=day&from=${iso(now - 365 * DAY)}&to=${iso(now)}`,
      ],
      [
        'cost: 93 days by hour',
        `/api/cloud/cost/history?granularity=hour&from=${iso(now - 93 * DAY)}&to=${iso(now)}`,
      ],
      [
        'cost: 93 days by hour, CSV',
        `/api/cloud/cost/history?granularity=hour&from=${iso(now - 93 * DAY)}&to=${iso(now)}&format=csv`,
      ],
      ['cost: default (7 days by day)', '/api/cloud/cost/history'],
    ];
    console.log(
      `${'case'.padEnd(52)} ${'p50 ms'.padStart(8)} ${'p95 ms'.padStart(8)} ${'bytes'.padStart(9)}`,
    );
    for (const [name, path] of cases) {
      const result = await time(`${base}${path}`);
      console.log(
        `${name.padEnd(52)} ${result.p50.toFixed(2).padStart(8)} ${result.p95.toFixed(2).padStart(8)} ${String(result.bytes).padStart(9)}`,
      );
    }
  } finally {
    await app.close();
    rmSync(dataDir, { recursive: true, force: true });
    if (databaseUrl && schema) {
      const client = new Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await client.end();
    }
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
