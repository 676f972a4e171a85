import { Inject, Injectable } from '@nestjs/common';
import { ComfyUiClientFactory } from '../../comfyui/comfyui-client.factory';
import {
  ComfyExecutionError,
  ComfyInterruptedError,
  ComfyWorkflowError,
  isComfyError,
} from '../../comfyui/comfyui.errors';
import type { ComfyPromptResult } from '../../comfyui/comfyui.types';
import type { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import type { JobInputImage } from '../../persistence/entities/job.entity';
import { OutputStore } from '../../jobs/output-store';
import { inWorkerSpelling } from '../../local/local-worker-capabilities';
import type { WorkerCapabilities } from '../../workflows';
import {
  ExecutionError,
  type ExecutionContext,
  type ExecutionResult,
  mayHaveEarlierOutputs,
  percentOf,
} from './execution';

/**
 * Runs a job on one ComfyUI server (a local worker or a pod's proxy URL): upload inputs, submit, follow the
 * prompt, download every non-temp output into the job's folder. Model names are sent as the worker spells them.
 */
@Injectable()
export class ComfyExecutor {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly clients: ComfyUiClientFactory,
    private readonly store: OutputStore,
  ) {}

  /** `capabilities`: the worker's, when read: model names go out in its spelling (`inWorkerSpelling`). */
  async execute(
    baseUrl: string,
    ctx: ExecutionContext,
    capabilities?: WorkerCapabilities,
  ): Promise<ExecutionResult> {
    const client = this.clients.create(baseUrl, {
      requestTimeoutMs: this.config.jobs.comfyRequestTimeoutMs,
      pollIntervalMs: this.config.jobs.comfyPollMs,
      connectedPollIntervalMs: this.config.jobs.comfyConnectedPollMs,
      websocketReconnectDelayMs: this.config.jobs.comfyReconnectDelayMs,
    });
    const { job } = ctx;
    let promptId: string | null = ctx.reattach ? job.remoteId : null;
    const onProgress = (progress: { value: number; max: number; nodeId?: string | null }) =>
      ctx.onProgress({
        value: progress.value,
        max: progress.max,
        percent: percentOf(progress.value, progress.max),
        nodeId: progress.nodeId ?? null,
      });
    try {
      let result: ComfyPromptResult;
      const wait = { onProgress, signal: ctx.signal, timeoutMs: this.config.jobs.executionTimeoutMs };
      if (promptId) {
        // Submitted by an earlier process under its socket's client id: no events reach us, so poll.
        result = await client.waitForCompletion(promptId, undefined, wait);
      } else {
        const inputs = JSON.parse(job.inputImages) as JobInputImage[];
        const images = await Promise.all(
          inputs.map(async (input) => ({
            name: input.name,
            data: await this.store.readInput(job.id, input.name),
          })),
        );
        const workflow = JSON.parse(job.workflow) as Record<string, unknown>;
        result = await client.run(capabilities ? inWorkerSpelling(workflow, capabilities) : workflow, {
          onProgress: wait.onProgress,
          signal: wait.signal,
          timeoutMs: wait.timeoutMs,
          images,
          // Tags the prompt in ComfyUI's queue and history with the job it belongs to.
          extraData: { cloud_workers_job_id: job.id },
          onSubmitted: async (id) => {
            promptId = id;
            await ctx.onRemoteId(id);
          },
        });
      }

      if (mayHaveEarlierOutputs(ctx)) await this.store.clearOutputs(job.id);
      const taken = new Set<string>();
      const outputs = [];
      for (const file of result.outputs.filter((output) => !output.temp)) {
        const download = await client.download(file, ctx.signal);
        outputs.push(
          await this.store.saveOutput(job.id, file.filename, download.data, download.contentType, taken),
        );
      }
      return { outputs, costUsd: 0 };
    } catch (error) {
      // Only a cancel stops the prompt on the worker (before the job is called cancelled); on shutdown it
      // keeps running and the next start re-attaches to it.
      if (promptId && ctx.signal.aborted && ctx.signal.reason === 'cancel') {
        await client.cancel(promptId).catch(() => undefined);
      }
      throw toExecutionError(error, ctx.signal);
    }
  }
}

function toExecutionError(error: unknown, signal: AbortSignal): ExecutionError {
  if (error instanceof ExecutionError) return error;
  if (error instanceof ComfyWorkflowError) {
    return new ExecutionError(error.message, 'workflow', {
      type: error.type,
      details: error.details,
      node_errors: error.nodeErrors,
    });
  }
  if (error instanceof ComfyExecutionError) {
    return new ExecutionError(
      `Node ${error.nodeId} (${error.nodeType}) failed: ${error.exceptionMessage}`,
      'workflow',
      {
        node_id: error.nodeId,
        node_type: error.nodeType,
        exception_message: error.exceptionMessage,
        exception_type: error.exceptionType,
      },
    );
  }
  if (signal.aborted || error instanceof ComfyInterruptedError) {
    return new ExecutionError('Cancelled', 'cancelled');
  }
  if (isComfyError(error)) {
    return new ExecutionError(error.message, error.kind === 'workflow' ? 'workflow' : 'infrastructure');
  }
  return new ExecutionError((error as Error)?.message ?? String(error), 'infrastructure');
}
