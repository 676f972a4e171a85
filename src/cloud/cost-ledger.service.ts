import { Injectable } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { LedgerEntryEntity } from '../persistence/entities/ledger-entry.entity';
import { PodEntity } from '../persistence/entities/pod.entity';
import { LedgerRepository } from '../persistence/ledger.repository';
import { PodsRepository } from '../persistence/pods.repository';
import { CloudEvents, CostUpdatedEvent } from './cloud.events';
import { podCost, podCostByDay } from './policy/pod-cost';

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

  constructor(
    private readonly ledger: LedgerRepository,
    private readonly pods: PodsRepository,
    private readonly events: EventEmitter2,
  ) {}

  /** Brings the pod's ledger rows up to `until` and returns its total cost so far. */
  async accruePod(pod: PodEntity, until: number): Promise<number> {
    if (!pod.runpodId || pod.createdAt === null) return pod.costUsd;
    const from = pod.billedThrough ?? pod.createdAt;
    const end = Math.max(until, from);
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
    await this.pods.update(pod.name, { billedThrough: end, costUsd });
    pod.billedThrough = end;
    pod.costUsd = costUsd;
    return costUsd;
  }

  async accrueAll(pods: PodEntity[], until: number): Promise<void> {
    for (const pod of pods) await this.accruePod(pod, until);
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
