import { ComfyWorkflowError } from './comfyui.errors';
import { assertApiWorkflow, validateApiWorkflow } from './comfyui-workflow';
import { pngWorkflow } from './testing/comfyui-test-kit';

describe('validateApiWorkflow', () => {
  it('accepts an API-format workflow', () => {
    expect(validateApiWorkflow(pngWorkflow())).toBeNull();
  });

  it('rejects the UI format (nodes/links) and tells the user to export with "Save (API)"', () => {
    const ui = {
      last_node_id: 2,
      nodes: [{ id: 1, type: 'EmptyImage', widgets_values: [512] }],
      links: [],
      version: 0.4,
    };
    expect(validateApiWorkflow(ui)).toMatch(/UI format.*"Save \(API\)"/);
    expect(validateApiWorkflow({ nodes: [] })).toContain('Save (API)');
  });

  it.each([
    [null, /JSON object/],
    [[], /JSON object/],
    ['{}', /JSON object/],
    [{}, /no nodes/],
    [{ prompt: pngWorkflow() }, /wrapped in \{"prompt"/],
    [{ '1': 'EmptyImage' }, /Node "1" is not an object/],
    [{ '1': { inputs: {} } }, /Node "1" has no class_type/],
    [{ '1': { class_type: 'EmptyImage', inputs: [] } }, /no "inputs" object/],
  ])('rejects %j', (workflow, message) => {
    expect(validateApiWorkflow(workflow)).toMatch(message);
  });

  it('assertApiWorkflow throws a ComfyWorkflowError of type invalid_api_format', () => {
    expect(() => assertApiWorkflow({ nodes: [], links: [] })).toThrow(ComfyWorkflowError);
    try {
      assertApiWorkflow({ nodes: [], links: [] });
    } catch (e) {
      expect((e as ComfyWorkflowError).type).toBe('invalid_api_format');
      expect((e as ComfyWorkflowError).kind).toBe('workflow');
    }
  });
});
