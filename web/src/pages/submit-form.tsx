import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { ErrorNote } from '../components/ui';
import { useLive, useResource } from '../live';
import { REQUESTED_BACKENDS, type CloudStatus, type Job } from '../types';

interface InputImage {
  name: string;
  image: string;
}

const BACKEND_HELP: Record<string, string> = {
  auto: 'auto — local first, then the cloud by the routing policy',
  local: 'local — only local ComfyUI workers',
  cloud: 'cloud — pods or serverless, never local',
  serverless: 'serverless — RunPod serverless only',
  pod: 'pod — on-demand pods only',
};

/** Accepts an API-format workflow, or a submit body `{workflow, ...}`; refuses ComfyUI's UI format by name. */
export function parseWorkflow(text: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new Error(`Not JSON: ${(error as Error).message}`);
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed))
    throw new Error('The workflow must be a JSON object');
  const object = parsed as Record<string, unknown>;
  if (object.workflow && typeof object.workflow === 'object')
    return object.workflow as Record<string, unknown>;
  if (Array.isArray(object.nodes) && Array.isArray(object.links)) {
    throw new Error('This is the ComfyUI UI format; export it with "Export (API)" / "Save (API Format)"');
  }
  return object;
}

function readAsDataUrl(file: File): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error(`Cannot read ${file.name}`));
    reader.readAsDataURL(file);
  });
}

export function SubmitForm({ onSubmitted }: { onSubmitted: (job: Job) => void }) {
  const { touch } = useLive();
  const cloud = useResource<CloudStatus>('/api/cloud/status', ['fleet'], 0);
  const [workflowText, setWorkflowText] = useState('');
  const [workflowName, setWorkflowName] = useState<string | null>(null);
  const [images, setImages] = useState<InputImage[]>([]);
  const [backend, setBackend] = useState('auto');
  const [priority, setPriority] = useState('0');
  const [error, setError] = useState<Error | null>(null);
  const [busy, setBusy] = useState(false);
  const [dragging, setDragging] = useState(false);

  const takeFiles = async (files: FileList | File[]) => {
    setError(null);
    const list = [...files];
    const json = list.find((file) => file.name.endsWith('.json') || file.type === 'application/json');
    if (json) {
      setWorkflowText(await json.text());
      setWorkflowName(json.name);
    }
    const pictures = list.filter((file) => file !== json && file.type.startsWith('image/'));
    if (pictures.length > 0) {
      const read = await Promise.all(
        pictures.map(async (file) => ({ name: file.name, image: await readAsDataUrl(file) })),
      );
      setImages((old) => [
        ...old.filter((image) => !read.some((added) => added.name === image.name)),
        ...read,
      ]);
    }
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    let workflow: Record<string, unknown>;
    try {
      workflow = parseWorkflow(workflowText);
    } catch (caught) {
      setError(caught as Error);
      return;
    }
    setBusy(true);
    try {
      const body: Record<string, unknown> = { workflow, backend, priority: Number(priority) || 0 };
      if (images.length > 0) body.images = images;
      const job = await request<Job>('/api/jobs', { method: 'POST', body });
      touch('jobs', 'fleet');
      onSubmitted(job);
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };

  const preferServerless = cloud.data?.config.preferServerless;
  return (
    <form onSubmit={submit} class="submit-form">
      <div
        class={`drop ${dragging ? 'dragging' : ''}`}
        onDragOver={(event) => {
          event.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={(event) => {
          event.preventDefault();
          setDragging(false);
          if (event.dataTransfer?.files) void takeFiles(event.dataTransfer.files);
        }}
      >
        <p>Drop an API-format workflow (.json) and its input images here, or choose them:</p>
        <div class="row">
          <div class="field">
            <label for="workflow-file">Workflow file (JSON, API format)</label>
            <input
              id="workflow-file"
              type="file"
              accept=".json,application/json"
              onChange={(event) => {
                const files = (event.target as HTMLInputElement).files;
                if (files) void takeFiles(files);
              }}
            />
          </div>
          <div class="field">
            <label for="field-input-images">Input images</label>
            <input
              id="field-input-images"
              type="file"
              accept="image/*"
              multiple
              onChange={(event) => {
                const files = (event.target as HTMLInputElement).files;
                if (files) void takeFiles(files);
              }}
            />
          </div>
        </div>
      </div>
      <label for="workflow-json">Workflow JSON{workflowName ? ` (from ${workflowName})` : ''}</label>
      <textarea
        id="workflow-json"
        rows={5}
        spellcheck={false}
        value={workflowText}
        placeholder='{"1": {"class_type": "EmptyImage", "inputs": {...}}, ...}'
        onInput={(event) => setWorkflowText((event.target as HTMLTextAreaElement).value)}
        required
      />
      {images.length > 0 && (
        <ul class="chips" aria-label="Input images">
          {images.map((image) => (
            <li key={image.name}>
              {image.name}{' '}
              <button
                type="button"
                class="link"
                aria-label={`Remove input image ${image.name}`}
                onClick={() => setImages(images.filter((other) => other.name !== image.name))}
              >
                ×
              </button>
            </li>
          ))}
        </ul>
      )}
      <div class="row">
        <div class="field">
          <label for="submit-backend">Run on backend</label>
          <select
            id="submit-backend"
            name="backend"
            value={backend}
            onChange={(event) => setBackend((event.target as HTMLSelectElement).value)}
          >
            {REQUESTED_BACKENDS.map((value) => (
              <option key={value} value={value}>
                {BACKEND_HELP[value]}
              </option>
            ))}
          </select>
        </div>
        <div class="field">
          <label for="field-priority">Priority</label>
          <input
            id="field-priority"
            type="number"
            name="priority"
            min={-1000}
            max={1000}
            step={1}
            value={priority}
            onInput={(event) => setPriority((event.target as HTMLInputElement).value)}
          />
        </div>
      </div>
      {preferServerless !== undefined && (
        <p class="hint">
          Default routing for "auto": local first, then{' '}
          {preferServerless
            ? 'serverless before waiting for pods'
            : 'pods (serverless when no pod can take it)'}
          . Change it under Controls → Cloud settings ("Prefer serverless").
        </p>
      )}
      <ErrorNote error={error} />
      <button type="submit" disabled={busy}>
        {busy ? 'Submitting…' : 'Submit job'}
      </button>
    </form>
  );
}
