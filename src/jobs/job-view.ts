import type { JobEntity, JobError, JobOutputRecord, JobProgress } from '../persistence/entities/job.entity';
import type { JobDto, JobSummaryDto } from './dto/job.dto';

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** The fields both views of a job show. */
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
  };
}

/** The API's view of a job row. */
export function toJobDto(job: JobEntity): JobDto {
  const outputs = parseJson<JobOutputRecord[]>(job.outputs, []);
  return {
    ...commonFields(job),
    outputs: outputs.map((output) => ({
      ...output,
      url: `/api/jobs/${job.id}/outputs/${encodeURIComponent(output.filename)}`,
    })),
    error: parseJson<JobError | null>(job.error, null),
    metadata: parseJson<Record<string, unknown>>(job.metadata, {}),
  };
}

/**
 * The list view of a job row: no metadata, output count instead of outputs, error without details, so a
 * list of 500 jobs answers the same size whatever the jobs carry.
 */
export function toJobSummaryDto(job: JobEntity): JobSummaryDto {
  const error = parseJson<JobError | null>(job.error, null);
  return {
    ...commonFields(job),
    outputCount: parseJson<JobOutputRecord[]>(job.outputs, []).length,
    error: error && { message: error.message, kind: error.kind },
  };
}
