import { ApiProperty } from '@nestjs/swagger';

export class LocalStatsDto {
  @ApiProperty({ example: 2 })
  workers!: number;

  @ApiProperty({ example: 2 })
  healthy!: number;

  @ApiProperty({ example: 1 })
  busy!: number;

  @ApiProperty({ example: 1 })
  runningJobs!: number;
}

export class CloudStatsDto {
  @ApiProperty({
    example: { requested: 0, starting: 1, ready: 1, busy: 2, terminating: 0, terminated: 0, failed: 0 },
    type: 'object',
    additionalProperties: { type: 'number' },
    description: 'Live pods by state',
  })
  pods!: Record<string, number>;

  @ApiProperty({ example: 4 })
  activePods!: number;

  @ApiProperty({ example: 3, description: 'Jobs running on serverless now' })
  serverlessInFlight!: number;

  @ApiProperty({ example: 5 })
  maxPods!: number;
}

export class JobStatsDto {
  @ApiProperty({ example: 120 })
  total!: number;

  @ApiProperty({
    example: { queued: 4, running: 3, completed: 110, failed: 2, cancelled: 1 },
    type: 'object',
    additionalProperties: { type: 'number' },
  })
  byStatus!: Record<string, number>;

  @ApiProperty({
    example: { local: 80, serverless: 12, pod: 18 },
    type: 'object',
    additionalProperties: { type: 'number' },
  })
  completedByBackend!: Record<string, number>;
}

export class StatsDto {
  @ApiProperty({ type: LocalStatsDto })
  local!: LocalStatsDto;

  @ApiProperty({ type: CloudStatsDto })
  cloud!: CloudStatsDto;

  @ApiProperty({ type: JobStatsDto })
  jobs!: JobStatsDto;

  @ApiProperty({ example: 2.34, description: 'USD, all time (pods + serverless)' })
  totalCost!: number;
}
