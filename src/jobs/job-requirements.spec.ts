import type { JobEntity } from '../persistence/entities/job.entity';
import type { JobsRepository } from '../persistence/jobs.repository';
import { JobRequirements } from './job-requirements';

const WORKFLOW = {
  '1': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'sdxl.safetensors' } },
  '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
};

function setup(rows: Record<string, string | undefined> = {}) {
  const reads: string[] = [];
  const repository = {
    findById: (id: string) => {
      reads.push(id);
      const workflow = rows[id];
      return Promise.resolve(workflow === undefined ? null : ({ id, workflow } as JobEntity));
    },
  } as unknown as JobsRepository;
  return { cache: new JobRequirements(repository), reads };
}

/** A pass's row: no workflow (the dispatcher's passes do not read it). */
const passRow = (id: string) => ({ id }) as unknown as JobEntity;

describe('JobRequirements', () => {
  it('computes node classes and models, and null for a workflow over the reader limits', () => {
    const requirements = JobRequirements.compute(WORKFLOW);
    expect(requirements?.nodeClasses).toEqual(['CheckpointLoaderSimple', 'SaveImage']);
    expect(requirements?.models).toEqual([{ folder: 'checkpoints', name: 'sdxl.safetensors' }]);
    expect(JobRequirements.compute('not a workflow')).toBeNull();
  });

  it('answers a job remembered at submit without reading its row', async () => {
    const { cache, reads } = setup();
    const requirements = JobRequirements.compute(WORKFLOW);
    cache.remember('job-1', requirements);
    await expect(cache.of(passRow('job-1'))).resolves.toBe(requirements);
    expect(reads).toEqual([]);
  });

  it("reads another instance's job once, then keeps it", async () => {
    const { cache, reads } = setup({ 'job-2': JSON.stringify(WORKFLOW) });
    const first = await cache.of(passRow('job-2'));
    const second = await cache.of(passRow('job-2'));
    expect(first?.models).toEqual([{ folder: 'checkpoints', name: 'sdxl.safetensors' }]);
    expect(second).toBe(first);
    expect(reads).toEqual(['job-2']);
  });

  it('keeps null for a row it cannot read or parse, and reads it only once', async () => {
    const { cache, reads } = setup({ broken: '{not json' });
    await expect(cache.of(passRow('broken'))).resolves.toBeNull();
    await expect(cache.of(passRow('broken'))).resolves.toBeNull();
    await expect(cache.of(passRow('gone'))).resolves.toBeNull();
    expect(reads).toEqual(['broken', 'gone']);
  });

  it('forgets a job that ended, and the oldest entry when full', async () => {
    const { cache, reads } = setup({ 'job-0': JSON.stringify(WORKFLOW), 'job-3': JSON.stringify(WORKFLOW) });
    cache.remember('job-3', null);
    cache.forget({ jobId: 'job-3' });
    expect(cache.peek('job-3')).toBeUndefined();
    for (let i = 0; i <= 8192; i++) cache.remember(`job-${i}`, null);
    expect(cache.peek('job-0')).toBeUndefined();
    expect(cache.peek('job-8192')).toBeNull();
    await cache.of(passRow('job-0'));
    expect(reads).toEqual(['job-0']);
  });
});
