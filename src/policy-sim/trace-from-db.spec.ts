import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { JobEntity } from '../persistence/entities/job.entity';
import { dataSourceOptions } from '../persistence/data-source-options';
import { jobKind, jobRowsToWorkload, loadTraceFromDb } from './trace-from-db';

const T0 = Date.UTC(2026, 0, 5, 9);
const IMAGE_WORKFLOW = JSON.stringify({
  '1': { class_type: 'CheckpointLoaderSimple', inputs: {} },
  '9': { class_type: 'SaveImage', inputs: {} },
});

function job(id: string, fields: Partial<JobEntity>): Partial<JobEntity> {
  return {
    id,
    status: 'completed',
    requestedBackend: 'auto',
    workflow: IMAGE_WORKFLOW,
    createdAt: T0,
    startedAt: null,
    completedAt: null,
    ...fields,
  };
}

describe('--from-db: the service database as a trace', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'bench-from-db-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads the jobs table of a SQLite file built by the service's migrations", async () => {
    // The service's own data source (migrations included) writes the file, then closes it as a stopped service would.
    const writer = await new DataSource(dataSourceOptions(loadConfig({ DATA_DIR: dir }))).initialize();
    await writer.getRepository(JobEntity).insert([
      // Completed image: queued 4 s, ran 6.5 s.
      job('a', { createdAt: T0 + 10_000, startedAt: T0 + 14_000, completedAt: T0 + 20_500 }),
      // Completed with no video hint, 90 s: video by duration.
      job('b', { createdAt: T0, startedAt: T0 + 1000, completedAt: T0 + 91_000, workflow: '{}' }),
      // A video output makes it video whatever its duration.
      job('c', {
        createdAt: T0 + 30_000,
        startedAt: T0 + 30_000,
        completedAt: T0 + 40_000,
        outputs: JSON.stringify([{ filename: 'x.mp4', contentType: 'video/mp4', size: 1 }]),
      }),
      // Failed after running 3 s: replayed (it held a GPU).
      job('d', {
        status: 'failed',
        createdAt: T0 + 50_000,
        startedAt: T0 + 51_000,
        completedAt: T0 + 54_000,
      }),
      // Cancelled in the queue, never ran: skipped.
      job('e', { status: 'cancelled', createdAt: T0 + 60_000, completedAt: T0 + 61_000 }),
      // The service classed it as a video at submit (workload_kind): that is its kind, whatever it took.
      job('h', {
        createdAt: T0 + 65_000,
        startedAt: T0 + 65_000,
        completedAt: T0 + 70_000,
        workloadKind: 'video',
      }),
      // Still running: skipped.
      job('f', { status: 'running', createdAt: T0 + 70_000, startedAt: T0 + 71_000 }),
      // Outside --since: not read.
      job('g', { createdAt: T0 - 3_600_000, startedAt: T0 - 3_600_000, completedAt: T0 - 3_590_000 }),
    ]);
    await writer.destroy();

    const { workload, summary, where } = await loadTraceFromDb({ dataDir: dir, sinceMs: T0, env: {} });
    expect(where).toBe(join(dir, 'cloud-workers.sqlite'));
    expect(summary).toEqual({
      replayed: 5,
      completed: 4,
      endedAfterRun: 1,
      skippedNeverRan: 1,
      skippedUnfinished: 1,
    });
    expect(workload.jobs.map((j) => [j.id, j.arrivalS, j.durationS, j.kind])).toEqual([
      [0, 0, 90, 'video'],
      [1, 10, 6.5, 'image'],
      [2, 30, 10, 'video'],
      [3, 50, 3, 'image'],
      [4, 65, 5, 'video'],
    ]);
    // One workflow, one signature; an empty workflow has none.
    expect(workload.jobs[1].signature).toMatch(/^[0-9a-f]{12}$/);
    expect(workload.jobs[3].signature).toBe(workload.jobs[1].signature);
    expect(workload.jobs[0].signature).toBeUndefined();
    expect(workload.horizonS).toBe(66);

    const until = await loadTraceFromDb({ dataDir: dir, sinceMs: T0, untilMs: T0 + 30_000, env: {} });
    expect(until.workload.jobs).toHaveLength(2);
  });

  it('reads a database from before workload_kind (not migrated since), classing jobs by what they did', async () => {
    const writer = await new DataSource(dataSourceOptions(loadConfig({ DATA_DIR: dir }))).initialize();
    await writer
      .getRepository(JobEntity)
      .insert([
        job('a', {
          createdAt: T0,
          startedAt: T0,
          completedAt: T0 + 90_000,
          workflow: '{}',
          workloadKind: 'image',
        }),
      ]);
    await writer.query('ALTER TABLE jobs DROP COLUMN workload_kind');
    await writer.destroy();

    const { workload } = await loadTraceFromDb({ dataDir: dir, env: {} });
    expect(workload.jobs.map((j) => [j.durationS, j.kind])).toEqual([[90, 'video']]);
  });

  it('says where the database is missing instead of creating one', async () => {
    await expect(loadTraceFromDb({ dataDir: join(dir, 'nothing'), env: {} })).rejects.toThrow(
      /no service database at .*cloud-workers\.sqlite/,
    );
  });

  it("classifies by the service's workload_kind, then outputs, then workflow nodes, then duration", () => {
    const wan = JSON.stringify({ '1': { class_type: 'WanImageToVideo' } });
    expect(jobKind({ workflow: wan, outputs: '[]' }, 5)).toBe('video');
    expect(jobKind({ workflow: IMAGE_WORKFLOW, outputs: '[]' }, 500)).toBe('image');
    expect(jobKind({ workflow: '{}', outputs: '[]' }, 61)).toBe('video');
    expect(jobKind({ workflow: wan, outputs: JSON.stringify([{ contentType: 'image/png' }]) }, 500)).toBe(
      'image',
    );
    // The service's own class comes first.
    expect(jobKind({ workflow: wan, outputs: '[]', workloadKind: 'image' }, 500)).toBe('image');
    expect(jobKind({ workflow: IMAGE_WORKFLOW, outputs: '[]', workloadKind: 'video' }, 5)).toBe('video');
    expect(jobKind({ workflow: IMAGE_WORKFLOW, outputs: '[]', workloadKind: null }, 5)).toBe('image');
    expect(jobRowsToWorkload([], 'empty').workload.jobs).toEqual([]);
  });
});
