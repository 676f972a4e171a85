import { Client } from 'pg';
import { DataSource } from 'typeorm';
import { loadConfig } from '../src/config/app-config';
import { dataSourceOptions } from '../src/persistence/data-source-options';
import { JobEntity } from '../src/persistence/entities/job.entity';
import { PodEntity } from '../src/persistence/entities/pod.entity';
import { JobsRepository } from '../src/persistence/jobs.repository';
import { PodsRepository } from '../src/persistence/pods.repository';
import { TestDatabase } from './support/test-database';

/**
 * The dispatcher's hand-written SQL (EntitySql) against the real database of this pass (SQLite by default,
 * PostgreSQL in CI's second pass): every job column survives a round trip with TypeORM's conversions, the
 * compare-and-set transitions hold, the dispatch read comes back in order from the index, pods are counted.
 */
describe('hand-written queue SQL (JobsRepository, PodsRepository)', () => {
  let database: TestDatabase;
  let dataSource: DataSource;
  let jobs: JobsRepository;
  let pods: PodsRepository;

  function job(id: string, overrides: Partial<JobEntity> = {}): JobEntity {
    return Object.assign(new JobEntity(), {
      id,
      status: 'queued' as const,
      requestedBackend: 'auto' as const,
      backend: null,
      workerId: null,
      priority: 0,
      attempts: 0,
      workflow: '{"1":{"class_type":"EmptyImage","inputs":{}}}',
      inputImages: '[]',
      metadata: '{"user":"alice"}',
      webhookUrl: null,
      progress: null,
      remoteId: null,
      podOnly: false,
      failedWorkers: '[]',
      waitingReason: null,
      cancelRequested: false,
      createdAt: 1_795_000_000_000,
      startedAt: null,
      completedAt: null,
      costUsd: 0,
      outputs: '[]',
      error: null,
      estimate: null,
      deadline: null,
      maxCostUsd: null,
      plannedBackend: null,
      workloadKind: null,
      ...overrides,
    });
  }

  beforeEach(async () => {
    database = new TestDatabase();
    const config = loadConfig(database.env());
    if (config.databaseUrl && config.databaseSchema) {
      const client = new Client({ connectionString: config.databaseUrl });
      await client.connect();
      await client.query(`CREATE SCHEMA IF NOT EXISTS "${config.databaseSchema}"`);
      await client.end();
    }
    dataSource = await new DataSource(dataSourceOptions(config)).initialize();
    jobs = new JobsRepository(dataSource.getRepository(JobEntity));
    pods = new PodsRepository(dataSource.getRepository(PodEntity));
  });

  /** SQLite's plan for a statement: its steps' details, one per line. */
  async function sqlitePlan(sql: string, values: unknown[] = []): Promise<string> {
    const rows = await dataSource.query<Array<{ detail: string }>>(`EXPLAIN QUERY PLAN ${sql}`, values);
    return rows.map((row) => row.detail).join('\n');
  }

  afterEach(async () => {
    await dataSource.destroy();
    await database.drop();
  });

  it('stores and reads back every column with its type (booleans, bigint epochs, doubles, nulls)', async () => {
    const stored = job('job-a', {
      podOnly: true,
      cancelRequested: true,
      priority: -3,
      attempts: 2,
      costUsd: 0.012345,
      startedAt: 1_795_000_000_123,
      waitingReason: 'waiting for a pod',
      estimate: '{"backend":"pod","costUsd":0.0021}',
      deadline: 1_795_000_600_000,
      maxCostUsd: 0.25,
      plannedBackend: 'serverless',
      workloadKind: 'video',
    });
    await jobs.insert(stored);

    const read = await jobs.findById('job-a');
    expect(read).toBeInstanceOf(JobEntity);
    expect({ ...read }).toEqual({ ...stored });
    // The repository's own TypeORM reads agree with the hand-written ones.
    expect({ ...(await dataSource.getRepository(JobEntity).findOneBy({ id: 'job-a' })) }).toEqual({
      ...stored,
    });
    expect(await jobs.findById('job-missing')).toBeNull();
  });

  it('leaves columns a caller does not set to the table defaults', async () => {
    const partial = job('job-defaults');
    for (const property of ['outputs', 'metadata', 'podOnly', 'costUsd'] as const) delete partial[property];
    await jobs.insert(partial);
    expect(await jobs.findById('job-defaults')).toMatchObject({
      outputs: '[]',
      metadata: '{}',
      podOnly: false,
      costUsd: 0,
    });
  });

  it('transitions only from the given states, and a claim returns the whole updated row', async () => {
    await jobs.insert(job('job-b'));

    expect(await jobs.transition('job-b', ['running'], { status: 'completed' })).toBe(false);
    const claimed = await jobs.claim('job-b', ['queued'], {
      status: 'running',
      backend: 'local',
      workerId: 'local-1',
      attempts: 1,
      startedAt: 1_795_000_001_000,
      waitingReason: null,
    });
    expect(claimed).toMatchObject({
      id: 'job-b',
      status: 'running',
      backend: 'local',
      workerId: 'local-1',
      attempts: 1,
      startedAt: 1_795_000_001_000,
      workflow: '{"1":{"class_type":"EmptyImage","inputs":{}}}',
      podOnly: false,
    });
    // A second claimer loses the compare-and-set.
    expect(await jobs.claim('job-b', ['queued'], { status: 'running' })).toBeNull();

    await jobs.update('job-b', { remoteId: 'prompt-1', cancelRequested: true });
    expect(await jobs.transition('job-b', ['queued', 'running'], { status: 'cancelled', costUsd: 0.5 })).toBe(
      true,
    );
    expect(await jobs.findById('job-b')).toMatchObject({
      status: 'cancelled',
      remoteId: 'prompt-1',
      cancelRequested: true,
      costUsd: 0.5,
    });
  });

  it('lists summaries newest first without reading the workflow, input images or metadata', async () => {
    const bulky = 'x'.repeat(200_000);
    await jobs.insert(job('job-old', { createdAt: 1000, metadata: JSON.stringify({ bulky }) }));
    await jobs.insert(
      job('job-new', { createdAt: 2000, status: 'completed', outputs: '[{"filename":"a.png"}]' }),
    );
    const listed = await jobs.listPage({}, 10);
    expect(listed.map((row) => row.id)).toEqual(['job-new', 'job-old']);
    for (const row of listed) {
      expect(row.workflow).toBeUndefined();
      expect(row.inputImages).toBeUndefined();
      expect(row.metadata).toBeUndefined();
    }
    expect(listed[0]).toMatchObject({
      status: 'completed',
      outputs: '[{"filename":"a.png"}]',
      createdAt: 2000,
    });
    expect((await jobs.listPage({ status: 'queued' }, 10)).map((row) => row.id)).toEqual(['job-old']);
  });

  it('reads the queue by priority (higher first), then oldest first, limited', async () => {
    await jobs.insert(job('job-low-old', { priority: 0, createdAt: 1000 }));
    await jobs.insert(job('job-high-new', { priority: 5, createdAt: 3000 }));
    await jobs.insert(job('job-low-new', { priority: 0, createdAt: 2000 }));
    await jobs.insert(job('job-high-old', { priority: 5, createdAt: 1500 }));
    await jobs.insert(job('job-running', { status: 'running', priority: 9, createdAt: 1 }));

    expect((await jobs.findQueuedForRouting(10)).map((row) => row.id)).toEqual([
      'job-high-old',
      'job-high-new',
      'job-low-old',
      'job-low-new',
    ]);
    const [first] = await jobs.findQueuedForRouting(1);
    expect(first).toMatchObject({ id: 'job-high-old', priority: 5, createdAt: 1500, podOnly: false });
    expect(first.workflow).toBeUndefined();
  });

  it('serves the dispatch read from the index, without sorting the queue', async () => {
    const plan =
      dataSource.options.type === 'better-sqlite3'
        ? await sqlitePlan(
            `SELECT "id" FROM "jobs" WHERE "status" = 'queued' ` +
              `ORDER BY "priority" DESC, "created_at" ASC LIMIT 10`,
          )
        : null;
    if (plan === null) {
      // PostgreSQL picks plans by table statistics (a tiny table is scanned); the index's definition is what
      // can be checked here.
      const [index] = await dataSource.query<Array<{ indexdef: string }>>(
        `SELECT indexdef FROM pg_indexes WHERE indexname = 'idx_jobs_dispatch_order' AND schemaname = $1`,
        [(dataSource.options as { schema: string }).schema],
      );
      expect(index.indexdef).toContain('(status, priority DESC, created_at)');
      return;
    }
    expect(plan).toContain('USING INDEX idx_jobs_dispatch_order');
    expect(plan).not.toContain('TEMP B-TREE');
  });

  it('indexes backend and completion time only for the jobs that have them; the list and the cost history use them', async () => {
    const hour = 3_600_000;
    const t0 = 1_795_000_000_000 - (1_795_000_000_000 % hour);
    await jobs.insert(job('job-queued', { createdAt: t0 + 1 }));
    await jobs.insert(job('job-pod-running', { status: 'running', backend: 'pod', createdAt: t0 + 2 }));
    await jobs.insert(
      job('job-pod-done', { status: 'completed', backend: 'pod', createdAt: t0 + 3, completedAt: t0 + 10 }),
    );
    await jobs.insert(
      job('job-sls-done', {
        status: 'completed',
        backend: 'serverless',
        createdAt: t0 + 4,
        completedAt: t0 + hour + 5,
      }),
    );
    expect((await jobs.listPage({ backend: 'pod' }, 10)).map((row) => row.id)).toEqual([
      'job-pod-done',
      'job-pod-running',
    ]);
    expect(await jobs.completedCountsByBucket(t0, t0 + 2 * hour, hour)).toEqual(
      expect.arrayContaining([
        { bucketStart: t0, count: 1 },
        { bucketStart: t0 + hour, count: 1 },
      ]),
    );

    // A queued job has neither column: the two indexes are partial, so a submit writes no entry to them.
    const sqlite = dataSource.options.type === 'better-sqlite3';
    const definitions = sqlite
      ? await dataSource.query<Array<{ name: string; definition: string }>>(
          `SELECT "name", "sql" AS "definition" FROM sqlite_master WHERE "name" IN (?, ?) ORDER BY "name"`,
          ['idx_jobs_completed_status', 'idx_jobs_list_backend'],
        )
      : await dataSource.query<Array<{ name: string; definition: string }>>(
          `SELECT indexname AS "name", indexdef AS "definition" FROM pg_indexes ` +
            `WHERE indexname IN ($1, $2) AND schemaname = $3 ORDER BY indexname`,
          [
            'idx_jobs_completed_status',
            'idx_jobs_list_backend',
            (dataSource.options as { schema: string }).schema,
          ],
        );
    expect(definitions.map((row) => row.name)).toEqual([
      'idx_jobs_completed_status',
      'idx_jobs_list_backend',
    ]);
    expect(definitions[0].definition).toMatch(/WHERE \(?"?completed_at"? IS NOT NULL/);
    expect(definitions[1].definition).toMatch(/WHERE \(?"?backend"? IS NOT NULL/);
    if (!sqlite) return; // PostgreSQL plans a tiny table by its statistics (a scan); SQLite plans by schema.
    expect(
      await sqlitePlan(
        `SELECT "id" FROM "jobs" WHERE "backend" = ? ORDER BY "created_at" DESC, "id" DESC LIMIT 10`,
        ['pod'],
      ),
    ).toContain('idx_jobs_list_backend');
    expect(
      await sqlitePlan(`SELECT COUNT(*) FROM "jobs" WHERE "completed_at" >= ? AND "completed_at" < ?`, [
        t0,
        t0 + hour,
      ]),
    ).toContain('idx_jobs_completed_status');
  });

  it('counts pods in a state without loading them', async () => {
    for (const [name, state] of [
      ['w-1', 'ready'],
      ['w-2', 'ready'],
      ['w-3', 'busy'],
    ] as const) {
      await pods.insert(
        Object.assign(new PodEntity(), {
          name,
          state,
          origin: 'manual',
          gpuTypeId: 'NVIDIA GeForce RTX 3090',
          requestedAt: 1_795_000_000_000,
        }),
      );
    }
    expect(await pods.countInState('ready')).toBe(2);
    expect(await pods.countInState('busy')).toBe(1);
    expect(await pods.countInState('failed')).toBe(0);
  });
});
