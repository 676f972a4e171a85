import { Inject, Injectable, Logger } from '@nestjs/common';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { contentTypeForFilename } from '../../comfyui/comfyui-outputs';
import { Clock } from '../../common/clock';
import { CostLedgerService } from '../../cloud/cost-ledger.service';
import type { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import type { JobInputImage, JobOutputRecord } from '../../persistence/entities/job.entity';
import { OutputStore } from '../../jobs/output-store';
import { SERVERLESS_CLIENTS } from '../../runpod/runpod.module';
import type { ServerlessClients } from '../../runpod/serverless-clients';
import {
  ServerlessOutputDownloader,
  ServerlessOutputDownloadError,
} from '../../runpod/serverless-output-download';
import {
  isTerminalServerlessState,
  type RunPodServerlessClient,
  type ServerlessHealth,
  type ServerlessJobStatus,
} from '../../runpod/serverless-client';
import {
  isServerlessWorkflowError,
  parseWorkerComfyOutput,
  readableServerlessError,
} from '../../runpod/worker-comfyui-output';
import { stuckInQueue } from '../serverless-queue.policy';
import {
  ExecutionError,
  type ExecutionContext,
  type ExecutionResult,
  mayHaveEarlierOutputs,
} from './execution';

/** How often a job past SERVERLESS_QUEUE_TIMEOUT on an endpoint that is busy (not stuck) looks again. */
const QUEUE_RECHECK_MS = 30_000;
/** Jobs waiting on one endpoint share its `/health` answer this long: one call, however many jobs ask. */
const HEALTH_SHARED_MS = 10_000;

/**
 * Runs a job on the RunPod serverless endpoint (worker-comfyui): `POST /run {input: {workflow, images}}`,
 * poll `/status` with backoff, store `output.images` as the RunPod adapter reads them (parseWorkerComfyOutput:
 * base64 bytes, or an `s3_url` downloaded by ServerlessOutputDownloader: address rules, size cap, deadline,
 * streamed to disk). Cost = billed seconds
 * (executionTime rounded up) x the endpoint's price per second, written to the ledger under `serverless`.
 */
@Injectable()
export class ServerlessExecutor {
  private readonly logger = new Logger('Serverless');
  private readonly downloader: ServerlessOutputDownloader;
  private readonly healthAsked = new Map<string, { at: number; answer: Promise<ServerlessHealth | null> }>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(SERVERLESS_CLIENTS) private readonly clients: ServerlessClients | null,
    private readonly store: OutputStore,
    private readonly ledger: CostLedgerService,
    private readonly clock: Clock,
  ) {
    this.downloader = new ServerlessOutputDownloader({
      maxBytes: config.runpod.outputMaxBytes,
      timeoutMs: config.runpod.outputTimeoutMs,
      allowHttp: config.runpod.outputAllowHttp,
      allowPrivateNetworks: config.runpod.outputAllowPrivateNetworks,
    });
  }

  get available(): boolean {
    return this.clients !== null;
  }

  /** The job runs on the endpoint the dispatcher chose (its `workerId`); rows from before several endpoints: the primary. */
  async execute(ctx: ExecutionContext): Promise<ExecutionResult> {
    const { job } = ctx;
    const endpoint = this.endpointOf(job.workerId);
    const client = endpoint && this.clients?.get(endpoint.id);
    if (!endpoint || !client)
      throw new ExecutionError(
        `Serverless endpoint ${job.workerId ?? '(none)'} is not configured (RUNPOD_SERVERLESS_ENDPOINT_ID, RUNPOD_SERVERLESS_ENDPOINTS)`,
        'infrastructure',
      );
    let remoteId = ctx.reattach ? job.remoteId : null;
    // When the job was sent; unknown after a restart re-attached it (then the dispatch time stands).
    let sentAt: number | undefined;
    try {
      if (!remoteId) {
        const inputs = JSON.parse(job.inputImages) as JobInputImage[];
        const images = await Promise.all(
          inputs.map(async (input) => ({
            name: input.name,
            image: (await this.store.readInput(job.id, input.name)).toString('base64'),
          })),
        );
        // Read before the request, not after its answer: RunPod's delayTime counts from its receipt, which is no
        // earlier. Read after, the time the answer took (a slow network, a busy event loop) would be taken off the
        // run; read before, the run is measured long by at most the request's own time, retries included.
        sentAt = this.clock.now();
        // RunPod stops a job at its executionTimeout, 600 s unless the request says otherwise: a video outlasts it.
        const submitted = await client.run(
          { workflow: JSON.parse(job.workflow), images },
          { executionTimeout: this.config.jobs.serverlessExecutionTimeoutMs },
        );
        remoteId = submitted.id;
        await ctx.onRemoteId(remoteId);
      }
      // Sent now, or (re-attached after a restart) when it was dispatched.
      const queuedSince = sentAt ?? job.startedAt ?? this.clock.now();
      const { final, stuckReason } = await this.pollUntilDone(
        client,
        remoteId,
        ctx,
        endpoint.id,
        queuedSince,
      );
      const costUsd = await this.bill(job.id, job.attempts, final, endpoint.pricePerSecond);
      if (stuckReason !== undefined && final.status === 'CANCELLED' && !ctx.signal.aborted)
        throw new ExecutionError(
          `serverless: ${stuckReason}; cancelled there`,
          'infrastructure',
          undefined,
          costUsd,
        );
      const startedRunningAt =
        sentAt !== undefined && typeof final.delayTime === 'number' && final.delayTime >= 0
          ? sentAt + final.delayTime
          : undefined;
      return { outputs: await this.collect(final, ctx, costUsd), costUsd, startedRunningAt };
    } catch (error) {
      if (error instanceof ExecutionError) throw error;
      if (ctx.signal.aborted) throw new ExecutionError('Cancelled', 'cancelled');
      throw new ExecutionError(`serverless: ${(error as Error).message}`, 'infrastructure');
    }
  }

  private endpointOf(workerId: string | null) {
    const endpoints = this.config.runpod.serverlessEndpoints;
    return workerId === null ? endpoints[0] : endpoints.find((endpoint) => endpoint.id === workerId);
  }

  /**
   * Polls until the job ends at RunPod. A job stuck in RunPod's queue (`stuckInQueue`: SERVERLESS_QUEUE_TIMEOUT
   * waited and the endpoint runs nothing) is cancelled there; `stuckReason` then says why, for the retry.
   */
  private async pollUntilDone(
    client: RunPodServerlessClient,
    remoteId: string,
    ctx: ExecutionContext,
    endpointId: string,
    queuedSince: number,
  ): Promise<{ final: ServerlessJobStatus; stuckReason?: string }> {
    const queueTimeoutMs = this.config.jobs.serverlessQueueTimeoutMs;
    let delay = this.config.jobs.serverlessPollMs;
    let cancelSent = false;
    let stuckReason: string | undefined;
    let queueCheckAt = queuedSince + queueTimeoutMs;
    for (;;) {
      if (ctx.signal.aborted && ctx.signal.reason === 'cancel' && !cancelSent) {
        cancelSent = true;
        await client
          .cancel(remoteId)
          .catch((error: Error) => this.logger.warn(`Cancel of ${remoteId} failed: ${error.message}`));
      }
      const status = await client.status(remoteId);
      if (isTerminalServerlessState(status.status)) return { final: status, stuckReason };
      const now = this.clock.now();
      if (status.status === 'IN_QUEUE' && !cancelSent && queueTimeoutMs > 0 && now >= queueCheckAt) {
        const health = await this.healthOf(endpointId, client);
        const verdict = stuckInQueue({
          endpointId,
          queuedForMs: now - queuedSince,
          timeoutMs: queueTimeoutMs,
          health,
        });
        if (verdict.stuck) {
          stuckReason = verdict.reason;
          cancelSent = true;
          this.logger.warn(`Job ${ctx.job.id}: ${verdict.reason}; cancelling it there to run it elsewhere`);
          await client.cancel(remoteId).catch((error: Error) => {
            // Not cancelled: the job keeps its place and the next check tries again.
            this.logger.warn(`Cancel of ${remoteId} failed: ${error.message}`);
            cancelSent = false;
            stuckReason = undefined;
            queueCheckAt = now + QUEUE_RECHECK_MS;
          });
        } else {
          // The endpoint is busy, not stuck: look again later (a /health call, not every poll).
          queueCheckAt = now + QUEUE_RECHECK_MS;
        }
      }
      ctx.onProgress({
        value: status.status === 'IN_PROGRESS' ? 1 : 0,
        max: 2,
        percent: status.status === 'IN_PROGRESS' ? 50 : 0,
        nodeId: null,
      });
      if (ctx.signal.aborted && ctx.signal.reason !== 'cancel')
        throw new ExecutionError('Service shutting down', 'infrastructure');
      await sleep(delay, undefined, { signal: cancelSent ? undefined : ctx.signal }).catch(() => undefined);
      delay = Math.min(delay * 2, this.config.jobs.serverlessPollMaxMs);
    }
  }

  /** The endpoint's `/health` (null when it cannot be read), asked at most once per HEALTH_SHARED_MS. */
  private healthOf(endpointId: string, client: RunPodServerlessClient): Promise<ServerlessHealth | null> {
    const now = this.clock.now();
    const asked = this.healthAsked.get(endpointId);
    if (asked && now - asked.at < HEALTH_SHARED_MS) return asked.answer;
    const answer = client.health().catch(() => null);
    this.healthAsked.set(endpointId, { at: now, answer });
    return answer;
  }

  /**
   * RunPod bills from start to stop, rounded up to the second, whatever the outcome; a job that started
   * bills at least one second. A job that never left the queue has no executionTime and costs nothing.
   */
  private async bill(
    jobId: string,
    attempt: number,
    status: ServerlessJobStatus,
    pricePerSecond: number,
  ): Promise<number> {
    const seconds =
      status.executionTime === undefined ? 0 : Math.max(1, Math.ceil(status.executionTime / 1000));
    if (seconds === 0) return 0;
    const cost = seconds * pricePerSecond;
    await this.ledger.recordServerless(`${jobId}:${attempt}`, cost);
    return cost;
  }

  private async collect(
    status: ServerlessJobStatus,
    ctx: ExecutionContext,
    costUsd: number,
  ): Promise<JobOutputRecord[]> {
    switch (status.status) {
      case 'COMPLETED':
        break;
      case 'CANCELLED':
        if (ctx.signal.aborted) throw new ExecutionError('Cancelled', 'cancelled', undefined, costUsd);
        throw new ExecutionError(
          'serverless job was cancelled at RunPod',
          'infrastructure',
          undefined,
          costUsd,
        );
      case 'TIMED_OUT':
        throw new ExecutionError('serverless job timed out at RunPod', 'infrastructure', undefined, costUsd);
      case 'FAILED': {
        const message = readableServerlessError(status.error);
        const kind = isServerlessWorkflowError(status.error, status.output) ? 'workflow' : 'infrastructure';
        throw new ExecutionError(`serverless: ${message}`, kind, { output: status.output }, costUsd);
      }
      case 'IN_QUEUE':
      case 'IN_PROGRESS':
        throw new ExecutionError(
          `serverless job ended in ${status.status}`,
          'infrastructure',
          undefined,
          costUsd,
        );
    }
    const output = parseWorkerComfyOutput(status.output);
    if (output.errors.length)
      this.logger.warn(`Serverless job ${status.id} reported: ${output.errors.join('; ')}`);

    if (mayHaveEarlierOutputs(ctx)) await this.store.clearOutputs(ctx.job.id);
    const taken = new Set<string>();
    const records: JobOutputRecord[] = [];
    for (const image of output.images) {
      const { filename } = image;
      const contentType = contentTypeForFilename(filename);
      if (image.kind === 'missing')
        throw new ExecutionError('serverless output image has no data', 'infrastructure', undefined, costUsd);
      if (image.kind === 'url') {
        const save = (body: Readable) =>
          this.store.saveOutputStream(ctx.job.id, filename, body, contentType, taken);
        try {
          records.push(await this.downloader.download(image.url, save, ctx.signal));
        } catch (error) {
          if (ctx.signal.aborted && ctx.signal.reason === 'cancel')
            throw new ExecutionError('Cancelled', 'cancelled', undefined, costUsd);
          const message =
            error instanceof ServerlessOutputDownloadError
              ? error.message
              : `could not store output ${filename}: ${(error as Error).message}`;
          throw new ExecutionError(`serverless: ${message}`, 'infrastructure', undefined, costUsd);
        }
        continue;
      }
      records.push(await this.store.saveOutput(ctx.job.id, filename, image.bytes, contentType, taken));
    }
    return records;
  }
}
