import { FakeClock, SECOND } from '../../common/clock';
import type { CostLedgerService } from '../../cloud/cost-ledger.service';
import type { AppConfig } from '../../config/app-config';
import type { OutputStore } from '../../jobs/output-store';
import type { JobEntity } from '../../persistence/entities/job.entity';
import type { ServerlessJobStatus } from '../../runpod/serverless-client';
import type { ServerlessClients } from '../../runpod/serverless-clients';
import type { ExecutionContext } from './execution';
import { ServerlessExecutor } from './serverless-executor';

const config = {
  jobs: {
    serverlessExecutionTimeoutMs: 3_600_000,
    serverlessPollMs: 1,
    serverlessPollMaxMs: 1,
    serverlessQueueTimeoutMs: 0,
  },
  runpod: {
    serverlessEndpoints: [{ id: 'ep', pricePerSecond: 0.001 }],
    outputMaxBytes: 1_000_000,
    outputTimeoutMs: 1000,
    outputAllowHttp: false,
    outputAllowPrivateNetworks: false,
  },
} as unknown as AppConfig;

const job = {
  id: 'job-1',
  workerId: 'ep',
  attempts: 1,
  workflow: '{}',
  inputImages: '[]',
  remoteId: null,
  startedAt: null,
} as unknown as JobEntity;

describe('ServerlessExecutor', () => {
  it("dates a job's start from when it was sent, however late RunPod's answer to /run arrives", async () => {
    const clock = new FakeClock();
    const sent = clock.now();
    // RunPod takes the job and a worker starts it at once (delayTime 0), but its answer to /run reaches us four
    // minutes later, as on a loaded machine with a jumping test clock. The run took those four minutes.
    const done: ServerlessJobStatus = {
      id: 'remote-1',
      status: 'COMPLETED',
      delayTime: 0,
      executionTime: 240 * SECOND,
      output: { images: [] },
    };
    const client = {
      run: async () => {
        clock.advance(240 * SECOND);
        return { id: 'remote-1', status: 'IN_QUEUE' as const };
      },
      status: async () => done,
    };
    const clients = { get: () => client } as unknown as ServerlessClients;
    const ledger = { recordServerless: async () => undefined } as unknown as CostLedgerService;
    const executor = new ServerlessExecutor(config, clients, {} as OutputStore, ledger, clock);
    const ctx: ExecutionContext = {
      job,
      signal: new AbortController().signal,
      reattach: false,
      onRemoteId: async () => undefined,
      onProgress: () => undefined,
    };

    const result = await executor.execute(ctx);

    expect(result.startedRunningAt).toBe(sent);
    expect(result.costUsd).toBeCloseTo(0.24, 6);
  });
});
