import { Inject, Injectable } from '@nestjs/common';
import { PodCapabilitiesService } from '../cloud/pod-capabilities.service';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import type { ServerlessEndpointConfig } from '../config/serverless-endpoints';
import { JobRequirements } from '../jobs/job-requirements';
import { describeMissing, missingOnEveryWorker, primaryModel } from '../local/local-worker-capabilities';
import { LocalWorkersService } from '../local/local-workers.service';
import type { JobEntity } from '../persistence/entities/job.entity';
import type { PodEntity } from '../persistence/entities/pod.entity';
import { canRun, type MissingRequirements, type WorkerCapabilities } from '../workflows';
import { localWorkerOrder } from './local-worker-order';
import type { RouteDecision } from './routing.policy';
import {
  anyEndpointDeclaresModels,
  endpointsFor,
  missingOnEveryEndpoint,
  noEndpointMessage,
} from './serverless-endpoint-choice';

/**
 * Which local workers, pods and serverless endpoints can run a queued job: its workflow's models and node types
 * (JobRequirements) against what each backend has (local workers' and pods' capabilities, endpoints' declared
 * models). The dispatcher asks these questions in each pass; the answers never change the queue.
 */
@Injectable()
export class BackendCapabilities {
  /** Every serverless endpoint by price when none declares models: the same list for every job (else undefined). */
  private readonly endpointsByPrice: ServerlessEndpointConfig[] | undefined;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly requirements: JobRequirements,
    private readonly local: LocalWorkersService,
    private readonly pods: PodCapabilitiesService,
  ) {
    const endpoints = config.runpod.serverlessEndpoints;
    this.endpointsByPrice = anyEndpointDeclaresModels(endpoints) ? undefined : endpointsFor(endpoints, null);
  }

  /**
   * The idle local workers that can run the job (`missingFor` empty; a worker whose capabilities are unknown may
   * take anything), those whose last job used the job's checkpoint first (it is likely still loaded: a model
   * load costs 30-70 s), each group in the given order. A job that no backend can run (only local workers could,
   * and none of them, busy or not, can) keeps all idle workers: ComfyUI then fails it with its own message
   * rather than it waiting for ever (it got past the submit check while capabilities were still unknown).
   */
  async capableFirst(job: JobEntity, idle: string[], cloudPossible: boolean): Promise<string[]> {
    // Only read the workflow when some idle worker's capabilities are known (the order is then the given one).
    if (!idle.some((id) => this.local.capabilitiesOf(id))) return idle;
    return localWorkerOrder({
      requirements: await this.requirements.of(job),
      idle,
      allWorkers: this.local.list().map((worker) => worker.id),
      capabilitiesOf: (id) => this.local.capabilitiesOf(id),
      lastModelOf: (id) => this.local.lastModelOf(id),
      requestedBackend: job.requestedBackend,
      cloudPossible,
    });
  }

  /**
   * Whether a local worker, busy or not, could take the job later: the scaling policy counts such a job as one
   * local slots may drain. A worker whose capabilities are unknown may run anything.
   */
  async someLocalWorkerCanRun(job: JobEntity): Promise<boolean> {
    const workers = this.local.list();
    if (workers.length === 0) return false;
    if (!workers.every((worker) => this.local.capabilitiesOf(worker.id))) return true;
    const requirements = await this.requirements.of(job);
    if (!requirements) return true;
    return workers.some((worker) => canRun(requirements, this.local.capabilitiesOf(worker.id)!));
  }

  /** A local worker took the job: its checkpoint is now the one loaded there (`capableFirst` prefers it). */
  noteLocalStart(job: JobEntity, workerId: string): void {
    const requirements = this.requirements.peek(job.id);
    if (requirements) this.local.noteModel(workerId, primaryModel(requirements));
  }

  /** The serverless endpoints that can run the job, cheapest first (every one when none declares its models). */
  async serverlessEndpointsFor(job: JobEntity): Promise<ServerlessEndpointConfig[]> {
    return (
      this.endpointsByPrice ??
      endpointsFor(this.config.runpod.serverlessEndpoints, await this.requirements.of(job))
    );
  }

  /**
   * Which ready pods may take the job: one whose capabilities are unknown or include everything the job needs;
   * one whose first read is under way (a pod just ready) only when a pod already read can run the job (pods share
   * one image, template and volume), else it waits for the read: routing it a job first would let a job it cannot
   * run fail there. undefined when any pod will do (none read or being read, or the workflow cannot be read).
   */
  async podAcceptance(job: JobEntity): Promise<((pod: PodEntity) => boolean) | undefined> {
    const known = this.pods.anyKnown();
    if (!known && !this.pods.anyReading()) return undefined;
    const requirements = known ? await this.requirements.of(job) : null;
    if (known && !requirements && !this.pods.anyReading()) return undefined;
    // Holding every new pod for its read cost each one its first job's start (a read of /object_info and the
    // model folders: a fraction of a second here, seconds on a real pod), which compressed time multiplies.
    // Asked only when not every pod read lacks the job's needs (missingOnEveryPod): with a pod read, one of them
    // can run it, and a pod being read is taken to be like it.
    const likeTheOthers = known;
    return (pod) => {
      if (!pod.runpodId) return true;
      if (this.pods.isReading(pod.runpodId)) return likeTheOthers;
      const capabilities = this.pods.get(pod.runpodId);
      return !capabilities || !requirements || canRun(requirements, capabilities);
    };
  }

  /** What a pod was read to have (its models and node types), for the job started on it. */
  podCapabilitiesOf(pod: PodEntity): WorkerCapabilities | undefined {
    return pod.runpodId ? this.pods.get(pod.runpodId) : undefined;
  }

  /**
   * What the closest pod lacks when every pod whose capabilities are read lacks something the job needs;
   * undefined when one has it all, none is read yet, or the workflow cannot be read (any pod may try then).
   */
  async missingOnEveryPod(job: JobEntity): Promise<MissingRequirements | undefined> {
    if (!this.pods.anyKnown()) return undefined;
    const requirements = await this.requirements.of(job);
    if (!requirements) return undefined;
    return missingOnEveryWorker(requirements, this.pods.allKnown());
  }

  /**
   * The routing decision once the backends' capabilities are counted: a job that only pods could take while no
   * pod can run it, or that only serverless could take while no endpoint declares its models, is rejected with
   * what is missing. A job serverless failed that a free local worker takes needs no pod.
   */
  async withCapabilities(
    job: JobEntity,
    decision: RouteDecision,
    context: { podsLack: MissingRequirements | undefined; serverlessAvailable: boolean; endpoints: number },
  ): Promise<RouteDecision> {
    const { podsLack } = context;
    if (
      podsLack &&
      decision.kind !== 'local' &&
      (decision.kind === 'reject' || job.podOnly || job.requestedBackend === 'pod')
    )
      return { kind: 'reject', reason: `No pod can run this workflow: ${describeMissing(podsLack)}` };
    if (
      context.serverlessAvailable &&
      context.endpoints === 0 &&
      (decision.kind === 'reject' || job.requestedBackend === 'serverless')
    ) {
      const lacking = missingOnEveryEndpoint(
        this.config.runpod.serverlessEndpoints,
        await this.requirements.of(job),
      );
      if (lacking) return { kind: 'reject', reason: noEndpointMessage(lacking) };
    }
    return decision;
  }
}
