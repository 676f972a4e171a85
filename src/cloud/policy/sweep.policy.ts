import { MINUTE } from '../../common/clock';
import { type PodState } from '../../persistence/entities/pod.entity';
import { podCost } from './pod-cost';

/** A pod as RunPod lists it (already filtered by our name prefix). */
export interface RemotePod {
  id: string;
  name: string;
  /** false for a pod RunPod lists as TERMINATED (it no longer bills). */
  alive: boolean;
  createdAt: number | null;
  costPerHour: number;
}

/** One of our rows, as the sweep needs it. */
export interface SweptRow {
  name: string;
  state: PodState;
  runpodId: string | null;
  requestedAt: number;
  createdAt: number | null;
}

export type OrphanAction = 'terminate' | 'adopt';

export interface SweepDecision {
  /** At RunPod with our prefix but no row of ours: terminate or adopt, per CLOUD_ORPHAN_POLICY. */
  orphans: Array<{ pod: RemotePod; action: OrphanAction }>;
  /** At RunPod and alive, but our row says it ended: it bills nobody watches, so terminate it. */
  strays: Array<{ pod: RemotePod; name: string }>;
  /** Write-ahead rows (`requested`, no RunPod id) whose pod RunPod has: fill in the id. */
  attach: Array<{ name: string; pod: RemotePod }>;
  /** Write-ahead rows RunPod has no pod for, older than the grace period: the create never happened. */
  neverCreated: string[];
  /** Rows we think are running whose pod RunPod no longer lists: terminated outside this service. */
  gone: string[];
}

/** A create may still be in flight this long after the write-ahead row: do not call it "never created". */
export const REQUESTED_GRACE_MS = 2 * MINUTE;

const RUNNING_STATES: readonly PodState[] = ['starting', 'ready', 'busy'];
const ENDED_STATES: readonly PodState[] = ['terminated', 'failed'];

/**
 * Diffs what RunPod lists under our name prefix with our rows (Karpenter's garbage collection).
 * `listedAt` is when the listing was taken: rows must be read after it, and a row whose pod was created
 * after it is not called gone (it could not be in the listing). Rows in `terminating` are left to the
 * control loop's retry; `gone` candidates should be re-checked one by one before closing.
 */
export function decideSweep(
  remote: RemotePod[],
  rows: SweptRow[],
  listedAt: number,
  now: number,
  orphanPolicy: OrphanAction,
  requestedGraceMs = REQUESTED_GRACE_MS,
): SweepDecision {
  const decision: SweepDecision = { orphans: [], strays: [], attach: [], neverCreated: [], gone: [] };
  const rowsByName = new Map(rows.map((row) => [row.name, row]));
  const alive = remote.filter((pod) => pod.alive);
  const aliveIds = new Set(alive.map((pod) => pod.id));
  const aliveByName = new Map(alive.map((pod) => [pod.name, pod]));

  for (const pod of alive) {
    const row = rowsByName.get(pod.name);
    if (!row) decision.orphans.push({ pod, action: orphanPolicy });
    else if (ENDED_STATES.includes(row.state)) decision.strays.push({ pod, name: row.name });
  }

  for (const row of rows) {
    if (row.state === 'requested' && row.runpodId === null) {
      const pod = aliveByName.get(row.name);
      if (pod) decision.attach.push({ name: row.name, pod });
      else if (now - row.requestedAt >= requestedGraceMs) decision.neverCreated.push(row.name);
      continue;
    }
    if (
      RUNNING_STATES.includes(row.state) &&
      row.runpodId !== null &&
      !aliveIds.has(row.runpodId) &&
      (row.createdAt ?? row.requestedAt) < listedAt
    ) {
      decision.gone.push(row.name);
    }
  }
  return decision;
}

/** USD a pod has cost from its creation to `now` at its hourly rate (0 when the creation time is unknown). */
export function costSinceCreation(pod: RemotePod, now: number): number {
  return pod.createdAt === null ? 0 : podCost(pod.costPerHour, pod.createdAt, now);
}
