import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataSource, QueryFailedError } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { dataSourceOptions } from './data-source-options';
import { JobEntity } from './entities/job.entity';
import { JobsRepository } from './jobs.repository';
import { type SqliteConnection, SqliteGroupCommit } from './sqlite-group-commit';

const T0 = Date.UTC(2026, 11, 2, 18);

function job(id: string): JobEntity {
  return Object.assign(new JobEntity(), {
    id,
    status: 'queued' as const,
    requestedBackend: 'auto' as const,
    backend: null,
    workerId: null,
    priority: 0,
    attempts: 0,
    workflow: '{}',
    inputImages: '[]',
    metadata: '{}',
    progress: null,
    remoteId: null,
    podOnly: false,
    failedWorkers: '[]',
    waitingReason: null,
    cancelRequested: false,
    createdAt: T0,
    startedAt: null,
    completedAt: null,
    costUsd: 0,
    outputs: '[]',
    error: null,
  });
}

describe('SqliteGroupCommit (SQLite, through the jobs repository)', () => {
  let dir: string;
  let dataSource: DataSource;
  let jobs: JobsRepository;
  let connection: SqliteConnection & { exec(sql: string): unknown };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'group-commit-'));
    dataSource = await new DataSource(dataSourceOptions(loadConfig({ DATA_DIR: dir }))).initialize();
    jobs = new JobsRepository(dataSource.getRepository(JobEntity));
    connection = (dataSource.driver as unknown as { databaseConnection: typeof connection })
      .databaseConnection;
  });
  afterAll(async () => {
    await dataSource.destroy();
    rmSync(dir, { recursive: true, force: true });
  });
  beforeEach(async () => {
    await dataSource.getRepository(JobEntity).clear();
  });

  /** Counts the transactions the connection commits (better-sqlite3's `transaction` wrapper, spied). */
  function countGroups(): { groups: number; restore(): void } {
    const original = connection.transaction.bind(connection);
    const counter = { groups: 0, restore: () => void (connection.transaction = original) };
    connection.transaction = (run) => {
      counter.groups++;
      return original(run);
    };
    return counter;
  }

  it('commits the inserts of one turn of the event loop in one transaction, and each caller hears its own', async () => {
    const counter = countGroups();
    try {
      await Promise.all(Array.from({ length: 20 }, (_, i) => jobs.insert(job(`job-${i}`))));
    } finally {
      counter.restore();
    }
    expect(counter.groups).toBe(1);
    expect(await dataSource.getRepository(JobEntity).count()).toBe(20);
    const read = await jobs.findById('job-7');
    expect(read).toMatchObject({ id: 'job-7', status: 'queued', podOnly: false, cancelRequested: false });
  });

  it('fails only the bad row of a group: the others are committed', async () => {
    await jobs.insert(job('job-taken'));
    const results = await Promise.allSettled([
      jobs.insert(job('job-a')),
      jobs.insert(job('job-taken')),
      jobs.insert(job('job-b')),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const reason = (results[1] as PromiseRejectedResult).reason as QueryFailedError;
    expect(reason).toBeInstanceOf(QueryFailedError);
    expect(String(reason.message)).toMatch(/UNIQUE/);
    // The caller's values stay out of the error (they may hold a webhook URL or a workflow).
    expect(reason.parameters).toEqual([]);
    const ids = (await dataSource.getRepository(JobEntity).find()).map((j) => j.id).sort();
    expect(ids).toEqual(['job-a', 'job-b', 'job-taken']);
  });

  it('writes alone inside a transaction someone else holds open', async () => {
    const group = new SqliteGroupCommit(() => connection);
    connection.exec('CREATE TABLE IF NOT EXISTS group_commit_probe (id TEXT PRIMARY KEY)');
    const sql = 'INSERT INTO group_commit_probe (id) VALUES (?)';
    connection.exec('BEGIN');
    const counter = countGroups();
    try {
      await Promise.all([group.run(sql, ['x']), group.run(sql, ['y'])]);
    } finally {
      counter.restore();
      connection.exec('ROLLBACK');
    }
    // No nested group: the writes belonged to the open transaction, and its rollback took them.
    expect(counter.groups).toBe(0);
    expect(await dataSource.query('SELECT COUNT(*) AS n FROM group_commit_probe')).toEqual([{ n: 0 }]);
  });

  it('rejects every waiting write when there is no connection, instead of throwing out of the loop', async () => {
    const group = new SqliteGroupCommit(() => {
      throw new Error('The database connection is not open');
    });
    const results = await Promise.allSettled([group.run('INSERT 1', []), group.run('INSERT 2', [])]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
  });
});
