import { samplerWorkflow } from '../src/comfyui/testing/comfyui-test-kit';
import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { CloudHarness } from './support/cloud-harness';

const SDXL = 'sd_xl_base_1.0.safetensors';
const FLUX = 'flux1-dev.safetensors';
const CHEAP_USD_PER_S = 0.0002;
const DEAR_USD_PER_S = 0.0008;

/** A sampler job loading `checkpoint`. */
function jobWith(checkpoint: string, seed: number): Record<string, unknown> {
  const workflow = samplerWorkflow(3, seed) as Record<string, any>;
  workflow['4'] = { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: checkpoint } };
  return workflow;
}

/**
 * Issue 11 §4: several serverless endpoints (e.g. one per GPU class), each with its own price and declared models.
 * A job goes to the cheapest endpoint that declares its models, is billed at that endpoint's price (the ledger
 * matches RunPod's per-endpoint billing), the quote offers each endpoint that can run it, and a job sent to
 * serverless that no endpoint can run is refused at submit with the missing names.
 */
describe('several serverless endpoints', () => {
  let h: CloudHarness;

  beforeAll(async () => {
    h = await CloudHarness.start({
      sim: {
        serverlessEndpoints: [
          { id: 'cheap-ep', workers: 1, pricePerSecond: CHEAP_USD_PER_S },
          { id: 'dear-ep', workers: 1, pricePerSecond: DEAR_USD_PER_S },
        ],
        // The cheap endpoint's workers have SDXL only; the dear one's have both (what the operator declares).
        comfyFactory: ({ kind, id }) =>
          new FakeComfyUI({
            samplerStepMs: 300,
            models: {
              checkpoints: kind === 'serverless' && id.startsWith('cheap-ep/') ? [SDXL] : [SDXL, FLUX],
            },
          }),
      },
      env: {
        RUNPOD_DOCKER_IMAGE: '', // no pods: serverless is the only cloud backend
        RUNPOD_SERVERLESS_ENDPOINT_ID: 'cheap-ep',
        RUNPOD_SERVERLESS_PRICE_PER_SECOND: String(CHEAP_USD_PER_S),
        RUNPOD_SERVERLESS_MODELS: `checkpoints/${SDXL}`,
        RUNPOD_SERVERLESS_ENDPOINTS: JSON.stringify([
          {
            id: 'dear-ep',
            pricePerSecond: DEAR_USD_PER_S,
            label: 'A100 80GB',
            models: [`checkpoints/${SDXL}`, `checkpoints/${FLUX}`],
          },
        ]),
      },
    });
  });

  afterAll(async () => {
    await h?.close();
  });

  it('lists the endpoints in the status, the primary first', async () => {
    const { body } = await h.get('/api/cloud/status');
    expect(body.serverlessEndpoints).toEqual([
      { id: 'cheap-ep', label: null, pricePerSecond: CHEAP_USD_PER_S, declaredModels: 1, primary: true },
      {
        id: 'dear-ep',
        label: 'A100 80GB',
        pricePerSecond: DEAR_USD_PER_S,
        declaredModels: 2,
        primary: false,
      },
    ]);
  });

  it('quotes each endpoint that can run the job at its own price, and picks the cheapest', async () => {
    const sdxl = await h.post('/api/jobs/quote', { workflow: jobWith(SDXL, 1), backend: 'serverless' });
    expect(sdxl.status).toBe(200);
    const endpoints = sdxl.body.candidates.map((c: any) => c.workerId);
    expect(endpoints).toEqual(['cheap-ep', 'dear-ep']);
    const [cheap, dear] = sdxl.body.candidates;
    expect(cheap.workerClass).toBe('serverless:cheap-ep');
    // The same default run estimate on both: the price ratio shows in the costs.
    expect(dear.costUsd / cheap.costUsd).toBeCloseTo(DEAR_USD_PER_S / CHEAP_USD_PER_S, 5);
    expect(sdxl.body.pick.candidate.workerId).toBe('cheap-ep');

    const flux = await h.post('/api/jobs/quote', { workflow: jobWith(FLUX, 2), backend: 'serverless' });
    expect(flux.body.candidates.map((c: any) => c.workerId)).toEqual(['dear-ep']);
    expect(flux.body.pick.candidate.workerId).toBe('dear-ep');
  });

  it('runs each job on the cheapest endpoint that has its models, billed at that price', async () => {
    const sdxlJob = await h.submit({ workflow: jobWith(SDXL, 3), backend: 'serverless' });
    const fluxJob = await h.submit({ workflow: jobWith(FLUX, 4), backend: 'serverless' });
    const [sdxl, flux] = [await h.waitForJob(sdxlJob), await h.waitForJob(fluxJob)];
    expect(sdxl).toMatchObject({ status: 'completed', backend: 'serverless', workerId: 'cheap-ep' });
    expect(flux).toMatchObject({ status: 'completed', backend: 'serverless', workerId: 'dear-ep' });
    expect(sdxl.attempts).toBe(1);
    expect(flux.attempts).toBe(1);

    const cheapJobs = h.fake.serverlessJobs('cheap-ep');
    const dearJobs = h.fake.serverlessJobs('dear-ep');
    expect(cheapJobs).toHaveLength(1);
    expect(dearJobs).toHaveLength(1);
    // Each job's cost is its endpoint's bill (RunPod's ledger: billed seconds x that endpoint's price).
    expect(sdxl.costUsd).toBeCloseTo(h.fake.totalServerlessBilledUsd('cheap-ep'), 6);
    expect(flux.costUsd).toBeCloseTo(h.fake.totalServerlessBilledUsd('dear-ep'), 6);
    expect(cheapJobs[0].billedUsd).toBeCloseTo(cheapJobs[0].billedSeconds * CHEAP_USD_PER_S, 9);
    expect(dearJobs[0].billedUsd).toBeCloseTo(dearJobs[0].billedSeconds * DEAR_USD_PER_S, 9);
    const { body: cost } = await h.get('/api/cloud/cost');
    const billed = h.fake.totalServerlessBilledUsd();
    expect(Math.abs(cost.totalCost - billed)).toBeLessThanOrEqual(billed * 0.01);
  });

  it('refuses at submit a serverless job whose models no endpoint declares, naming them', async () => {
    const sent = h.fake.serverlessJobs().length;
    const answer = await h.post('/api/jobs', {
      workflow: jobWith('sd15.safetensors', 5),
      backend: 'serverless',
    });
    expect(answer.status).toBe(422);
    expect(answer.body.message).toContain("No serverless endpoint declares this workflow's models");
    expect(answer.body.message).toContain('checkpoints/sd15.safetensors');
    expect(h.fake.serverlessJobs()).toHaveLength(sent); // nothing was sent
  });

  it('fails an auto job no backend can run at routing, with the missing model, instead of sending it anywhere', async () => {
    const sent = h.fake.serverlessJobs().length;
    const id = await h.submit({ workflow: jobWith('sd15.safetensors', 6) });
    const job = await h.waitForJob(id);
    expect(job.status).toBe('failed');
    expect(job.error.message).toContain('checkpoints/sd15.safetensors');
    expect(h.fake.serverlessJobs()).toHaveLength(sent);
  });
});
