import { Injectable } from '@nestjs/common';
import { CloudSettingsService } from '../cloud/cloud-settings.service';
import { roundUsd } from '../cloud/cost-ledger.service';
import { CostLedgerService } from '../cloud/cost-ledger.service';
import { LocalWorkersService } from '../local/local-workers.service';
import { POD_STATES } from '../persistence/entities/pod.entity';
import { JobsRepository } from '../persistence/jobs.repository';
import { PodsRepository } from '../persistence/pods.repository';
import type { StatsDto } from './dto/stats.dto';

/** The seed's "combined statistics": local, cloud, jobs and money in one answer. */
@Injectable()
export class StatsService {
  constructor(
    private readonly local: LocalWorkersService,
    private readonly pods: PodsRepository,
    private readonly jobs: JobsRepository,
    private readonly ledger: CostLedgerService,
    private readonly settings: CloudSettingsService,
  ) {}

  async stats(): Promise<StatsDto> {
    const workers = this.local.list();
    const live = await this.pods.findLive();
    const podsByState = Object.fromEntries(POD_STATES.map((state) => [state, 0])) as Record<string, number>;
    for (const pod of live) podsByState[pod.state]++;
    const [byStatus, byBackend, serverlessInFlight, totalCost] = await Promise.all([
      this.jobs.countBy('status'),
      this.jobs.countBy('backend', { status: 'completed' }),
      this.jobs.countRunningOn('serverless'),
      this.ledger.totalUsd(),
    ]);
    const jobsByStatus = {
      queued: 0,
      running: 0,
      completed: 0,
      failed: 0,
      cancelled: 0,
      ...Object.fromEntries(byStatus.map((row) => [row.key, row.count])),
    };
    return {
      local: {
        workers: workers.length,
        healthy: workers.filter((worker) => worker.healthy).length,
        busy: workers.filter((worker) => worker.running > 0).length,
        runningJobs: workers.reduce((sum, worker) => sum + worker.running, 0),
      },
      cloud: {
        pods: podsByState,
        activePods: live.filter((pod) => pod.state !== 'terminating').length,
        serverlessInFlight,
        maxPods: this.settings.get().maxPods,
      },
      jobs: {
        total: Object.values(jobsByStatus).reduce((sum, count) => sum + count, 0),
        byStatus: jobsByStatus,
        completedByBackend: {
          local: 0,
          serverless: 0,
          pod: 0,
          ...Object.fromEntries(byBackend.map((row) => [row.key, row.count])),
        },
      },
      totalCost: roundUsd(totalCost),
    };
  }
}
