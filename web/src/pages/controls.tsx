import { useEffect, useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { Badge, Card, ConfirmDialog, ErrorNote } from '../components/ui';
import { usd } from '../format';
import { useLive, useResource } from '../live';
import type { CloudConfig, CloudStatus, GpuType, InstallToken, LocalWorker } from '../types';

function asApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : new ApiError(0, String(error), null);
}

export function ControlsPage({ admin }: { admin: boolean }) {
  const cloud = useResource<CloudStatus>('/api/cloud/status', ['fleet'], 5000);
  if (!admin) {
    return (
      <>
        <h1>Controls</h1>
        <p class="notice" role="status">
          You signed in with the read-only key (API_READ_KEY): the dashboard shows the fleet, jobs and cost,
          but spawning, terminating, cancelling and settings need the admin key (API_KEY).
        </p>
      </>
    );
  }
  return (
    <>
      <h1>Controls</h1>
      <ErrorNote error={cloud.error} />
      <div class="grid">
        <Card title="Spawn a pod" id="spawn">
          <SpawnForm status={cloud.data} onDone={cloud.reload} />
        </Card>
        <Card title="Emergency" id="emergency">
          <ShutdownAll onDone={cloud.reload} />
        </Card>
      </div>
      <Card title="Pods" id="pod-controls">
        <PodControls status={cloud.data} onDone={cloud.reload} />
      </Card>
      <Card title="Local workers" id="worker-controls">
        <LocalWorkerControls />
      </Card>
      <Card title="Add a studio machine" id="enrol">
        <AddStudioMachine />
      </Card>
      <Card title="Cloud settings" id="cloud-config">
        {cloud.data && <CloudConfigForm config={cloud.data.config} onSaved={cloud.reload} />}
      </Card>
    </>
  );
}

function gpuLabel(gpu: GpuType): string {
  const price = gpu.securePricePerHr ?? gpu.communityPricePerHr;
  const parts = [gpu.displayName || gpu.id, `${gpu.memoryInGb} GB`];
  parts.push(price === null ? 'price unknown' : `${usd(price)}/h`);
  if (gpu.available === false) parts.push('unavailable');
  else if (gpu.stockStatus) parts.push(`stock: ${gpu.stockStatus.toLowerCase()}`);
  else if (gpu.available) parts.push('available');
  return parts.join(' · ');
}

function SpawnForm({ status, onDone }: { status: CloudStatus | null; onDone: () => void }) {
  const { touch } = useLive();
  const gpus = useResource<{ gpuTypes: GpuType[] }>('/api/cloud/gpu-types', [], 120_000);
  const [gpuType, setGpuType] = useState('');
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const configured = status?.config.gpuType ?? '';
  useEffect(() => {
    if (!gpuType && configured) setGpuType(configured);
  }, [configured, gpuType]);

  const spawn = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    setResult(null);
    try {
      const answer = await request<{
        pod: { id: string; name: string; gpuType: string; costPerHour: number };
      }>('/api/cloud/spawn?wait=false', { method: 'POST', body: gpuType ? { gpuType } : {} });
      setResult(
        `Pod ${answer.pod.name} requested (${answer.pod.gpuType}, ${usd(answer.pod.costPerHour)}/h); it appears on the Overview as it boots.`,
      );
      touch('fleet');
      onDone();
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };

  const list = gpus.data?.gpuTypes ?? [];
  const inList = list.some((gpu) => gpu.id === gpuType);
  if (status && !status.podsEnabled)
    return <p class="hint">Pods are off: set RUNPOD_API_KEY and RUNPOD_DOCKER_IMAGE.</p>;
  return (
    <form onSubmit={spawn}>
      {list.length > 0 ? (
        <div class="field">
          <label for="spawn-gpu">GPU for the new pod</label>
          <select
            id="spawn-gpu"
            name="gpuType"
            value={gpuType}
            onChange={(event) => setGpuType((event.target as HTMLSelectElement).value)}
          >
            {!inList && gpuType && <option value={gpuType}>{gpuType} (configured)</option>}
            {list.map((gpu) => (
              <option key={gpu.id} value={gpu.id} disabled={gpu.available === false}>
                {gpuLabel(gpu)}
              </option>
            ))}
          </select>
        </div>
      ) : (
        <div class="field">
          <label for="spawn-gpu">GPU for the new pod</label>
          <input
            id="spawn-gpu"
            name="gpuType"
            value={gpuType}
            onInput={(event) => setGpuType((event.target as HTMLInputElement).value)}
          />
        </div>
      )}
      {gpus.error && gpus.error.status !== 404 && <ErrorNote error={gpus.error} prefix="GPU catalogue" />}
      <button type="submit" disabled={busy}>
        {busy ? 'Spawning…' : 'Spawn pod'}
      </button>
      {result && (
        <p class="ok" role="status">
          {result}
        </p>
      )}
      <ErrorNote error={error} />
    </form>
  );
}

function ShutdownAll({ onDone }: { onDone: () => void }) {
  const { touch } = useLive();
  const [open, setOpen] = useState(false);
  const [result, setResult] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const confirm = async () => {
    setOpen(false);
    setError(null);
    try {
      const answer = await request<{
        success: boolean;
        terminated: string[];
        failed: { id: string; error: string }[];
      }>('/api/cloud/shutdown-all', { method: 'POST' });
      setResult(
        `Terminated ${answer.terminated.length} pod(s)` +
          (answer.failed.length
            ? `; ${answer.failed.length} not yet (retried every tick): ${answer.failed.map((f) => f.id).join(', ')}`
            : '.'),
      );
      touch('fleet', 'cost');
      onDone();
    } catch (caught) {
      setError(asApiError(caught));
    }
  };
  return (
    <>
      <p>Terminate every pod this service owns, now. Queued cloud jobs wait for new capacity.</p>
      <button type="button" class="danger" onClick={() => setOpen(true)}>
        Shut down all pods…
      </button>
      {result && (
        <p class="ok" role="status">
          {result}
        </p>
      )}
      <ErrorNote error={error} />
      <ConfirmDialog
        open={open}
        title="Shut down all pods?"
        confirmLabel="Shut down all"
        onConfirm={() => void confirm()}
        onCancel={() => setOpen(false)}
      >
        <p>Every pod is terminated at RunPod. Jobs running on them are handed back to the queue.</p>
      </ConfirmDialog>
    </>
  );
}

function PodControls({ status, onDone }: { status: CloudStatus | null; onDone: () => void }) {
  const { touch } = useLive();
  const [target, setTarget] = useState<string | null>(null);
  const [error, setError] = useState<ApiError | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const pods = status?.pods ?? [];
  const terminate = async (podId: string) => {
    setTarget(null);
    setError(null);
    try {
      const answer = await request<{ podId: string; cost: number }>(
        `/api/cloud/terminate/${encodeURIComponent(podId)}`,
        { method: 'POST' },
      );
      setMessage(`Pod ${answer.podId} terminated; it cost ${usd(answer.cost, 4)}.`);
      touch('fleet', 'cost');
      onDone();
    } catch (caught) {
      setError(asApiError(caught));
    }
  };
  return (
    <>
      {pods.length === 0 ? (
        <p class="hint">No pods running.</p>
      ) : (
        <ul class="plain">
          {pods.map((pod) => (
            <li key={pod.id} class="row" data-pod-id={pod.id}>
              <Badge value={pod.state} /> <strong>{pod.name}</strong> <span class="muted">{pod.gpuType}</span>
              <button
                type="button"
                aria-label={`Terminate pod ${pod.name}`}
                onClick={() => setTarget(pod.id)}
              >
                Terminate
              </button>
            </li>
          ))}
        </ul>
      )}
      {message && (
        <p class="ok" role="status">
          {message}
        </p>
      )}
      <ErrorNote error={error} />
      <ConfirmDialog
        open={target !== null}
        title="Terminate this pod?"
        confirmLabel="Terminate"
        onConfirm={() => target && void terminate(target)}
        onCancel={() => setTarget(null)}
      >
        <p>Pod {target} is terminated at RunPod; a job running on it is handed back to the queue.</p>
      </ConfirmDialog>
    </>
  );
}

function LocalWorkerControls() {
  const { touch } = useLive();
  const workers = useResource<{ workers: LocalWorker[] }>('/api/local/workers', ['fleet']);
  const [url, setUrl] = useState('');
  const [name, setName] = useState('');
  const [slots, setSlots] = useState('1');
  const [error, setError] = useState<ApiError | null>(null);
  const [busy, setBusy] = useState(false);

  const run = async (action: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await action();
      touch('fleet');
      workers.reload();
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };
  const patch = (worker: LocalWorker, body: Record<string, boolean>) =>
    run(() => request(`/api/local/workers/${encodeURIComponent(worker.id)}`, { method: 'PATCH', body }));

  return (
    <>
      <ErrorNote error={error} />
      <ul class="plain">
        {(workers.data?.workers ?? []).map((worker) => {
          const state = worker.state ?? 'active';
          const toggle = state === 'disabled' ? 'Enable' : 'Disable';
          return (
            <li key={worker.id} class="row wrap" data-worker-id={worker.id}>
              <Badge value={worker.healthy ? 'healthy' : 'unhealthy'} /> <strong>{worker.name}</strong>
              <span class="muted small">{worker.url}</span> <span>{state}</span>
              <button
                type="button"
                disabled={busy}
                aria-label={`${toggle} worker ${worker.name}`}
                onClick={() => void patch(worker, { enabled: state === 'disabled' })}
              >
                {toggle}
              </button>
              <button
                type="button"
                disabled={busy || state === 'draining'}
                aria-label={`Drain worker ${worker.name}`}
                onClick={() => void patch(worker, { draining: true })}
              >
                Drain
              </button>
              {worker.source === 'api' && (
                <button
                  type="button"
                  disabled={busy}
                  aria-label={`Remove worker ${worker.name}`}
                  onClick={() =>
                    void run(() =>
                      request(`/api/local/workers/${encodeURIComponent(worker.id)}`, { method: 'DELETE' }),
                    )
                  }
                >
                  Remove
                </button>
              )}
            </li>
          );
        })}
      </ul>
      <form
        class="row wrap"
        onSubmit={(event) => {
          event.preventDefault();
          void run(async () => {
            await request('/api/local/workers', {
              method: 'POST',
              body: { url, ...(name ? { name } : {}), maxConcurrent: Number(slots) || 1 },
            });
            setUrl('');
            setName('');
          });
        }}
      >
        <div class="field">
          <label for="worker-url">ComfyUI URL</label>
          <input
            id="worker-url"
            type="url"
            required
            placeholder="http://127.0.0.1:8188"
            value={url}
            onInput={(event) => setUrl((event.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="worker-name">Name (optional)</label>
          <input
            id="worker-name"
            value={name}
            onInput={(event) => setName((event.target as HTMLInputElement).value)}
          />
        </div>
        <div class="field">
          <label for="worker-slots">Slots</label>
          <input
            id="worker-slots"
            type="number"
            min={1}
            max={64}
            value={slots}
            onInput={(event) => setSlots((event.target as HTMLInputElement).value)}
          />
        </div>
        <button type="submit" disabled={busy}>
          Add worker
        </button>
      </form>
    </>
  );
}

/** POST /api/local/install-tokens: `insecure` and `warning` only when the commands would send the token over plain http. */
type IssuedInstallToken = InstallToken & { insecure?: boolean; warning?: string };

const PLATFORMS: { key: keyof InstallToken['commands']; label: string }[] = [
  { key: 'linux', label: 'Linux' },
  { key: 'macos', label: 'macOS' },
  { key: 'windows', label: 'Windows (PowerShell)' },
];

/**
 * One-click enrolment: a one-time token and the line to paste on the machine. The token is in the commands (in
 * an environment variable, never a URL) and only in this component's state: it is gone on reload.
 */
function AddStudioMachine() {
  const [issued, setIssued] = useState<IssuedInstallToken | null>(null);
  const [copied, setCopied] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const create = async () => {
    setBusy(true);
    setError(null);
    setCopied(null);
    try {
      setIssued(await request<IssuedInstallToken>('/api/local/install-tokens', { method: 'POST', body: {} }));
    } catch (caught) {
      setError(asApiError(caught));
    } finally {
      setBusy(false);
    }
  };
  const copy = async (key: string, text: string) => {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(key);
    } catch {
      setCopied(null); // no clipboard (plain http): the command is selectable text
    }
  };
  return (
    <>
      <p>
        Run one command on the machine: it installs ComfyUI and the studio's models, starts it at boot and
        registers it here. The command works once.
      </p>
      <button type="button" disabled={busy} onClick={() => void create()}>
        {busy ? 'Creating…' : issued ? 'Create another command' : 'Create install command'}
      </button>
      <ErrorNote error={error} />
      {issued && (
        <>
          <p class="hint" role="status">
            Valid once, until {new Date(issued.expiresAt).toLocaleString()}.
          </p>
          {issued.insecure && (
            <p class="error" role="alert" data-insecure>
              {issued.warning ?? 'These commands send the token over plain http.'}
            </p>
          )}
          {PLATFORMS.map(({ key, label }) => (
            <div class="field" key={key} data-platform={key} role="group" aria-labelledby={`enrol-${key}`}>
              <strong id={`enrol-${key}`}>{label}</strong>
              <div class="row">
                <code style={{ whiteSpace: 'pre-wrap', wordBreak: 'break-all', flex: '1' }}>
                  {issued.commands[key]}
                </code>
                <button
                  type="button"
                  aria-label={`Copy the ${label} command`}
                  onClick={() => void copy(key, issued.commands[key])}
                >
                  {copied === key ? 'Copied' : 'Copy'}
                </button>
              </div>
            </div>
          ))}
        </>
      )}
    </>
  );
}

type ConfigField = keyof CloudConfig;
const FIELDS: {
  key: ConfigField;
  label: string;
  hint: string;
  type: 'number' | 'text' | 'checkbox' | 'select';
  step?: string;
  /** For a select: value → what the option says. */
  options?: Record<string, string>;
}[] = [
  {
    key: 'maxPods',
    label: 'Max pods',
    hint: 'Pods alive at once (CLOUD_MAX_PODS)',
    type: 'number',
    step: '1',
  },
  {
    key: 'idleTimeout',
    label: 'Idle timeout (ms)',
    hint: 'A ready pod idle this long is terminated',
    type: 'number',
    step: '1000',
  },
  {
    key: 'autoScaleThreshold',
    label: 'Autoscale threshold',
    hint: 'Cloud jobs waiting per pod before another pod',
    type: 'number',
    step: '1',
  },
  {
    key: 'preferServerless',
    label: 'Prefer serverless',
    hint: 'Default routing: one-off cloud jobs go to serverless before waiting for pods',
    type: 'checkbox',
  },
  {
    key: 'routingPreference',
    label: 'Routing preference',
    hint: "For jobs without a deadline or max cost; a job's own deadline or max cost always wins (ROUTING_PREFERENCE)",
    type: 'select',
    options: {
      cost: 'cost — the cheapest backend',
      speed: 'speed — the earliest completion',
      balanced: 'balanced — the fixed order (local, idle pod, then serverless or wait)',
    },
  },
  { key: 'gpuType', label: 'GPU type for new pods', hint: 'Exact id or display name', type: 'text' },
  {
    key: 'dailyBudgetUsd',
    label: 'Daily budget (USD)',
    hint: '0 = no limit; UTC days',
    type: 'number',
    step: '0.01',
  },
];

/** "maxPods must not be less than 0; gpuType: Unknown ..." → one message per field, the rest unassigned. */
export function fieldErrors(message: string): {
  byField: Partial<Record<ConfigField, string>>;
  other: string[];
} {
  const byField: Partial<Record<ConfigField, string>> = {};
  const other: string[] = [];
  for (const part of message.split('; ')) {
    const field = FIELDS.find((candidate) => new RegExp(`^(property )?${candidate.key}\\b`).test(part));
    if (field) byField[field.key] = byField[field.key] ? `${byField[field.key]}; ${part}` : part;
    else other.push(part);
  }
  return { byField, other };
}

function CloudConfigForm({ config, onSaved }: { config: CloudConfig; onSaved: () => void }) {
  const { touch } = useLive();
  const [values, setValues] = useState<Record<ConfigField, string | boolean>>(() => toForm(config));
  const [dirty, setDirty] = useState(false);
  const [errors, setErrors] = useState<{ byField: Partial<Record<ConfigField, string>>; other: string[] }>({
    byField: {},
    other: [],
  });
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    if (!dirty) setValues(toForm(config));
  }, [config, dirty]);

  const save = async (event: Event) => {
    event.preventDefault();
    setSaved(false);
    const body: Record<string, unknown> = {};
    for (const field of FIELDS) {
      const value = values[field.key];
      const current = config[field.key];
      const next = field.type === 'number' ? (value === '' ? NaN : Number(value)) : value;
      if (field.type === 'number' && Number.isNaN(next)) {
        setErrors({ byField: { [field.key]: `${field.key} must be a number` }, other: [] });
        return;
      }
      if (next !== current) body[field.key] = next;
    }
    try {
      await request<CloudConfig>('/api/cloud/config', { method: 'PUT', body });
      setErrors({ byField: {}, other: [] });
      setDirty(false);
      setSaved(true);
      touch('fleet');
      onSaved();
    } catch (caught) {
      const error = asApiError(caught);
      setErrors(error.status === 400 ? fieldErrors(error.message) : { byField: {}, other: [error.message] });
    }
  };

  return (
    <form onSubmit={save} class="config-form" noValidate>
      {FIELDS.map((field) => {
        const id = `config-${field.key}`;
        const error = errors.byField[field.key];
        const describedBy = `${id}-hint${error ? ` ${id}-error` : ''}`;
        const update = (value: string | boolean) => {
          setDirty(true);
          setSaved(false);
          setValues((old) => ({ ...old, [field.key]: value }));
        };
        return (
          <div class={`field ${error ? 'invalid' : ''}`} key={field.key}>
            {field.type === 'checkbox' ? (
              <label for={id} class="check">
                <input
                  id={id}
                  type="checkbox"
                  checked={values[field.key] === true}
                  aria-describedby={describedBy}
                  onChange={(event) => update((event.target as HTMLInputElement).checked)}
                />{' '}
                {field.label}
              </label>
            ) : field.type === 'select' ? (
              <>
                <label for={id}>{field.label}</label>
                <select
                  id={id}
                  name={field.key}
                  value={String(values[field.key])}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={describedBy}
                  onChange={(event) => update((event.target as HTMLSelectElement).value)}
                >
                  {!(String(values[field.key]) in (field.options ?? {})) && (
                    <option value={String(values[field.key])}>{String(values[field.key])}</option>
                  )}
                  {Object.entries(field.options ?? {}).map(([value, text]) => (
                    <option key={value} value={value}>
                      {text}
                    </option>
                  ))}
                </select>
              </>
            ) : (
              <>
                <label for={id}>{field.label}</label>
                <input
                  id={id}
                  name={field.key}
                  type={field.type}
                  step={field.step}
                  value={String(values[field.key])}
                  aria-invalid={error ? true : undefined}
                  aria-describedby={describedBy}
                  onInput={(event) => update((event.target as HTMLInputElement).value)}
                />
              </>
            )}
            <span id={`${id}-hint`} class="hint">
              {field.hint}
            </span>
            {error && (
              <span id={`${id}-error`} class="error" role="alert">
                {error}
              </span>
            )}
          </div>
        );
      })}
      {errors.other.map((message) => (
        <p class="error" role="alert" key={message}>
          {message}
        </p>
      ))}
      <div class="row">
        <button type="submit">Save settings</button>
        <button
          type="button"
          disabled={!dirty}
          onClick={() => {
            setDirty(false);
            setErrors({ byField: {}, other: [] });
            setValues(toForm(config));
          }}
        >
          Reset
        </button>
        {saved && (
          <span class="ok" role="status">
            Saved; the next control-loop tick uses it.
          </span>
        )}
      </div>
    </form>
  );
}

function toForm(config: CloudConfig): Record<ConfigField, string | boolean> {
  return {
    maxPods: String(config.maxPods),
    idleTimeout: String(config.idleTimeout),
    autoScaleThreshold: String(config.autoScaleThreshold),
    preferServerless: config.preferServerless,
    routingPreference: config.routingPreference ?? 'balanced',
    gpuType: config.gpuType,
    dailyBudgetUsd: String(config.dailyBudgetUsd),
  };
}
