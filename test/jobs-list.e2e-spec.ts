import { JOB_BACKENDS, JobEntity, type JobStatus } from '../src/persistence/entities/job.entity';
import { JobsRepository } from '../src/persistence/jobs.repository';
import { CloudHarness } from './support/cloud-harness';
import { pngWorkflow } from './support/workflows';

const ENDED: JobStatus[] = ['completed', 'failed', 'cancelled'];

/**
 * GET /api/jobs paging and filters on this pass's database (SQLite, or PostgreSQL with DATABASE_URL). Ended
 * jobs are written straight into the table (the dispatcher leaves them alone); the list is read over HTTP.
 */
describe('jobs list: filters and cursor paging', () => {
  let h: CloudHarness;
  let repository: JobsRepository;
  let seeded: JobEntity[];
  let sequence = 0;

  function job(createdAt: number, overrides: Partial<JobEntity> = {}): JobEntity {
    sequence += 1;
    const status = ENDED[sequence % 3];
    return Object.assign(new JobEntity(), {
      // Ids not in creation order, so the tie-break by id is exercised on its own.
      // Same length, digits only after the prefix: byte order and any database collation agree.
      id: `job-${((sequence * 7919) % 100_000).toString().padStart(5, '0')}${sequence.toString().padStart(4, '0')}`,
      status,
      requestedBackend: 'auto' as const,
      backend: JOB_BACKENDS[sequence % 4] ?? null,
      workflow: JSON.stringify(pngWorkflow()),
      createdAt,
      completedAt: createdAt + 1000,
      ...overrides,
    });
  }

  /** Newest first: created_at, then id, both descending (the list's documented order). */
  const newestFirst = (a: JobEntity, b: JobEntity) =>
    b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);

  async function pageThrough(query: string, limit: number, between?: () => Promise<void>) {
    const ids: string[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const path: string = `/api/jobs?${query}&limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`;
      const answer = await h.get(path);
      expect(answer.status).toBe(200);
      expect(answer.body.count).toBe(answer.body.jobs.length);
      expect(answer.body.jobs.length).toBeLessThanOrEqual(limit);
      ids.push(...answer.body.jobs.map((listed: any) => listed.id as string));
      cursor = answer.body.nextCursor;
      pages += 1;
      if (between) await between();
    } while (cursor !== null && pages < 1000);
    return ids;
  }

  beforeAll(async () => {
    h = await CloudHarness.start();
    repository = h.app!.get(JobsRepository);
    const base = h.clock.now() - 10 * 60_000;
    // Groups of 5 jobs created in the same millisecond.
    seeded = Array.from({ length: 137 }, (_, i) => job(base + Math.floor(i / 5) * 1000));
    for (const row of seeded) await repository.insert(row);
  });

  afterAll(async () => {
    await h?.close();
  });

  it('pages through every job exactly once, newest first, while new jobs arrive', async () => {
    const before = seeded
      .slice()
      .sort(newestFirst)
      .map((row) => row.id);
    let arrivals = 0;
    const paged = await pageThrough('', 20, async () => {
      arrivals += 1;
      // One through the API (queued now) and one written with the newest creation time.
      await h.submit({ workflow: pngWorkflow(`new-${arrivals}`) });
      await repository.insert(job(h.clock.now(), { id: `job-arrived-${arrivals}` }));
    });
    expect(arrivals).toBe(Math.ceil(137 / 20));
    expect(new Set(paged).size).toBe(paged.length);
    expect(paged).toEqual(before);

    // The arrivals are on a fresh first page, newest first.
    const first = (await h.get('/api/jobs?limit=500')).body;
    expect(first.count).toBe(137 + 2 * arrivals);
    expect(first.nextCursor).toBeNull();
  });

  it('filters by status, by backend and by both, each paged without repeats or gaps', async () => {
    const everything = (await h.get('/api/jobs?limit=500')).body.jobs as any[];
    for (const query of [
      'status=failed',
      'backend=pod',
      'backend=local&status=completed',
      'backend=serverless',
    ]) {
      const [status, backend] = [/status=(\w+)/.exec(query)?.[1], /backend=(\w+)/.exec(query)?.[1]];
      const expected = everything
        .filter((listed) => (!status || listed.status === status) && (!backend || listed.backend === backend))
        .map((listed) => listed.id);
      expect(expected.length).toBeGreaterThan(5);
      expect({ query, ids: await pageThrough(query, 7) }).toEqual({ query, ids: expected });
    }
  });

  it('keeps the list answer compatible: count, jobs, limit bounds; refuses unknown filters and foreign cursors', async () => {
    const page = (await h.get('/api/jobs?limit=3')).body;
    expect(Object.keys(page).sort()).toEqual(['count', 'jobs', 'nextCursor']);
    expect(page.count).toBe(3);
    expect(page.jobs[0]).toMatchObject({ id: expect.any(String), status: expect.any(String) });
    expect(page.jobs[0].workflow).toBeUndefined();
    expect((await h.get('/api/jobs?limit=0')).body.count).toBe(1);
    expect((await h.get('/api/jobs')).body.count).toBe(50);
    for (const [query, message] of [
      ['backend=gpu', 'backend must be one of local, serverless, pod'],
      ['status=lost', 'status must be one of queued, running, completed, failed, cancelled'],
      ['cursor=not-a-cursor', 'cursor is not a nextCursor this list returned'],
      ['limit=ten', 'limit must be a whole number'],
    ]) {
      const answer = await h.get(`/api/jobs?${query}`);
      expect({ query, status: answer.status, message: answer.body.message }).toEqual({
        query,
        status: 400,
        message,
      });
    }
  });
});
