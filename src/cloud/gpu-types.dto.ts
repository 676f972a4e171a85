import { ApiProperty } from '@nestjs/swagger';

export class GpuTypeOfferDto {
  @ApiProperty({ example: 'NVIDIA GeForce RTX 4090', description: 'Exact RunPod GPU type id (use it to spawn)' })
  id!: string;

  @ApiProperty({ example: 'RTX 4090' })
  displayName!: string;

  @ApiProperty({ type: Number, nullable: true, example: 24, description: 'VRAM in GB' })
  memoryInGb!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 0.69,
    description: 'On-demand USD/h for one GPU on secure cloud; null when unknown (static table) or not offered',
  })
  securePricePerHr!: number | null;

  @ApiProperty({
    type: Number,
    nullable: true,
    example: 0.34,
    description: 'On-demand USD/h for one GPU on community cloud; null when unknown or not offered',
  })
  communityPricePerHr!: number | null;

  @ApiProperty({
    type: Boolean,
    nullable: true,
    example: true,
    description:
      'RunPod lists stock for one GPU in our cloud (RUNPOD_CLOUD_TYPE); null when it did not say. A listing is ' +
      'not a promise: a spawn can still find no capacity',
  })
  available!: boolean | null;

  @ApiProperty({ enum: ['HIGH', 'MEDIUM', 'LOW', 'NONE'], nullable: true, example: 'HIGH' })
  stockStatus!: string | null;
}

export class GpuTypeCatalogDto {
  @ApiProperty({
    enum: ['runpod', 'static'],
    example: 'runpod',
    description: "runpod: RunPod's catalogue (cached up to a minute); static: the built-in table, without prices",
  })
  source!: string;

  @ApiProperty({ example: '2026-11-28T12:00:00.000Z', description: 'When the list was read from RunPod or built' })
  fetchedAt!: string;

  @ApiProperty({
    type: String,
    nullable: true,
    example: null,
    description: 'Why the static table is shown (null when source is runpod)',
  })
  reason!: string | null;

  @ApiProperty({ type: [GpuTypeOfferDto] })
  gpuTypes!: GpuTypeOfferDto[];
}
