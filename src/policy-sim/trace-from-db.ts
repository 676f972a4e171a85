import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { DataSource, type DataSourceOptions } from 'typeorm';
import { loadConfig } from '../config/app-config';
import { JobEntity } from '../persistence/entities/job.entity';
import { dataSourceOptions, sqliteFile } from '../persistence/data-source-options';
import type { SimJob, Workload } from './workloads';

/**
 * `--from-db`: replay the service's own recorded history. Reads the `jobs` table the service writes (the same
 * database it uses: DATABASE_URL for PostgreSQL, else SQLite at DATA_DIR/cloud-workers.sqlite, DATA_DIR
 * defaulting to ./data) and turns every job that ran into a trace row:
 *
 *   arrival   = created_at (made relative to the earliest selected job)
 *   duration  = completed_at − started_at (started_at is when the GPU really started: for serverless, after
 *               RunPod's queue and cold start, since commit eab6d4a)
 *   kind      = the kind the service gave it at submit (`workload_kind`, from its workflow's profile: what the
 *               break-even policy classed it as); for a job from before that column, video when the job's
 *               outputs or its workflow say video, image when they say image only, else video when the
 *               duration is over 60 s (the --trace default)
 *   signature = the workflow's node types (class_type), sorted and hashed: jobs of one workflow share it
 *
 * Completed jobs are replayed. Failed and cancelled jobs that ran (both timestamps set) are replayed too: they
 * held a GPU for that long. Jobs that never ran (failed or cancelled in the queue, unroutable) and jobs still
 * queued or running are skipped and counted.
 */
export interface JobRow {
  id: string;
  status: string;
  createdAt: number;
  startedAt: number | null;
  completedAt: number | null;
  workflow: string;
  outputs: string;
  /** The service's own class (jobs.workload_kind); null for jobs from before it, or a database without it. */
  workloadKind?: 'image' | 'video' | null;
}

export interface DbTraceSummary {
  replayed: number;
  completed: number;
  /** Failed or cancelled after running: replayed with the time they ran. */
  endedAfterRun: number;
  /** Failed or cancelled without running: skipped. */
  skippedNeverRan: number;
  /** Still queued or running: skipped. */
  skippedUnfinished: number;
}

const VIDEO_NODE = /video|^vhs_|animatediff|animated|^wan|hunyuan|ltxv|mochi/i;
const IMAGE_OUTPUT_NODE = /^(saveimage|previewimage)$/i;

function workflowNodeTypes(workflow: string): string[] {
  try {
    const graph = JSON.parse(workflow) as unknown;
    if (!graph || typeof graph !== 'object') return [];
    return Object.values(graph as Record<string, unknown>)
      .map((node) =>
        node && typeof node === 'object' ? (node as { class_type?: unknown }).class_type : undefined,
      )
      .filter((type): type is string => typeof type === 'string');
  } catch {
    return [];
  }
}

function outputContentTypes(outputs: string): string[] {
  try {
    const list = JSON.parse(outputs) as unknown;
    return Array.isArray(list)
      ? list
          .map((o) => (o && typeof o === 'object' ? (o as { contentType?: unknown }).contentType : undefined))
          .filter((t): t is string => typeof t === 'string')
      : [];
  } catch {
    return [];
  }
}

/**
 * The kind the service gave the job at submit; else video or image from what the job produced, else from its
 * workflow's nodes, else from its duration.
 */
export function jobKind(
  row: Pick<JobRow, 'workflow' | 'outputs' | 'workloadKind'>,
  durationS: number,
): 'image' | 'video' {
  if (row.workloadKind === 'image' || row.workloadKind === 'video') return row.workloadKind;
  const types = outputContentTypes(row.outputs);
  if (types.some((t) => t.startsWith('video/'))) return 'video';
  if (types.length > 0 && types.every((t) => t.startsWith('image/'))) return 'image';
  const nodes = workflowNodeTypes(row.workflow);
  if (nodes.some((n) => VIDEO_NODE.test(n))) return 'video';
  if (nodes.some((n) => IMAGE_OUTPUT_NODE.test(n))) return 'image';
  return durationS > 60 ? 'video' : 'image';
}

export function workflowSignature(workflow: string): string | undefined {
  const nodes = workflowNodeTypes(workflow);
  if (nodes.length === 0) return undefined;
  return createHash('sha256')
    .update([...nodes].sort().join(','))
    .digest('hex')
    .slice(0, 12);
}

/** The conversion, separate from the database read so it is testable on plain rows. */
export function jobRowsToWorkload(
  rows: readonly JobRow[],
  name: string,
): { workload: Workload; summary: DbTraceSummary } {
  const summary: DbTraceSummary = {
    replayed: 0,
    completed: 0,
    endedAfterRun: 0,
    skippedNeverRan: 0,
    skippedUnfinished: 0,
  };
  const ran: Array<{ row: JobRow; durationS: number }> = [];
  for (const row of rows) {
    if (row.status === 'queued' || row.status === 'running') {
      summary.skippedUnfinished++;
      continue;
    }
    if (row.startedAt === null || row.completedAt === null || row.completedAt < row.startedAt) {
      summary.skippedNeverRan++;
      continue;
    }
    if (row.status === 'completed') summary.completed++;
    else summary.endedAfterRun++;
    ran.push({ row, durationS: (row.completedAt - row.startedAt) / 1000 });
  }
  summary.replayed = ran.length;
  const origin = ran.reduce((min, { row }) => Math.min(min, row.createdAt), Infinity);
  const jobs: SimJob[] = ran
    .map(({ row, durationS }) => ({
      id: 0,
      arrivalS: (row.createdAt - origin) / 1000,
      durationS,
      kind: jobKind(row, durationS),
      signature: workflowSignature(row.workflow),
    }))
    .sort((a, b) => a.arrivalS - b.arrivalS)
    .map((job, id) => ({ ...job, id }));
  const last = jobs.length ? jobs[jobs.length - 1].arrivalS : 0;
  return { workload: { name, jobs, horizonS: Math.ceil(last) + 1 }, summary };
}

export interface FromDbOptions {
  /** postgres:// URL; default: DATABASE_URL, else the SQLite file under DATA_DIR. */
  databaseUrl?: string;
  /** Default: DATA_DIR (./data). */
  dataDir?: string;
  /** Jobs created at or after this time (ms since epoch). */
  sinceMs?: number;
  /** Jobs created before this time (ms since epoch). */
  untilMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * The service's data source options (src/persistence/data-source-options.ts: same entities, same file, same
 * PostgreSQL URL and schema), but read-only: no migrations run, and the SQLite file is opened read-only without
 * the service's exclusive claim. A running SQLite-mode service holds that file exclusively, so stop it (or copy
 * the file) first; PostgreSQL can be read while the service runs.
 */
export function readOnlyDataSourceOptions(options: FromDbOptions): {
  options: DataSourceOptions;
  where: string;
} {
  const env = { ...(options.env ?? process.env) };
  if (options.databaseUrl) env.DATABASE_URL = options.databaseUrl;
  if (options.dataDir) env.DATA_DIR = options.dataDir;
  const config = loadConfig(env);
  if (config.databaseUrl) {
    const base = dataSourceOptions(config);
    return {
      options: { ...base, migrationsRun: false, extra: { max: 1 } },
      where: `PostgreSQL${config.databaseSchema ? ` (schema ${config.databaseSchema})` : ''}`,
    };
  }
  const file = sqliteFile(config);
  if (!existsSync(file)) throw new Error(`no service database at ${file} (set --database-url or DATA_DIR)`);
  return {
    options: {
      type: 'better-sqlite3',
      database: file,
      readonly: true,
      entities: [JobEntity],
      migrationsRun: false,
      synchronize: false,
    },
    where: file,
  };
}

export async function loadTraceFromDb(
  options: FromDbOptions,
): Promise<{ workload: Workload; summary: DbTraceSummary; where: string }> {
  const { options: dsOptions, where } = readOnlyDataSourceOptions(options);
  const dataSource = await new DataSource(dsOptions).initialize();
  try {
    // A database the service has not migrated since workload_kind came (migration 1764290000000) has no such
    // column, and a read-only replay does not migrate: such a file is read without it.
    const withKind = await hasColumn(dataSource, 'workload_kind');
    const query = dataSource
      .getRepository(JobEntity)
      .createQueryBuilder('job')
      .select([
        'job.id',
        'job.status',
        'job.createdAt',
        'job.startedAt',
        'job.completedAt',
        'job.workflow',
        'job.outputs',
        ...(withKind ? ['job.workloadKind'] : []),
      ])
      .orderBy('job.createdAt', 'ASC');
    if (options.sinceMs !== undefined) query.andWhere('job.createdAt >= :since', { since: options.sinceMs });
    if (options.untilMs !== undefined) query.andWhere('job.createdAt < :until', { until: options.untilMs });
    const rows: JobRow[] = (await query.getMany()).map((job) => ({
      id: job.id,
      status: job.status,
      createdAt: job.createdAt,
      startedAt: job.startedAt,
      completedAt: job.completedAt,
      workflow: job.workflow,
      outputs: job.outputs,
      workloadKind: withKind ? job.workloadKind : null,
    }));
    return { ...jobRowsToWorkload(rows, 'from-db'), where };
  } finally {
    await dataSource.destroy();
  }
}

/** Whether the service's jobs table has `column` (the table's metadata, read-only on either database). */
async function hasColumn(dataSource: DataSource, column: string): Promise<boolean> {
  const runner = dataSource.createQueryRunner();
  try {
    const table = await runner.getTable(dataSource.getRepository(JobEntity).metadata.tablePath);
    return table?.findColumnByName(column) !== undefined;
  } finally {
    await runner.release();
  }
}
