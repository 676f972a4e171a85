import { Injectable } from '@nestjs/common';
import { LIVE_POD_STATES, type PodEntity } from './entities/pod.entity';
import { PodsRepository } from './pods.repository';

/** What RunPod told us when it created (or we found) the pod behind a write-ahead row. */
export interface PodAttachment {
  runpodId: string;
  url: string;
  costPerHour: number;
  /** Billing starts here: RunPod's createdAt, or when create returned. */
  createdAt: number;
  /** Only when RunPod reported one; otherwise the row keeps the GPU type it was requested with. */
  gpuTypeId?: string;
}

/**
 * Every write to a pod row, by name (STYLE.md §13). A state change is a compare-and-set: it applies only while
 * the row is in the states listed on the method and returns whether it applied, so two writers racing for one
 * pod (a reaper and a router, a sweep and a spawn) never both win. Writes that change no state (rates,
 * billing, marks) say so. The lifecycle is in pod.entity.ts; the one other writer is the dispatcher's
 * re-attach after a restart (ready -> busy through `PodsRepository.transition`; `reattach` is its named form).
 */
@Injectable()
export class PodTransitions {
  constructor(private readonly pods: PodsRepository) {}

  /** A new row (see `newPodRow`): the spawn's write-ahead `requested` row, or an adopted orphan's `starting` one. */
  async create(row: PodEntity): Promise<void> {
    await this.pods.insert(row);
  }

  /** requested -> starting: RunPod created the pod the write-ahead row stands for. */
  async markStarting(name: string, attachment: PodAttachment): Promise<boolean> {
    const { gpuTypeId, ...rest } = attachment;
    return this.pods.transition(name, ['requested'], {
      ...rest,
      state: 'starting',
      billedThrough: attachment.createdAt,
      ...(gpuTypeId ? { gpuTypeId } : {}),
    });
  }

  /** requested -> failed: the create failed, or RunPod never had the pod. `terminatedAt`: nothing billed. */
  async markFailedBeforeCreate(name: string, reason: string, now: number): Promise<boolean> {
    return this.pods.transition(name, ['requested'], {
      state: 'failed',
      failureReason: reason,
      terminatedAt: now,
    });
  }

  /** starting -> ready: RunPod runs it and ComfyUI answers. The idle clock starts now. */
  async markReady(name: string, now: number): Promise<boolean> {
    return this.pods.transition(name, ['starting'], { state: 'ready', readyAt: now, lastBusyAt: now });
  }

  /** starting -> failed: the pod vanished at RunPod while booting (its cost is settled by the caller). */
  async markVanishedWhileBooting(name: string, reason: string): Promise<boolean> {
    return this.pods.transition(name, ['starting'], { state: 'failed', failureReason: reason });
  }

  /** ready -> busy for one job, only while not draining; clears the idle mark. */
  async reserve(name: string, now: number): Promise<boolean> {
    return this.pods.transitionUndrained(name, ['ready'], {
      state: 'busy',
      busySince: now,
      idleMarkedAt: null,
    });
  }

  /**
   * ready -> busy for a job found running on the pod after a restart: draining or idle-marked pods too (the job
   * is already there), and the idle mark is left as it is.
   */
  async reattach(name: string, now: number): Promise<boolean> {
    return this.pods.transition(name, ['ready'], { state: 'busy', busySince: now });
  }

  /** busy -> ready after a job: the idle clock restarts now; `jobsProcessed` is the new total. */
  async release(name: string, now: number, jobsProcessed: number): Promise<boolean> {
    return this.pods.transition(name, ['busy'], {
      state: 'ready',
      busySince: null,
      lastBusyAt: now,
      jobsProcessed,
    });
  }

  /** First step of two-step reaping, on a ready pod (no state change). */
  async markIdle(name: string, now: number): Promise<boolean> {
    return this.pods.transition(name, ['ready'], { idleMarkedAt: now });
  }

  /** Takes the idle mark away (any state): the pod worked or is worth keeping after all. */
  async clearIdleMark(name: string): Promise<void> {
    await this.pods.update(name, { idleMarkedAt: null });
  }

  /** The idle timeout the reaper gives the pod (no state change; any state). */
  async setIdleTimeout(name: string, idleTimeoutMs: number): Promise<void> {
    await this.pods.update(name, { idleTimeoutMs });
  }

  /** A busy pod past CLOUD_MAX_POD_LIFETIME takes no new work (no state change). */
  async markDraining(name: string, now: number): Promise<boolean> {
    return this.pods.transition(name, ['busy'], { drainRequestedAt: now });
  }

  /**
   * ready -> terminating, only while it still carries the mark `idleMarkedAt` (the reaper's re-check): a router
   * that reserved the pod since cleared the mark, and the pod lives.
   */
  async claimIdle(name: string, idleMarkedAt: number): Promise<boolean> {
    return this.pods.transition(name, ['ready'], { state: 'terminating' }, { idleMarkedAt });
  }

  /** ready -> terminating: a pod past CLOUD_MAX_POD_LIFETIME that is not working. */
  async claimExpired(name: string): Promise<boolean> {
    return this.pods.transition(name, ['ready'], { state: 'terminating' });
  }

  /** starting|ready -> terminating at the daily budget, only while still in the state the caller saw. */
  async claimForBudget(name: string, seen: 'starting' | 'ready'): Promise<boolean> {
    return this.pods.transition(name, [seen], { state: 'terminating' });
  }

  /** starting|ready|busy -> terminating: RunPod no longer has the pod (terminated outside this service). */
  async claimGone(name: string): Promise<boolean> {
    return this.pods.transition(name, ['starting', 'ready', 'busy'], { state: 'terminating' });
  }

  /**
   * Any live state -> terminating, first step of every termination: records why (`failureReason`, null for a
   * normal end) and when we first asked RunPod, and clears the idle mark.
   */
  async beginTermination(
    name: string,
    fields: { failureReason: string | null; terminateRequestedAt: number },
  ): Promise<boolean> {
    return this.pods.transition(name, LIVE_POD_STATES, {
      state: 'terminating',
      idleMarkedAt: null,
      ...fields,
    });
  }

  /** terminating -> terminated|failed, once RunPod has ended the pod and its cost is settled. */
  async finishTermination(name: string, finalState: 'terminated' | 'failed'): Promise<boolean> {
    return this.pods.transition(name, ['terminating'], { state: finalState, busySince: null });
  }

  /** A terminating row with no RunPod id (its create's answer was lost) found at RunPod by name. */
  async recordFoundRunPodId(name: string, runpodId: string, createdAt: number): Promise<boolean> {
    return this.pods.transition(name, ['terminating'], { runpodId, createdAt });
  }

  /** The GPU type a spawn is trying now (the next fallback after "no capacity"); no state change. */
  async recordGpuType(name: string, gpuTypeId: string): Promise<void> {
    await this.pods.update(name, { gpuTypeId });
  }

  /** RunPod's own hourly rate, once it reports one; no state change. */
  async recordCostPerHour(name: string, costPerHour: number): Promise<void> {
    await this.pods.update(name, { costPerHour });
  }

  /** When billing stopped (the ledger keeps the first instant it was told); no state change. */
  async recordTerminatedAt(name: string, terminatedAt: number): Promise<void> {
    await this.pods.update(name, { terminatedAt });
  }

  /** The ledger has billed the pod up to `billedThrough`, `costUsd` in all; no state change. */
  async recordBilled(name: string, billedThrough: number, costUsd: number): Promise<void> {
    await this.pods.update(name, { billedThrough, costUsd });
  }
}
