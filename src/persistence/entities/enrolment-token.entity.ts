import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from './column-transformers';

/**
 * A one-time enrolment token (POST /api/local/install-tokens): it may register one local worker, once, before it
 * expires. Only the token's SHA-256 is stored, so a copy of the database cannot enrol a machine.
 */
@Entity({ name: 'enrolment_tokens' })
export class EnrolmentTokenEntity {
  @PrimaryColumn({ type: 'varchar', length: 32 })
  id!: string;

  /** Hex SHA-256 of the token. */
  @Column({ name: 'token_hash', type: 'varchar', length: 64, unique: true })
  tokenHash!: string;

  /** What the operator called it (shown nowhere secret; helps tell tokens apart). */
  @Column({ type: 'varchar', length: 128, nullable: true })
  name!: string | null;

  @Column({ name: 'created_at', type: 'bigint', transformer: epochMs })
  createdAt!: number;

  @Column({ name: 'expires_at', type: 'bigint', transformer: epochMs })
  expiresAt!: number;

  /** Set once, atomically, by the registration that consumed it. */
  @Column({ name: 'used_at', type: 'bigint', nullable: true, transformer: epochMs })
  usedAt!: number | null;

  /** The worker it registered. */
  @Column({ name: 'worker_id', type: 'varchar', length: 64, nullable: true })
  workerId!: string | null;
}
