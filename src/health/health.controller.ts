import { Controller, Get, Res, ServiceUnavailableException } from '@nestjs/common';
import {
  ApiOkResponse,
  ApiOperation,
  ApiProperty,
  ApiPropertyOptional,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import { type HealthCheckResult, HealthCheckService } from '@nestjs/terminus';
import type { Response } from 'express';
import { Public } from '../http/route-access.decorators';
import { LeaderElection } from '../persistence/leader-election.service';
import { ReadinessIndicators } from './readiness.indicators';

class HealthDto {
  @ApiProperty({
    example: 'ok',
    enum: ['ok', 'degraded', 'draining'],
    description: '"ok" when ready; "degraded" when the database does not answer; "draining" during shutdown',
  })
  status!: 'ok' | 'degraded' | 'draining';

  @ApiProperty({ example: 'ok', enum: ['ok', 'unreachable'], description: '"ok" when the database answers' })
  database!: 'ok' | 'unreachable';

  @ApiProperty({
    example: true,
    description: 'This instance runs the dispatcher, autoscaler, reaper and sweeper',
  })
  leader!: boolean;

  @ApiProperty({ example: false, description: 'Shutting down (SIGTERM): no new jobs are taken' })
  draining!: boolean;
}

/** A map of indicator name to its result (`{status, ...}`). */
const INDICATORS = { type: 'object', additionalProperties: { type: 'object' } } as const;

/** @nestjs/terminus' answer: one entry per indicator (`database`, `shutdown`, `process`) with its `status`. */
class HealthCheckDto {
  @ApiProperty({ example: 'ok', enum: ['ok', 'error', 'degraded', 'shutting_down'] })
  status!: string;

  @ApiPropertyOptional({ ...INDICATORS, description: 'Indicators that are up' })
  info?: Record<string, unknown>;

  @ApiPropertyOptional({ ...INDICATORS, description: 'Indicators that are down, with why' })
  error?: Record<string, unknown>;

  @ApiProperty({
    ...INDICATORS,
    example: { database: { status: 'up', responseTime: 1 }, shutdown: { status: 'up' } },
  })
  details!: Record<string, unknown>;
}

/**
 * Probes for load balancers and orchestrators. Public: a probe carries no key.
 * - `/health/live`: the process serves HTTP (restart it when this stops answering).
 * - `/health/ready`: it can take work: the database answers and it is not draining (503 otherwise).
 * - `/health`: the original summary (with `leader`), same readiness rule and status codes as `/health/ready`.
 */
@ApiTags('health')
@Public()
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly readiness: ReadinessIndicators,
    private readonly leadership: LeaderElection,
  ) {}

  @Get()
  @ApiOperation({ summary: 'Readiness summary with leadership (503 when not ready)' })
  @ApiOkResponse({ type: HealthDto })
  @ApiServiceUnavailableResponse({ type: HealthDto, description: 'Database unreachable, or draining' })
  async summary(@Res({ passthrough: true }) response: Response): Promise<HealthDto> {
    const result = await this.runChecks(response);
    const database = result.details.database?.status === 'up' ? 'ok' : 'unreachable';
    const draining = result.details.shutdown?.status === 'down';
    const status = draining ? 'draining' : database === 'ok' ? 'ok' : 'degraded';
    return { status, database, leader: this.leadership.isLeader(), draining };
  }

  @Get('live')
  @ApiOperation({ summary: 'Liveness: the process answers HTTP' })
  @ApiOkResponse({ type: HealthCheckDto })
  live(): Promise<HealthCheckResult> {
    return this.health.check([
      () => ({ process: { status: 'up', uptimeSeconds: Math.round(process.uptime()) } }),
    ]);
  }

  @Get('ready')
  @ApiOperation({ summary: 'Readiness: the database answers and the instance is not draining' })
  @ApiOkResponse({ type: HealthCheckDto })
  @ApiServiceUnavailableResponse({ type: HealthCheckDto, description: 'Database unreachable, or draining' })
  ready(@Res({ passthrough: true }) response: Response): Promise<HealthCheckResult> {
    return this.runChecks(response);
  }

  /**
   * Terminus throws a 503 exception carrying the result; the app's error filter would turn that into the error
   * shape, so the result is answered here as the body, with the 503.
   */
  private async runChecks(response: Response): Promise<HealthCheckResult> {
    try {
      return await this.health.check([() => this.readiness.database(), () => this.readiness.shutdownState()]);
    } catch (error) {
      if (!(error instanceof ServiceUnavailableException)) throw error;
      response.status(503);
      return error.getResponse() as HealthCheckResult;
    }
  }
}
