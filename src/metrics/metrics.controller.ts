import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ReadAccess } from '../http/route-access.decorators';
import { CloudWorkersMetrics } from './cloud-workers-metrics';

const EXAMPLE = [
  '# HELP cloud_workers_queue_depth Jobs waiting to start (status queued); fleet-wide',
  '# TYPE cloud_workers_queue_depth gauge',
  'cloud_workers_queue_depth 3',
  '# HELP cloud_workers_jobs_finished_total Jobs that ended on this instance, by final status and the backend they ran on (none: never started)',
  '# TYPE cloud_workers_jobs_finished_total counter',
  'cloud_workers_jobs_finished_total{status="completed",backend="local"} 42',
  '',
].join('\n');

/**
 * Prometheus scrapes here. Read access: Prometheus sends the read-only key as a bearer token
 * (`authorization.credentials` in its scrape config), so the endpoint does not leak fleet state to anyone
 * who can reach the port. Served from the core's own registry, computed at scrape time (see FleetGauges).
 */
@ApiTags('metrics')
@Controller('metrics')
export class MetricsController {
  constructor(private readonly metrics: CloudWorkersMetrics) {}

  @Get()
  @ReadAccess()
  @ApiOperation({
    summary: 'Prometheus metrics (text exposition format 0.0.4)',
    description:
      'Jobs by status and backend, queue depth, wait and run time histograms, pods by state, spend by backend, ' +
      'budget, RunPod and ComfyUI call results and latency, webhook deliveries, leader flag. All names start ' +
      'with `cloud_workers_`. Fleet-wide values read from the database (jobs, pods, spend, budget) are the same ' +
      'on every instance; event counters are per instance.',
  })
  @ApiOkResponse({
    description: 'The metrics, one sample per line',
    content: { 'text/plain': { schema: { type: 'string' }, example: EXAMPLE } },
  })
  async scrape(@Res() response: Response): Promise<void> {
    const { contentType, body } = await this.metrics.scrape();
    response.status(200).set('Content-Type', contentType).set('Cache-Control', 'no-store').send(body);
  }
}
