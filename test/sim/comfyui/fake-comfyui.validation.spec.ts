import { FakeComfyUI } from './fake-comfyui';
import { emptyImageWorkflow, getJson, postJson } from './test-helpers';

describe('FakeComfyUI POST /prompt validation', () => {
  let fc: FakeComfyUI;
  let base: string;
  beforeEach(async () => {
    fc = new FakeComfyUI({ executionMsPerNode: 1 });
    base = await fc.listen();
  });
  afterEach(() => fc.close());

  const post = (body: unknown) => postJson(`${base}/prompt`, body);

  it('400 no_prompt when prompt is missing', async () => {
    const r = await post({ client_id: 'x' });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      error: {
        type: 'no_prompt',
        message: 'No prompt provided',
        details: 'No prompt provided',
        extra_info: {},
      },
      node_errors: {},
    });
  });

  it('400 missing_node_type (NEW) for an unknown class_type, using _meta.title', async () => {
    const wf = emptyImageWorkflow();
    wf['3'] = { class_type: 'NotANode', inputs: {}, _meta: { title: 'My Node' } };
    const r = await post({ prompt: wf });
    expect(r.status).toBe(400);
    expect(r.json).toEqual({
      error: {
        type: 'missing_node_type',
        message: "Node 'My Node' not found. The custom node may not be installed.",
        details: "Node ID '#3'",
        extra_info: { node_id: '3', class_type: 'NotANode', node_title: 'My Node' },
      },
      node_errors: {},
    });
    expect(fc.queue.pending).toHaveLength(0);
  });

  it('400 invalid_prompt (OLD flavor) for unknown class_type and for a node without class_type', async () => {
    const old = new FakeComfyUI({ flavor: 'old' });
    const url = await old.listen();
    try {
      const r1 = await postJson(`${url}/prompt`, {
        prompt: { ...emptyImageWorkflow(), '3': { class_type: 'Nope', inputs: {} } },
      });
      expect(r1.json.error).toEqual({
        type: 'invalid_prompt',
        message: 'Cannot execute because node Nope does not exist.',
        details: "Node ID '#3'",
        extra_info: {},
      });
      const r2 = await postJson(`${url}/prompt`, { prompt: { '1': { inputs: {} } } });
      expect(r2.json.error).toEqual({
        type: 'invalid_prompt',
        message: 'Cannot execute because a node is missing the class_type property.',
        details: "Node ID '#1'",
        extra_info: {},
      });
      // OLD accepts any prompt_id string
      const r3 = await postJson(`${url}/prompt`, { prompt: emptyImageWorkflow(), prompt_id: 'my-id' });
      expect(r3.json.prompt_id).toBe('my-id');
      expect((await getJson(`${url}/system_stats`)).system.os).toBe('posix');
    } finally {
      await old.close();
    }
  });

  it('rejects the UI workflow format (nodes/links) like ComfyUI: no converter, first key has no class_type', async () => {
    const ui = {
      last_node_id: 2,
      last_link_id: 1,
      nodes: [{ id: 1, type: 'EmptyImage', widgets_values: [512, 512, 1, 0] }],
      links: [],
      version: 0.4,
    };
    const r = await post({ prompt: ui });
    expect(r.status).toBe(400);
    expect(r.json.error.type).toBe('missing_node_type');
    expect(r.json.error.message).toBe(
      "Node 'ID #last_node_id' has no class_type. The workflow may be corrupted or a custom node is missing.",
    );
    expect(r.json.node_errors).toEqual({});
  });

  it('400 prompt_no_outputs when no OUTPUT_NODE is present', async () => {
    const r = await post({
      prompt: { '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } } },
    });
    expect(r.json).toEqual({
      error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} },
      node_errors: {},
    });
  });

  it('400 prompt_outputs_failed_validation for a missing required input, with node_errors in ComfyUI shape', async () => {
    const r = await post({
      prompt: {
        '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
      },
    });
    expect(r.status).toBe(400);
    // `details` joins only the OUTPUT node's own reasons (SaveImage has none: it is invalid through its input),
    // exactly as execution.validate_prompt does; the real reason is in node_errors.
    expect(r.json).toEqual({
      error: {
        type: 'prompt_outputs_failed_validation',
        message: 'Prompt outputs failed validation',
        details: '',
        extra_info: {},
      },
      node_errors: {
        '1': {
          errors: [
            {
              type: 'required_input_missing',
              message: 'Required input is missing',
              details: 'color',
              extra_info: { input_name: 'color' },
            },
          ],
          dependent_outputs: ['2'],
          class_type: 'EmptyImage',
        },
      },
    });
  });

  it('a link to a node that does not exist → exception_during_validation (KeyError) on the output', async () => {
    const r = await post({
      prompt: { '2': { class_type: 'SaveImage', inputs: { images: ['99', 0], filename_prefix: 'x' } } },
    });
    expect(r.status).toBe(400);
    expect(r.json.error.details).toBe("Exception when validating node: '99'");
    expect(r.json.node_errors['2']).toEqual({
      errors: [
        {
          type: 'exception_during_validation',
          message: 'Exception when validating node',
          details: "'99'",
          extra_info: { exception_type: 'KeyError', traceback: expect.any(Array) },
        },
      ],
      dependent_outputs: ['2'],
      class_type: 'SaveImage',
    });
  });

  it('bad links: wrong length, wrong output type, output index out of range one level down', async () => {
    const r1 = await post({
      prompt: {
        '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0, 1], filename_prefix: 'x' } },
      },
    });
    expect(r1.json.node_errors['2'].errors[0]).toMatchObject({
      type: 'bad_linked_input',
      message: 'Bad linked input, must be a length-2 list of [node_id, slot_index]',
      details: 'images',
    });

    const r2 = await post({
      prompt: {
        '1': { class_type: 'SolidMask', inputs: { value: 1, width: 8, height: 8 } },
        '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'x' } },
      },
    });
    expect(r2.json.node_errors['2'].errors[0]).toEqual({
      type: 'return_type_mismatch',
      message: 'Return type mismatch between linked nodes',
      details: 'images, received_type(MASK) mismatch input_type(IMAGE)',
      extra_info: {
        input_name: 'images',
        input_config: ['IMAGE', { tooltip: 'The images to save.' }],
        received_type: 'MASK',
        linked_node: ['1', 0],
      },
    });

    const r3 = await post({
      prompt: {
        '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color: 0 } },
        '2': { class_type: 'ImageInvert', inputs: { image: ['1', 5] } },
        '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'x' } },
      },
    });
    expect(r3.json.node_errors['2'].errors[0]).toMatchObject({
      type: 'exception_during_inner_validation',
      message: 'Exception when validating inner node',
      details: 'tuple index out of range',
      extra_info: { input_name: 'images', exception_type: 'IndexError', linked_node: ['2', 0] },
    });
    expect(r3.json.node_errors['2'].dependent_outputs).toEqual(['3']);
  });

  it('value checks: min/max, combo, type conversion (Python messages)', async () => {
    const r = await post({
      prompt: {
        '1': { class_type: 'EmptyImage', inputs: { width: 0, height: 99999, batch_size: 'abc', color: 0 } },
        '2': {
          class_type: 'ImageScale',
          inputs: { image: ['1', 0], upscale_method: 'magic', width: 8, height: 8, crop: 'disabled' },
        },
        '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'x' } },
      },
    });
    expect(r.json.node_errors['1'].errors).toEqual([
      {
        type: 'value_smaller_than_min',
        message: 'Value 0 smaller than min of 1',
        details: 'width',
        extra_info: {
          input_name: 'width',
          input_config: ['INT', { default: 512, min: 1, max: 16384, step: 1 }],
          received_value: 0,
        },
      },
      {
        type: 'value_bigger_than_max',
        message: 'Value 99999 bigger than max of 16384',
        details: 'height',
        extra_info: expect.objectContaining({ received_value: 99999 }),
      },
      {
        type: 'invalid_input_type',
        message: 'Failed to convert an input value to a INT value',
        details: "batch_size, abc, invalid literal for int() with base 10: 'abc'",
        extra_info: expect.objectContaining({ input_name: 'batch_size', received_value: 'abc' }),
      },
    ]);
    expect(r.json.node_errors['2'].errors).toEqual([
      {
        type: 'value_not_in_list',
        message: 'Value not in list',
        details: "upscale_method: 'magic' not in ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']",
        extra_info: {
          input_name: 'upscale_method',
          input_config: [['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'], {}],
          received_value: 'magic',
        },
      },
    ]);
    // both failing nodes are charged to output 3
    expect(r.json.node_errors['1'].dependent_outputs).toEqual(['3']);
  });

  it('200 with node_errors when one output fails and another passes; only the good output runs', async () => {
    const wf = {
      ...emptyImageWorkflow('good'),
      '3': { class_type: 'PreviewImage', inputs: { images: ['404', 0] } },
    };
    const r = await post({ prompt: wf });
    expect(r.status).toBe(200);
    expect(Object.keys(r.json.node_errors)).toEqual(['3']);
    expect(fc.queue.pending.concat(fc.queue.running)[0][4]).toEqual(['2']);
  });

  it('NEW: a non-canonical prompt_id is rejected with invalid_prompt_id; a canonical one is used', async () => {
    const r = await post({ prompt: emptyImageWorkflow(), prompt_id: 'ABC' });
    expect(r.status).toBe(400);
    expect(r.json.error.type).toBe('invalid_prompt_id');
    const id = '1b4e28ba-2fa1-11d2-883f-0016d3cca427';
    const ok = await post({ prompt: emptyImageWorkflow(), prompt_id: id });
    expect(ok.json.prompt_id).toBe(id);
  });

  it('queue numbers: counter, front → negative, explicit number → float', async () => {
    const a = await post({ prompt: emptyImageWorkflow() });
    const b = await post({ prompt: emptyImageWorkflow(), front: true });
    const c = await post({ prompt: emptyImageWorkflow(), number: 7 });
    expect([a.json.number, b.json.number]).toEqual([0, -1]);
    expect(c.text).toContain('"number": 7.0');
    expect(fc.prompts.map((p) => p.status)).toEqual([200, 200, 200]);
  });

  it('malformed JSON body → 500 (aiohttp would raise)', async () => {
    const res = await fetch(`${base}/prompt`, { method: 'POST', body: '{nope' });
    expect(res.status).toBe(500);
  });
});
