import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiProperty, ApiTags } from '@nestjs/swagger';
import { DataSource } from 'typeorm';
import { Public } from '../http/route-access.decorators';
import { LeaderElection } from '../persistence/leader-election.service';

class HealthDto {
  @ApiProperty({ example: 'ok' })
  status!: string;

  @ApiProperty({ example: 'ok', description: '"ok" when the database answers' })
  database!: string;

  @ApiProperty({
    example: true,
    description: 'This instance runs the dispatcher, autoscaler, reaper and sweeper',
  })
  leader!: boolean;
}

@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly dataSource: DataSource,
    private readonly leadership: LeaderElection,
  ) {}

  @Get()
  @ApiOkResponse({ type: HealthDto })
  async health(): Promise<HealthDto> {
    try {
      await this.dataSource.query('SELECT 1');
      return { status: 'ok', database: 'ok', leader: this.leadership.isLeader() };
    } catch {
      return { status: 'degraded', database: 'unreachable', leader: this.leadership.isLeader() };
    }
  }
}
