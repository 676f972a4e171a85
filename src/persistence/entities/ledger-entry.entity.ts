import { Column, Entity, Index, PrimaryColumn } from 'typeorm';
import { epochMs, float } from './column-transformers';

export type LedgerKind = 'pod' | 'serverless';

/**
 * Money spent, one row per (pod, UTC day) or per serverless job. Pod rows hold absolute amounts recomputed
 * from the pod's rate and billed interval, so re-writing them after a crash is idempotent.
 */
@Entity({ name: 'cost_ledger' })
@Index('idx_cost_ledger_day', ['day'])
export class LedgerEntryEntity {
  /** `pod:<runpodId>:<day>` or `serverless:<jobId>`. */
  @PrimaryColumn({ type: 'varchar', length: 200 })
  key!: string;

  @Column({ type: 'varchar', length: 16 })
  kind!: LedgerKind;

  /** RunPod pod id, or `serverless`. */
  @Column({ type: 'varchar', length: 64 })
  source!: string;

  /** UTC day, YYYY-MM-DD. */
  @Column({ type: 'varchar', length: 10 })
  day!: string;

  @Column({ name: 'amount_usd', type: 'double precision', transformer: float })
  amountUsd!: number;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: number;
}
