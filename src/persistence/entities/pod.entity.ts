import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs, float } from './column-transformers';

/**
 * Lifecycle: requested -> starting -> ready <-> busy -> terminating -> terminated, or failed.
 * A row is written in `requested` (with its unique name) before RunPod's create is called.
 */
export const POD_STATES = [
  'requested',
  'starting',
  'ready',
  'busy',
  'terminating',
  'terminated',
  'failed',
] as const;
export type PodState = (typeof POD_STATES)[number];

/** States in which a pod may be billing and counts against CLOUD_MAX_PODS. */
export const LIVE_POD_STATES: readonly PodState[] = ['requested', 'starting', 'ready', 'busy', 'terminating'];

/** `adopted`: found at RunPod by the sweeper with our name prefix but no row, and taken over (CLOUD_ORPHAN_POLICY=adopt). */
export type PodOrigin = 'manual' | 'autoscale' | 'adopted';

@Entity({ name: 'pods' })
export class PodEntity {
  /** Our unique name, given to RunPod too: `${CLOUD_POD_NAME_PREFIX}-<random>`. */
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ name: 'runpod_id', type: 'varchar', length: 64, nullable: true, unique: true })
  runpodId!: string | null;

  @Column({ type: 'varchar', length: 16 })
  state!: PodState;

  @Column({ type: 'varchar', length: 16 })
  origin!: PodOrigin;

  @Column({ name: 'gpu_type_id', type: 'varchar', length: 128 })
  gpuTypeId!: string;

  @Column({ name: 'cost_per_hour', type: 'double precision', default: 0, transformer: float })
  costPerHour!: number;

  @Column({ type: 'varchar', length: 512, nullable: true })
  url!: string | null;

  /** When we wrote the row (before RunPod's create). Boot timeouts count from here. */
  @Column({ name: 'requested_at', type: 'bigint', transformer: epochMs })
  requestedAt!: number;

  /** When RunPod created the pod: billing starts here (REST v2 createdAt; GraphQL: when create returned). */
  @Column({ name: 'created_at', type: 'bigint', nullable: true, transformer: epochMs })
  createdAt!: number | null;

  @Column({ name: 'ready_at', type: 'bigint', nullable: true, transformer: epochMs })
  readyAt!: number | null;

  /** Last moment the pod was known to be working or became ready: the idle clock starts here. */
  @Column({ name: 'last_busy_at', type: 'bigint', nullable: true, transformer: epochMs })
  lastBusyAt!: number | null;

  @Column({ name: 'busy_since', type: 'bigint', nullable: true, transformer: epochMs })
  busySince!: number | null;

  /** First step of two-step reaping: set when found idle, cleared when the pod gets work. */
  @Column({ name: 'idle_marked_at', type: 'bigint', nullable: true, transformer: epochMs })
  idleMarkedAt!: number | null;

  /**
   * Its own idle timeout (ms) as the leader's reaper last set it (under `breakeven`: τ*, longer for a pod worth
   * keeping, shorter for one released); null until the reaper has seen the pod. Stored, not only held in the
   * leader's memory, so every instance's budget admission counts what an idle pod still commits alike, and a
   * new leader starts from it.
   */
  @Column({ name: 'idle_timeout_ms', type: 'integer', nullable: true })
  idleTimeoutMs!: number | null;

  /**
   * Set when the pod must take no new work and end once idle (CLOUD_MAX_POD_LIFETIME). The router skips it;
   * the control loop terminates it as soon as it is ready (not busy).
   */
  @Column({ name: 'drain_requested_at', type: 'bigint', nullable: true, transformer: epochMs })
  drainRequestedAt!: number | null;

  /** When we first asked RunPod to terminate it; a retry after a crash that finds it gone bills up to here. */
  @Column({ name: 'terminate_requested_at', type: 'bigint', nullable: true, transformer: epochMs })
  terminateRequestedAt!: number | null;

  @Column({ name: 'terminated_at', type: 'bigint', nullable: true, transformer: epochMs })
  terminatedAt!: number | null;

  /** Cost has been written to the ledger up to this instant. */
  @Column({ name: 'billed_through', type: 'bigint', nullable: true, transformer: epochMs })
  billedThrough!: number | null;

  @Column({ name: 'cost_usd', type: 'double precision', default: 0, transformer: float })
  costUsd!: number;

  @Column({ name: 'jobs_processed', type: 'integer', default: 0 })
  jobsProcessed!: number;

  @Column({ name: 'failure_reason', type: 'text', nullable: true })
  failureReason!: string | null;
}
