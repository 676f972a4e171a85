import { MINUTE } from '../../common/clock';

export const CAPACITY_BACKOFF_FIRST_MS = MINUTE;
export const CAPACITY_BACKOFF_MAX_MS = 30 * MINUTE;

/** How long a GPU type is skipped after its `failures`-th "no capacity" in a row: 1 min, doubling, capped at 30. */
export function capacityBackoffMs(failures: number): number {
  if (failures <= 0) return 0;
  return Math.min(CAPACITY_BACKOFF_FIRST_MS * 2 ** Math.min(failures - 1, 30), CAPACITY_BACKOFF_MAX_MS);
}

export interface GpuBackoffEntry {
  gpuType: string;
  /** Epoch ms until which spawns skip this type. */
  until: number;
  /** "No capacity" answers in a row. */
  failures: number;
}

/**
 * Memory of GPU types RunPod answered "no capacity" for, so spawns do not hammer RunPod. In memory only: a
 * restart forgets it, which costs at most one more "no capacity" answer per type. Time comes in as `now`.
 */
export class GpuCapacityBackoff {
  private readonly entries = new Map<string, GpuBackoffEntry>();

  recordNoCapacity(gpuType: string, now: number): GpuBackoffEntry {
    const failures = (this.entries.get(gpuType)?.failures ?? 0) + 1;
    const entry = { gpuType, failures, until: now + capacityBackoffMs(failures) };
    this.entries.set(gpuType, entry);
    return entry;
  }

  /** A successful create: the type has capacity again. */
  recordSuccess(gpuType: string): void {
    this.entries.delete(gpuType);
  }

  isBackedOff(gpuType: string, now: number): boolean {
    const entry = this.entries.get(gpuType);
    return entry !== undefined && entry.until > now;
  }

  /** Types still skipped at `now`, soonest back first. (Expired entries keep their count until a success.) */
  active(now: number): GpuBackoffEntry[] {
    return [...this.entries.values()].filter((entry) => entry.until > now).sort((a, b) => a.until - b.until);
  }
}
