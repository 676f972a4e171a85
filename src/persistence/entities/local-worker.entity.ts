import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from './column-transformers';

/** A local ComfyUI server registered at run time (workers from LOCAL_COMFYUI_URLS are not stored). */
@Entity({ name: 'local_workers' })
export class LocalWorkerEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  id!: string;

  @Column({ type: 'varchar', length: 128 })
  name!: string;

  @Column({ type: 'varchar', length: 512, unique: true })
  url!: string;

  @Column({ name: 'max_concurrent', type: 'integer', default: 1 })
  maxConcurrent!: number;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;

  /** The installer's stable id of the machine: a re-install with the same id replaces this row (same id). */
  @Column({ name: 'machine_id', type: 'varchar', length: 128, nullable: true, unique: true })
  machineId!: string | null;

  /** Hex SHA-256 of the worker's own key, which may only remove this registration (the uninstaller). */
  @Column({ name: 'worker_key_hash', type: 'varchar', length: 64, nullable: true })
  workerKeyHash!: string | null;

  /** What the machine said about itself at registration (GPU, models), as JSON; null when it said nothing. */
  @Column({ type: 'text', nullable: true })
  reported!: string | null;
}
