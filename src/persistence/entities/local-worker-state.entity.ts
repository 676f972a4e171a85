import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from './column-transformers';

/**
 * What an operator set on a local worker (PATCH /api/local/workers/:id), for workers from LOCAL_COMFYUI_URLS and
 * registered ones alike (ids are stable hashes of the URL). No row = enabled, not draining.
 */
@Entity({ name: 'local_worker_states' })
export class LocalWorkerStateEntity {
  @PrimaryColumn({ name: 'worker_id', type: 'varchar', length: 64 })
  workerId!: string;

  /** false: the worker takes no new jobs (running ones finish). */
  @Column({ type: 'boolean', default: true })
  enabled!: boolean;

  /** true: no new jobs, and the worker is removed once it runs none (an env worker ends disabled instead). */
  @Column({ type: 'boolean', default: false })
  draining!: boolean;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: number;
}
