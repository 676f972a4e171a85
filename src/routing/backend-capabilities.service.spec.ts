import type { PodCapabilitiesService } from '../cloud/pod-capabilities.service';
import type { AppConfig } from '../config/app-config';
import type { ServerlessEndpointConfig } from '../config/serverless-endpoints';
import type { JobRequirements } from '../jobs/job-requirements';
import type { LocalWorkersService } from '../local/local-workers.service';
import type { JobEntity } from '../persistence/entities/job.entity';
import { workflowRequirements } from '../workflows';
import { BackendCapabilities } from './backend-capabilities.service';

const sdxlOnly: ServerlessEndpointConfig = {
  id: 'sdxl-only',
  pricePerSecond: 0.0002,
  label: null,
  models: [{ folder: 'checkpoints', name: 'sdxl.safetensors' }],
};

/** The service over one endpoint that declares SDXL alone; every job needs `flux.safetensors`. */
function capabilities(): BackendCapabilities {
  const config = { runpod: { serverlessEndpoints: [sdxlOnly] } } as unknown as AppConfig;
  const needsFlux = workflowRequirements({
    '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'flux.safetensors' } },
  });
  const requirements = { of: async () => needsFlux, peek: () => needsFlux } as unknown as JobRequirements;
  return new BackendCapabilities(
    config,
    requirements,
    {} as LocalWorkersService,
    {} as PodCapabilitiesService,
  );
}

const job = (fields: Partial<JobEntity>): JobEntity =>
  ({ id: 'j1', podOnly: false, requestedBackend: 'auto', ...fields }) as JobEntity;
const podsLack = { nodes: [], models: [{ folder: 'checkpoints', name: 'flux.safetensors' }], fileInputs: [] };

describe('BackendCapabilities.withCapabilities', () => {
  it('rejects a job that only pods could take when no pod has its models, naming them', async () => {
    const decision = await capabilities().withCapabilities(
      job({ requestedBackend: 'pod' }),
      { kind: 'wait', reason: 'waiting for a pod', forPod: true, podOnly: true },
      { podsLack, serverlessAvailable: false, endpoints: 0 },
    );
    expect(decision).toEqual({
      kind: 'reject',
      reason: expect.stringMatching(/^No pod can run this workflow: .*flux\.safetensors/),
    });
  });

  it('keeps a local start whatever the pods lack (a job serverless failed needs no pod then)', async () => {
    const local = { kind: 'local' as const, workerId: 'w1' };
    expect(
      await capabilities().withCapabilities(job({ podOnly: true }), local, {
        podsLack,
        serverlessAvailable: false,
        endpoints: 0,
      }),
    ).toBe(local);
  });

  it('rejects a job sent to serverless by name when no endpoint declares its models', async () => {
    const decision = await capabilities().withCapabilities(
      job({ requestedBackend: 'serverless' }),
      { kind: 'wait', reason: 'waiting for serverless', forPod: false, podOnly: false },
      { podsLack: undefined, serverlessAvailable: true, endpoints: 0 },
    );
    expect(decision).toEqual({
      kind: 'reject',
      reason: expect.stringMatching(/^No serverless endpoint declares this workflow's models: .*flux/),
    });
  });

  it('leaves the decision alone when a backend can take the job', async () => {
    const wait = { kind: 'wait' as const, reason: 'waiting for a pod', forPod: true, podOnly: false };
    expect(
      await capabilities().withCapabilities(job({}), wait, {
        podsLack: undefined,
        serverlessAvailable: true,
        endpoints: 1,
      }),
    ).toBe(wait);
  });
});
