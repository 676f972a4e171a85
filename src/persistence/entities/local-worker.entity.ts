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
}
