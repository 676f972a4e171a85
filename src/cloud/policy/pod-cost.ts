import { HOUR } from '../../common/clock';

export interface DayAmount {
  /** UTC day, YYYY-MM-DD */
  day: string;
  amountUsd: number;
}

export function utcDay(epochMs: number): string {
  return new Date(epochMs).toISOString().slice(0, 10);
}

function startOfUtcDay(epochMs: number): number {
  const date = new Date(epochMs);
  return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
}

const DAY = 24 * HOUR;

/** RunPod bills pods per second at the hourly rate, from creation (boot included) to termination. */
export function podCost(costPerHour: number, fromMs: number, toMs: number): number {
  return toMs <= fromMs ? 0 : (costPerHour * (toMs - fromMs)) / HOUR;
}

/**
 * The absolute cost per UTC day of a pod billed over [billingStart, billedUntil], for the days touched by
 * [touchedFrom, billedUntil]. Absolute (not incremental) amounts make re-writing the ledger idempotent.
 */
export function podCostByDay(
  costPerHour: number,
  billingStart: number,
  billedUntil: number,
  touchedFrom: number = billingStart,
): DayAmount[] {
  const amounts: DayAmount[] = [];
  for (
    let dayStart = startOfUtcDay(Math.max(billingStart, touchedFrom));
    dayStart < billedUntil;
    dayStart += DAY
  ) {
    const from = Math.max(billingStart, dayStart);
    const to = Math.min(billedUntil, dayStart + DAY);
    amounts.push({ day: utcDay(dayStart), amountUsd: podCost(costPerHour, from, to) });
  }
  return amounts;
}
