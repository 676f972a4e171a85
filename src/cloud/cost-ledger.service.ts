import { Injectable } from '@nestjs/common';
import { KeyedMutex } from '../common/async-mutex';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { LedgerEntryEntity } from '../persistence/entities/ledger-entry.entity';
import { PodEntity } from '../persistence/entities/pod.entity';
import { LedgerRepository } from '../persistence/ledger.repository';
import { PodTransitions } from '../persistence/pod-transitions';
import { PodsRepository } from '../persistence/pods.repository';
import { CloudEvents, CostUpdatedEvent } from './cloud.events';
import { podCost, podCostByDay, utcDay } from './policy/pod-cost';
import { Clock } from '../common/clock';

/** Rounds to a tenth of a cent-hundredth for display; the ledger keeps full precision. */
export function roundUsd(amount: number): number {
  return Math.round(amount * 1e6) / 1e6;
}

/**
 * Writes what pods cost into the ledger as it accrues, so a crash or restart loses at most one tick of
 * accounting. Each pod bills from its creation at RunPod, boot included, to termination.
 */
@Injectable()
export class CostLedgerService {
  private lastReportedTotal = -1;
  private readonly perPod = new KeyedMutex();

  constructor(
    private readonly ledger: LedgerRepository,
    private readonly pods: PodsRepository,
    private readonly transitions: PodTransitions,
    private readonly events: EventEmitter2,
    private readonly clock: Clock,
  ) {}

  /**
   * Brings the pod's ledger rows up to `until` (never past its termination) and returns its total cost.
   * Reads the pod fresh under a per-pod lock, so a tick's accrual and a termination's settlement of the
   * same pod cannot interleave and bill past the end.
   */
  async accruePod(name: string, until: number): Promise<number> {
    return this.perPod.run(name, async () => {
      const pod = await this.pods.findByName(name);
      if (!pod) return 0;
      return this.write(pod, pod.terminatedAt ?? until);
    });
  }

  /** Records the termination instant (the first one wins) and bills the pod exactly up to it. */
  async settlePod(name: string, terminatedAt: number): Promise<number> {
    return this.perPod.run(name, async () => {
      const pod = await this.pods.findByName(name);
      if (!pod) return 0;
      pod.terminatedAt ??= terminatedAt;
      await this.transitions.recordTerminatedAt(name, pod.terminatedAt);
      return this.write(pod, pod.terminatedAt);
    });
  }

  async accrueAll(names: string[], until: number): Promise<void> {
    for (const name of names) await this.accruePod(name, until);
    await this.reportTotal();
  }

  private async write(pod: PodEntity, until: number): Promise<number> {
    if (!pod.runpodId || pod.createdAt === null) return pod.costUsd;
    const from = Math.min(pod.billedThrough ?? pod.createdAt, until);
    const end = Math.max(until, pod.createdAt);
    const entries = podCostByDay(pod.costPerHour, pod.createdAt, end, from).map((slice) =>
      Object.assign(new LedgerEntryEntity(), {
        key: `pod:${pod.runpodId}:${slice.day}`,
        kind: 'pod' as const,
        source: pod.runpodId!,
        day: slice.day,
        amountUsd: slice.amountUsd,
        updatedAt: end,
      }),
    );
    const costUsd = podCost(pod.costPerHour, pod.createdAt, end);
    await this.ledger.upsert(entries);
    await this.transitions.recordBilled(pod.name, end, costUsd);
    return costUsd;
  }

  /** Records one serverless attempt's billed cost (idempotent per key). */
  async recordServerless(attemptKey: string, amountUsd: number): Promise<void> {
    const now = this.clock.now();
    await this.ledger.upsert([
      Object.assign(new LedgerEntryEntity(), {
        key: `serverless:${attemptKey}`,
        kind: 'serverless' as const,
        source: 'serverless',
        day: utcDay(now),
        amountUsd,
        updatedAt: now,
      }),
    ]);
    await this.reportTotal();
  }

  async totalUsd(): Promise<number> {
    return this.ledger.totalUsd();
  }

  async totalsBySource(): Promise<Record<string, number>> {
    const totals = await this.ledger.totalsBySource();
    return Object.fromEntries(totals.map((row) => [row.source, roundUsd(row.amountUsd)]));
  }

  /** Emits `costUpdated` when the total moved since the last report. */
  async reportTotal(): Promise<void> {
    const totalCost = roundUsd(await this.ledger.totalUsd());
    if (totalCost === this.lastReportedTotal) return;
    this.lastReportedTotal = totalCost;
    const event: CostUpdatedEvent = { totalCost };
    this.events.emit(CloudEvents.CostUpdated, event);
  }
}
