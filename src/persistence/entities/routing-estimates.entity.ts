import { Column, Entity, PrimaryColumn } from 'typeorm';
import { epochMs } from './column-transformers';

/** Learned routing estimates (the run-time estimator's state), one JSON document per name. */
@Entity({ name: 'routing_estimates' })
export class RoutingEstimatesEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  name!: string;

  @Column({ type: 'text' })
  state!: string;

  @Column({ name: 'updated_at', type: 'bigint', transformer: epochMs })
  updatedAt!: number;
}
