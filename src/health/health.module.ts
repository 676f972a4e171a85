import { Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { HealthController } from './health.controller';
import { ReadinessIndicators } from './readiness.indicators';

/** `/health`, `/health/live` and `/health/ready` (public routes of the HTTP service, not of the embeddable core). */
@Module({
  // Probes answer failures in their body; logging every failed probe at error level would flood the log.
  imports: [TerminusModule.forRoot({ logger: false })],
  controllers: [HealthController],
  providers: [ReadinessIndicators],
})
export class HealthModule {}
