import fc from 'fast-check';
import { workflowProfile, workflowSignature } from './workflow-signature';
import { sdxlTxt2Img, wanVideo } from './testing/workflow-fixtures';

type Wf = Record<string, { class_type: string; inputs: Record<string, unknown> }>;
const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

describe('workflowSignature', () => {
  const base = workflowSignature(sdxlTxt2Img());

  it('is a sha256 hex digest', () => {
    expect(base).toMatch(/^[0-9a-f]{64}$/);
  });

  it('ignores seeds, prompt text, filename prefixes, titles, cfg values other than 1 and lora strengths', () => {
    const wf = sdxlTxt2Img({ seed: 1, text: 'a completely different prompt' }) as Wf;
    wf['9'].inputs.filename_prefix = 'renders/%date%';
    wf['3'].inputs.cfg = 4.5;
    wf['10'].inputs.strength_model = 0.3;
    (wf['4'] as Record<string, unknown>)._meta = { title: 'My checkpoint' };
    expect(workflowSignature(wf)).toBe(base);
  });

  it('ignores node ids and key order (renumbered exports are the same workload)', () => {
    const wf = sdxlTxt2Img() as Wf;
    const ids = Object.keys(wf);
    const rename = new Map(ids.map((id, i) => [id, `n${ids.length - i}`]));
    const renamed: Wf = {};
    for (const id of [...ids].reverse()) {
      const node = clone(wf[id]);
      for (const [k, v] of Object.entries(node.inputs))
        if (Array.isArray(v)) node.inputs[k] = [rename.get(v[0] as string), v[1]];
      renamed[rename.get(id)!] = node;
    }
    expect(workflowSignature(renamed)).toBe(base);
  });

  it('treats \\ and / in model paths alike (the same workflow from Windows and Linux)', () => {
    const wf = sdxlTxt2Img() as Wf;
    wf['10'].inputs.lora_name = 'styles\\add_detail.safetensors';
    expect(workflowSignature(wf)).toBe(base);
  });

  it.each<[string, (wf: Wf) => void]>([
    ['the steps', (wf) => (wf['3'].inputs.steps = 30)],
    ['the width', (wf) => (wf['5'].inputs.width = 832)],
    ['the batch size', (wf) => (wf['5'].inputs.batch_size = 4)],
    ['the checkpoint', (wf) => (wf['4'].inputs.ckpt_name = 'other.safetensors')],
    ['the lora', (wf) => (wf['10'].inputs.lora_name = 'other.safetensors')],
    ['the sampler', (wf) => (wf['3'].inputs.sampler_name = 'euler')],
    ['the scheduler', (wf) => (wf['3'].inputs.scheduler = 'normal')],
    ['the denoise', (wf) => (wf['3'].inputs.denoise = 0.6)],
    ['cfg = 1 (no negative pass)', (wf) => (wf['3'].inputs.cfg = 1)],
    ['a node class', (wf) => (wf['9'].class_type = 'PreviewImage')],
    ['the wiring', (wf) => (wf['3'].inputs.model = ['4', 0])],
    ['an extra node', (wf) => (wf['99'] = { class_type: 'ImageInvert', inputs: { image: ['8', 0] } })],
  ])('changes with %s', (_, change) => {
    const wf = sdxlTxt2Img() as Wf;
    change(wf);
    expect(workflowSignature(wf)).not.toBe(base);
  });

  it('changes with the frame count of a video and not with its seed', () => {
    const video = workflowSignature(wanVideo());
    expect(workflowSignature(wanVideo({ seed: 7 }))).toBe(video);
    expect(workflowSignature(wanVideo({ length: 81 }))).not.toBe(video);
  });

  it('ignores a prompt that ends like a model file name (fast-check found ".pT")', () => {
    const base = workflowSignature(sdxlTxt2Img({ text: 'x' }));
    for (const text of ['.pT', 'a cat.safetensors', 'render.ckpt', 'lora.pt'])
      expect(workflowSignature(sdxlTxt2Img({ text }))).toBe(base);
  });

  /** Any text, often ending like a model file (".pt", ".safetensors"): prompts may. */
  const promptText = fc
    .tuple(
      fc.string({ maxLength: 200 }),
      fc.constantFrom('', '', '.pt', '.PT', '.safetensors', '.ckpt', '.bin'),
    )
    .map(([text, ending]) => text + ending);

  it('property: seeds and text never change it', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 }), promptText, (seed, text) => {
        expect(workflowSignature(sdxlTxt2Img({ seed, text }))).toBe(
          workflowSignature(sdxlTxt2Img({ seed: 0, text: 'x' })),
        );
      }),
      { numRuns: 300 },
    );
  });

  it('survives cycles, dangling links and a 5000-node chain without recursion', () => {
    const cyclic = {
      '1': { class_type: 'A', inputs: { x: ['2', 0] } },
      '2': { class_type: 'B', inputs: { x: ['1', 0], y: ['404', 0] } },
    };
    expect(workflowSignature(cyclic)).toMatch(/^[0-9a-f]{64}$/);
    const chain: Wf = { '0': { class_type: 'EmptyImage', inputs: { width: 8, height: 8 } } };
    for (let i = 1; i < 5000; i++)
      chain[i] = { class_type: 'ImageInvert', inputs: { image: [String(i - 1), 0] } };
    const started = performance.now();
    const a = workflowSignature(chain);
    chain['0'].inputs.width = 16;
    expect(workflowSignature(chain)).not.toBe(a);
    expect(performance.now() - started).toBeLessThan(5000);
  });
});

describe('workflowProfile', () => {
  it('reads kind, size, batch, steps and frames', () => {
    expect(workflowProfile(sdxlTxt2Img())).toEqual({
      signature: workflowSignature(sdxlTxt2Img()),
      kind: 'image',
      width: 1024,
      height: 1024,
      batch: 1,
      steps: 25,
      frames: 1,
    });
    expect(workflowProfile(wanVideo({ length: 81 }))).toMatchObject({
      kind: 'video',
      width: 832,
      height: 480,
      steps: 30,
      frames: 81,
    });
  });

  it('adds the steps of every sampling pass (KSamplerAdvanced counts start..end)', () => {
    const wf = sdxlTxt2Img() as Wf;
    wf['20'] = {
      class_type: 'KSamplerAdvanced',
      inputs: { steps: 40, start_at_step: 30, end_at_step: 10000, model: ['4', 0] },
    };
    expect(workflowProfile(wf).steps).toBe(25 + 10);
  });
});
