import { Inject, Injectable, Logger } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { Clock } from '../common/clock';
import { InvalidInputError, NotFoundError, UnavailableError } from '../common/domain-errors';
import { ShutdownState } from '../common/shutdown-state';
import { TimeOrderedIds } from '../common/time-ordered-id';
import { validateApiWorkflow } from '../comfyui/comfyui-workflow';
import {
  JobEntity,
  type JobError,
  type JobInputImage,
  type RequestedBackend,
  TERMINAL_JOB_STATUSES,
} from '../persistence/entities/job.entity';
import { type JobListFilter, JobsRepository } from '../persistence/jobs.repository';
import type { JobDto, JobListDto } from './dto/job.dto';
import { decodeJobListCursor, encodeJobListCursor } from './job-list-cursor';
import { inputFileNameProblem } from './dto/input-file-name';
import { MAX_DEADLINE_AHEAD_MS, MAX_INPUT_IMAGES, MAX_JOB_COST_USD } from './dto/submit-job.dto';
import { serializeMetadata } from './job-metadata';
import { JobEvents, type JobQueuedEvent, type JobStatusEvent } from './job.events';
import { toJobDto, toJobSummaryDto } from './job-view';
import { OutputStore } from './output-store';
import { WebhookUrlRules } from '../webhooks/webhook-url-rules';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { describeMissing, missingOnEveryWorker } from '../local/local-worker-capabilities';
import { missingOnEveryEndpoint, noEndpointMessage } from '../routing/serverless-endpoint-choice';
import { LocalWorkersService } from '../local/local-workers.service';
import type { WorkflowRequirements } from '../workflows';
import { JobRequirements } from './job-requirements';
import { type Quote, RoutingEstimatesService } from '../routing-estimates/routing-estimates.service';
import { MAX_MISSING_SHOWN, UnrunnableJobError } from './unrunnable-job.error';
import { InfeasibleJobError } from './infeasible-job.error';

/** What a caller (HTTP or another Nest service through WorkerRouter) submits. */
export interface JobSpec {
  /** ComfyUI API-format workflow. */
  workflow: Record<string, unknown>;
  /** Input images: base64, with or without a data URI prefix. */
  images?: Array<{ name: string; image: string }>;
  priority?: number;
  backend?: RequestedBackend;
  metadata?: Record<string, unknown>;
  /** Also send this job's completed/failed webhook here (checked by the webhook address rules). */
  webhookUrl?: string | null;
  /** At most this cost (USD), > 0. */
  maxCostUsd?: number;
  /** Complete by (ISO 8601 with a zone), in the future and at most MAX_DEADLINE_AHEAD_MS ahead. */
  deadline?: string;
}

function decodeImage(name: string, image: string): Buffer {
  const comma = image.startsWith('data:') ? image.indexOf(',') : -1;
  const base64 = (comma >= 0 ? image.slice(comma + 1) : image).replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(base64) || base64.length === 0) {
    throw new InvalidInputError(`images: "${name}" is not valid base64 (a data URI prefix is allowed)`);
  }
  return Buffer.from(base64, 'base64');
}

const jsonOrNull = (value: unknown): string | null => (value === null ? null : JSON.stringify(value));

/** An ISO 8601 time with a date, a time and a zone (Z or ±hh:mm): a deadline must say which instant it means. */
const DEADLINE_FORMAT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})$/i;

/** The job's own constraints, checked: a deadline in the future and at most MAX_DEADLINE_AHEAD_MS ahead. */
export function jobConstraints(
  spec: Pick<JobSpec, 'deadline' | 'maxCostUsd'>,
  now: number,
): { deadline: number | null; maxCostUsd: number | null } {
  let deadline: number | null = null;
  if (spec.deadline !== undefined && spec.deadline !== null) {
    const text = String(spec.deadline);
    const at = DEADLINE_FORMAT.test(text) ? Date.parse(text) : NaN;
    if (!Number.isFinite(at))
      throw new InvalidInputError(
        `deadline: "${text.slice(0, 64)}" is not an ISO 8601 time with a zone (e.g. 2026-11-29T18:00:00Z)`,
      );
    if (at <= now)
      throw new InvalidInputError(`deadline: ${text} has passed (now ${new Date(now).toISOString()})`);
    if (at - now > MAX_DEADLINE_AHEAD_MS)
      throw new InvalidInputError(`deadline: ${text} is more than 7 days ahead`);
    deadline = at;
  }
  let maxCostUsd: number | null = null;
  if (spec.maxCostUsd !== undefined && spec.maxCostUsd !== null) {
    const value = spec.maxCostUsd;
    if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0 || value > MAX_JOB_COST_USD)
      throw new InvalidInputError(
        `maxCostUsd: must be a number of USD above 0 and at most ${MAX_JOB_COST_USD}`,
      );
    maxCostUsd = value;
  }
  return { deadline, maxCostUsd };
}

/** The job state machine and its storage: create, read, cancel. Running jobs are the dispatcher's. */
@Injectable()
export class JobsService {
  private readonly logger = new Logger('Jobs');

  /** Job ids are time-ordered (UUIDv7): they are the jobs table's primary key (TimeOrderedIds says why). */
  private readonly ids = new TimeOrderedIds();

  constructor(
    private readonly jobs: JobsRepository,
    private readonly store: OutputStore,
    private readonly clock: Clock,
    private readonly events: EventEmitter2,
    private readonly shutdown: ShutdownState,
    private readonly webhookRules: WebhookUrlRules,
    private readonly localWorkers: LocalWorkersService,
    private readonly requirements: JobRequirements,
    private readonly estimates: RoutingEstimatesService,
    @Inject(APP_CONFIG) private readonly config: AppConfig,
  ) {}

  /**
   * Refuses a workflow no configured backend can run: only local workers could take it (backend "local", or no
   * pods and no serverless endpoint configured), every local worker's capabilities are known, and none has all
   * its nodes and models. Pods and serverless are taken to run anything (their models are not known yet); a
   * worker whose capabilities are unknown may run anything too. Routing skips incapable workers otherwise.
   */
  private checkRunnable(spec: JobSpec, requirements: WorkflowRequirements | null): void {
    // null: over the reader's limits, nothing to compare (it passed validateApiWorkflow)
    if (requirements === null) return;
    const backend = spec.backend ?? 'auto';
    if (backend === 'serverless') return this.checkServerlessRunnable(requirements);
    if (backend !== 'local' && backend !== 'auto') return;
    const { apiKey, dockerImage, serverlessEndpointId } = this.config.runpod;
    if (backend === 'auto' && apiKey && (dockerImage || serverlessEndpointId)) return;
    const workers = this.localWorkers.list();
    if (workers.length === 0) return; // routing answers for "no worker at all"
    const missing = missingOnEveryWorker(
      requirements,
      workers.map((worker) => this.localWorkers.capabilitiesOf(worker.id)),
    );
    if (!missing) return;
    const nodes = missing.nodes.slice(0, MAX_MISSING_SHOWN);
    const models = missing.models.slice(0, MAX_MISSING_SHOWN).map(({ folder, name }) => ({ folder, name }));
    const shown = { nodes, models, fileInputs: missing.fileInputs.slice(0, MAX_MISSING_SHOWN) };
    const where = backend === 'local' ? 'backend "local" was asked for' : 'no cloud backend is configured';
    throw new UnrunnableJobError(
      `No local worker can run this workflow, and ${where}: ${describeMissing(shown)}`,
      { nodes, models },
    );
  }

  /**
   * A job sent to serverless by name that no endpoint can run: every endpoint declares its models
   * (RUNPOD_SERVERLESS_MODELS, RUNPOD_SERVERLESS_ENDPOINTS) and none declares all of the workflow's.
   */
  private checkServerlessRunnable(requirements: WorkflowRequirements): void {
    const missing = missingOnEveryEndpoint(this.config.runpod.serverlessEndpoints, requirements);
    if (!missing) return;
    const models = missing.models.slice(0, MAX_MISSING_SHOWN).map(({ folder, name }) => ({ folder, name }));
    throw new UnrunnableJobError(noEndpointMessage({ ...missing, models }), { nodes: [], models });
  }

  /**
   * The checks of a submit, shared with the quote (POST /api/jobs/quote answers 400/422 exactly where a submit
   * would): the workflow, what can run it, metadata, the job's webhook receiver, input images.
   */
  private async checked(spec: JobSpec) {
    const problem = validateApiWorkflow(spec.workflow);
    if (problem) throw new InvalidInputError(`workflow: ${problem}`);
    const constraints = jobConstraints(spec, this.clock.now());
    const requirements = JobRequirements.compute(spec.workflow);
    this.checkRunnable(spec, requirements);
    const metadata = serializeMetadata(spec.metadata);
    if (metadata.problem !== undefined) throw new InvalidInputError(metadata.problem);
    if (spec.webhookUrl) await this.webhookRules.checkJobWebhookUrl(spec.webhookUrl);
    // The HTTP DTO checks these too; a caller in-process (WorkerRouter) has only this check.
    if ((spec.images ?? []).length > MAX_INPUT_IMAGES) {
      throw new InvalidInputError(`images: at most ${MAX_INPUT_IMAGES} input images per job`);
    }
    for (const image of spec.images ?? []) {
      const nameProblem = inputFileNameProblem(image.name);
      if (nameProblem) throw new InvalidInputError(`images: name ${nameProblem}`);
    }
    const images = (spec.images ?? []).map((image) => ({
      name: image.name,
      data: decodeImage(image.name, image.image),
    }));
    const names = new Set<string>();
    for (const image of images) {
      if (names.has(image.name))
        throw new InvalidInputError(`images: the name "${image.name}" is used twice`);
      names.add(image.name);
    }
    return { requirements, metadata, images, constraints };
  }

  /** Every place the job could run, when it would complete there and at what cost; what the router would pick. */
  async quote(spec: JobSpec): Promise<Quote> {
    const { requirements, constraints } = await this.checked(spec);
    return this.estimates.quote(
      { workflow: spec.workflow, backend: spec.backend, ...constraints },
      requirements,
    );
  }

  /** Validates and queues a job. Throws InvalidInputError with a message the caller can act on. */
  async create(spec: JobSpec): Promise<JobDto> {
    if (this.shutdown.isDraining) {
      throw new UnavailableError(
        'This instance is shutting down and takes no new jobs; retry in a moment or on another instance',
      );
    }
    const { requirements, metadata, images, constraints } = await this.checked(spec);

    const id = `job-${this.ids.next(this.clock.now())}`;
    const planned = await this.estimates.planAtSubmit(
      id,
      { workflow: spec.workflow, backend: spec.backend, ...constraints },
      requirements,
    );
    if (planned.plan.kind === 'infeasible') throw new InfeasibleJobError(planned.plan.why, planned.plan.best);
    for (const image of images) await this.store.saveInput(id, image.name, image.data);
    const inputImages: JobInputImage[] = images.map((image) => ({
      name: image.name,
      size: image.data.length,
    }));
    const job = Object.assign(new JobEntity(), {
      id,
      status: 'queued' as const,
      requestedBackend: spec.backend ?? 'auto',
      backend: null,
      workerId: null,
      priority: spec.priority ?? 0,
      attempts: 0,
      workflow: JSON.stringify(spec.workflow),
      inputImages: JSON.stringify(inputImages),
      metadata: metadata.json,
      progress: null,
      remoteId: null,
      podOnly: spec.backend === 'pod',
      failedWorkers: '[]',
      waitingReason: null,
      cancelRequested: false,
      createdAt: this.clock.now(),
      startedAt: null,
      completedAt: null,
      costUsd: 0,
      outputs: '[]',
      error: null,
      webhookUrl: spec.webhookUrl || null,
      estimate: jsonOrNull(planned.estimate),
      deadline: constraints.deadline,
      maxCostUsd: constraints.maxCostUsd,
      plannedBackend: planned.plannedBackend,
      workloadKind: planned.workloadKind,
    });
    await this.jobs.insert(job);
    this.requirements.remember(id, requirements);
    const queued: JobQueuedEvent = { jobId: id, priority: job.priority, backend: job.requestedBackend };
    this.events.emit(JobEvents.Queued, queued);
    return toJobDto(job);
  }

  async get(id: string): Promise<JobDto> {
    return toJobDto(await this.find(id));
  }

  async find(id: string): Promise<JobEntity> {
    const job = await this.jobs.findById(id);
    if (!job) throw new NotFoundError(`No job ${id}`);
    return job;
  }

  /**
   * One page of jobs, newest first, as summaries (a list of full jobs would repeat every job's metadata).
   * `cursor` is a previous page's nextCursor; throws InvalidInputError (400) for one it did not return.
   */
  async list(filter: JobListFilter, limit: number, cursor?: string): Promise<JobListDto> {
    const after = cursor !== undefined ? decodeJobListCursor(cursor) : undefined;
    // One row more than asked says whether another page follows, without a count.
    const rows = await this.jobs.listPage(filter, limit + 1, after);
    const page = rows.slice(0, limit);
    const last = page[page.length - 1];
    return {
      count: page.length,
      jobs: page.map(toJobSummaryDto),
      nextCursor: rows.length > limit && last ? encodeJobListCursor(last) : null,
    };
  }

  /**
   * Cancels a job: a queued one at once; a running one is flagged and its dispatcher interrupts it on the
   * worker (or cancels it at RunPod) and then marks it cancelled. Ended jobs are returned unchanged.
   */
  async cancel(id: string): Promise<JobDto> {
    const job = await this.find(id);
    if (TERMINAL_JOB_STATUSES.includes(job.status)) return toJobDto(job);
    const error: JobError = { message: 'Cancelled by request', kind: 'cancelled' };
    const now = this.clock.now();
    if (
      await this.jobs.transition(id, ['queued'], {
        status: 'cancelled',
        completedAt: now,
        error: JSON.stringify(error),
      })
    ) {
      this.logger.log(`Job ${id} cancelled while queued`);
      this.emitCancelled(id);
      return this.get(id);
    }
    if (await this.jobs.transition(id, ['running'], { cancelRequested: true })) {
      this.events.emit(JobEvents.CancelRequested, { jobId: id });
    }
    return this.get(id);
  }

  async openOutput(id: string, filename: string) {
    const job = await this.find(id);
    const output = (JSON.parse(job.outputs) as Array<{ filename: string; contentType: string }>).find(
      (candidate) => candidate.filename === filename,
    );
    if (!output) throw new NotFoundError(`Job ${id} has no output ${filename}`);
    return { ...(await this.store.openOutput(id, filename)), contentType: output.contentType };
  }

  emitCancelled(jobId: string): void {
    const event: JobStatusEvent = { jobId, status: 'cancelled' };
    this.events.emit(JobEvents.Cancelled, event);
  }
}
