import { Column, Entity, PrimaryColumn } from 'typeorm';

/** Runtime settings changed through the API (JSON values), overriding the environment's defaults. */
@Entity({ name: 'settings' })
export class SettingEntity {
  @PrimaryColumn({ type: 'varchar', length: 64 })
  key!: string;

  @Column({ type: 'text' })
  value!: string;
}
