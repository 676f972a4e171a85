import {
  type JobEntity,
  type JobError,
  type JobEstimate,
  type JobOutputRecord,
  type JobProgress,
  TERMINAL_JOB_STATUSES,
} from '../persistence/entities/job.entity';
import type { JobActualDto, JobDto, JobEstimateDto, JobSummaryDto } from './dto/job.dto';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/**
 * The fields both views of a job show. The views add theirs with Object.assign onto this literal, not
 * `{ ...commonFields(job), more }`: on Node 20 each key added to a spread copy costs about a microsecond
 * (`npm run bench:object-spread`), and every submit and every job read builds a view.
 */
function commonFields(job: JobEntity) {
  return {
    id: job.id,
    status: job.status,
    requestedBackend: job.requestedBackend,
    backend: job.backend,
    workerId: job.workerId,
    attempts: job.attempts,
    priority: job.priority,
    progress: parseJson<JobProgress | null>(job.progress, null),
    waitingReason: job.status === 'queued' ? job.waitingReason : null,
    createdAt: iso(job.createdAt)!,
    startedAt: iso(job.startedAt),
    completedAt: iso(job.completedAt),
    durationMs: job.startedAt !== null && job.completedAt !== null ? job.completedAt - job.startedAt : null,
    costUsd: job.costUsd,
    estimate: estimateView(job.estimate),
    actual: actualView(job),
    deadline: iso(job.deadline ?? null),
    maxCostUsd: job.maxCostUsd ?? null,
    plannedBackend: job.plannedBackend ?? null,
  };
}

function estimateView(text: string | null | undefined): JobEstimateDto | null {
  const estimate = parseJson<JobEstimate | null>(text ?? null, null);
  if (!estimate || typeof estimate !== 'object' || !Number.isFinite(estimate.startAt)) return null;
  return {
    backend: estimate.backend,
    workerClass: estimate.workerClass,
    startAt: iso(estimate.startAt)!,
    completeAt: iso(estimate.completeAt)!,
    runSeconds: estimate.runSeconds,
    costUsd: estimate.costUsd,
  };
}

function actualView(job: JobEntity): JobActualDto | null {
  if (!TERMINAL_JOB_STATUSES.includes(job.status) || job.completedAt === null) return null;
  return {
    backend: job.backend,
    startedAt: iso(job.startedAt),
    completedAt: iso(job.completedAt)!,
    runSeconds: job.startedAt !== null ? Math.max(0, job.completedAt - job.startedAt) / 1000 : null,
    costUsd: job.costUsd,
    deadlineMet:
      job.deadline === null || job.deadline === undefined || job.status !== 'completed'
        ? null
        : job.completedAt <= job.deadline,
  };
}

/** The API's view of a job row. */
export function toJobDto(job: JobEntity): JobDto {
  const outputs = parseJson<JobOutputRecord[]>(job.outputs, []);
  return Object.assign(commonFields(job), {
    outputs: outputs.map((output) =>
      Object.assign({}, output, {
        url: `/api/jobs/${job.id}/outputs/${encodeURIComponent(output.filename)}`,
      }),
    ),
    error: parseJson<JobError | null>(job.error, null),
    metadata: parseJson<Record<string, unknown>>(job.metadata, {}),
  });
}

/**
 * The list view of a job row: no metadata, output count instead of outputs, error without details, so a
 * list of 500 jobs answers the same size whatever the jobs carry.
 */
export function toJobSummaryDto(job: JobEntity): JobSummaryDto {
  const error = parseJson<JobError | null>(job.error, null);
  return Object.assign(commonFields(job), {
    outputCount: parseJson<JobOutputRecord[]>(job.outputs, []).length,
    error: error && { message: error.message, kind: error.kind },
  });
}
