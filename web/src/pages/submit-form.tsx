import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { ErrorNote } from '../components/ui';
import { time, usd } from '../format';
import { useLive, useResource } from '../live';
import {
  REQUESTED_BACKENDS,
  type BestOption,
  type CloudStatus,
  type Job,
  type JobQuote,
  type QuoteCandidate,
} from '../types';

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

const pad = (value: number) => String(Math.abs(Math.trunc(value))).padStart(2, '0');

/**
 * A datetime-local value ("2026-11-29T18:00" or with seconds), read in the browser's time zone, as ISO 8601
 * with that zone's offset at that instant ("2026-11-29T18:00:00+01:00"); null when it is not a valid time.
 */
export function localToZonedIso(value: string): string | null {
  const match = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?/.exec(value);
  if (!match) return null;
  const [, year, month, day, hour, minute, second = '00'] = match;
  const date = new Date(+year, +month - 1, +day, +hour, +minute, +second);
  if (Number.isNaN(date.getTime())) return null;
  const offset = -date.getTimezoneOffset();
  const sign = offset >= 0 ? '+' : '-';
  return (
    `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}` +
    `T${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}` +
    `${sign}${pad(offset / 60)}:${pad(offset % 60)}`
  );
}

/** A 422 of POST /api/jobs: no backend meets the deadline or cost cap; bestOption is the fastest, if any. */
interface Infeasible {
  deadline: string | null;
  maxCostUsd: number | null;
  best: BestOption | null;
}

function infeasibleFrom(error: unknown, body: Record<string, unknown>): Infeasible | null {
  if (!(error instanceof ApiError) || error.status !== 422) return null;
  const answer = error.body as { bestOption?: BestOption | null } | null;
  if (!answer || typeof answer !== 'object' || !('bestOption' in answer)) return null;
  return {
    deadline: typeof body.deadline === 'string' ? body.deadline : null,
    maxCostUsd: typeof body.maxCostUsd === 'number' ? body.maxCostUsd : null,
    best: answer.bestOption ?? null,
  };
}

/** "No backend can finish by 18:00:00 within $0.05; the fastest is serverless (…) at 18:01:10 for $0.0123." */
export function infeasibleText({ deadline, maxCostUsd, best }: Infeasible): string {
  const limits = [
    deadline ? `finish by ${time(deadline)}` : 'run',
    maxCostUsd !== null ? `within ${usd(maxCostUsd, 4)}` : '',
  ]
    .filter(Boolean)
    .join(' ');
  const option = best
    ? `the fastest is ${best.backend} (${best.workerClass}) at ${time(best.completeAt)} for ${usd(best.costUsd, 4)}`
    : 'no backend can take this job now';
  return `No backend can ${limits}; ${option}.`;
}

const DECISION_TEXT: Record<JobQuote['pick']['decision'], string> = {
  local: 'a local worker',
  pod: 'a pod',
  serverless: 'serverless',
  wait: 'wait for a pod',
  reject: 'refuse the job',
};

const sameCandidate = (a: QuoteCandidate, b: QuoteCandidate | null) =>
  b !== null && a.kind === b.kind && a.workerClass === b.workerClass && a.workerId === b.workerId;

function QuoteTable({ quote }: { quote: JobQuote }) {
  const pick = quote.pick.candidate;
  return (
    <div class="quote" data-testid="quote" aria-live="polite">
      <table>
        <caption>Quote: where the job could run now</caption>
        <thead>
          <tr>
            <th scope="col">Backend</th>
            <th scope="col">Class</th>
            <th scope="col">Start</th>
            <th scope="col">Completion</th>
            <th scope="col">Cost</th>
          </tr>
        </thead>
        <tbody>
          {quote.candidates.map((candidate) => {
            const picked = sameCandidate(candidate, pick);
            return (
              <tr
                key={`${candidate.kind}|${candidate.workerClass}|${candidate.workerId ?? ''}`}
                class={picked ? 'picked' : undefined}
                data-picked={picked ? 'true' : undefined}
              >
                <td>
                  {candidate.backend} <span class="muted">({candidate.kind})</span>
                  {picked && <strong> · pick</strong>}
                </td>
                <td class="mono">{candidate.workerClass}</td>
                <td>{time(candidate.startAt)}</td>
                <td>{time(candidate.completeAt)}</td>
                <td>{usd(candidate.costUsd, 4)}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {quote.candidates.length === 0 && <p class="hint">No backend can take this job now.</p>}
      <p data-testid="quote-pick">
        <strong>Pick:</strong>{' '}
        {pick ? `${pick.backend} (${pick.workerClass})` : DECISION_TEXT[quote.pick.decision]}
        {' — '}
        {quote.pick.why}
      </p>
    </div>
  );
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
  const [deadline, setDeadline] = useState('');
  const [maxCost, setMaxCost] = useState('');
  const [error, setError] = useState<Error | null>(null);
  const [infeasible, setInfeasible] = useState<Infeasible | null>(null);
  const [quote, setQuote] = useState<JobQuote | null>(null);
  const [busy, setBusy] = useState(false);
  const [quoting, setQuoting] = useState(false);
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

  /** The request body from the form, or an error naming what is wrong with it. */
  const buildBody = (): Record<string, unknown> | Error => {
    let workflow: Record<string, unknown>;
    try {
      workflow = parseWorkflow(workflowText);
    } catch (caught) {
      return caught as Error;
    }
    const body: Record<string, unknown> = { workflow, backend, priority: Number(priority) || 0 };
    if (images.length > 0) body.images = images;
    if (deadline !== '') {
      const iso = localToZonedIso(deadline);
      if (!iso) return new Error('Complete by: not a valid date and time');
      body.deadline = iso;
    }
    if (maxCost.trim() !== '') {
      const value = Number(maxCost);
      if (!Number.isFinite(value)) return new Error('Max cost (USD): not a number');
      body.maxCostUsd = value;
    }
    return body;
  };

  /** Any change to what would be sent makes an earlier quote or refusal stale. */
  const changed = () => {
    setQuote(null);
    setInfeasible(null);
  };

  const submit = async (event: Event) => {
    event.preventDefault();
    setError(null);
    setInfeasible(null);
    const body = buildBody();
    if (body instanceof Error) {
      setError(body);
      return;
    }
    setBusy(true);
    try {
      const job = await request<Job>('/api/jobs', { method: 'POST', body });
      touch('jobs', 'fleet');
      onSubmitted(job);
    } catch (caught) {
      const refused = infeasibleFrom(caught, body);
      if (refused) setInfeasible(refused);
      else setError(caught instanceof ApiError ? caught : new Error(String(caught)));
    } finally {
      setBusy(false);
    }
  };

  const askQuote = async () => {
    setError(null);
    setInfeasible(null);
    setQuote(null);
    const body = buildBody();
    if (body instanceof Error) {
      setError(body);
      return;
    }
    setQuoting(true);
    try {
      setQuote(await request<JobQuote>('/api/jobs/quote', { method: 'POST', body }));
    } catch (caught) {
      setError(caught instanceof ApiError ? caught : new Error(String(caught)));
    } finally {
      setQuoting(false);
    }
  };

  const preferServerless = cloud.data?.config.preferServerless;
  const preference = cloud.data?.config.routingPreference;
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
        onInput={(event) => {
          changed();
          setWorkflowText((event.target as HTMLTextAreaElement).value);
        }}
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
            onChange={(event) => {
              changed();
              setBackend((event.target as HTMLSelectElement).value);
            }}
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
      <div class="row">
        <div class="field">
          <label for="field-deadline">Complete by</label>
          <input
            id="field-deadline"
            type="datetime-local"
            name="deadline"
            step={1}
            value={deadline}
            aria-describedby="field-deadline-hint"
            onInput={(event) => {
              changed();
              setDeadline((event.target as HTMLInputElement).value);
            }}
          />
          <span id="field-deadline-hint" class="hint">
            Optional; in your time zone ({Intl.DateTimeFormat().resolvedOptions().timeZone}), at most 7 days
            ahead
          </span>
        </div>
        <div class="field">
          <label for="field-max-cost">Max cost (USD)</label>
          <input
            id="field-max-cost"
            type="number"
            name="maxCostUsd"
            min={0}
            step="any"
            inputMode="decimal"
            placeholder="no cap"
            value={maxCost}
            aria-describedby="field-max-cost-hint"
            onInput={(event) => {
              changed();
              setMaxCost((event.target as HTMLInputElement).value);
            }}
          />
          <span id="field-max-cost-hint" class="hint">
            Optional; above 0 (local workers are free)
          </span>
        </div>
      </div>
      {preferServerless !== undefined && (
        <p class="hint">
          Default routing for "auto" (without a deadline or max cost):{' '}
          {preference === 'cost'
            ? 'the cheapest backend (routing preference "cost")'
            : preference === 'speed'
              ? 'the earliest completion (routing preference "speed")'
              : `local first, then ${
                  preferServerless
                    ? 'serverless before waiting for pods'
                    : 'pods (serverless when no pod can take it)'
                }`}
          . Change it under Controls → Cloud settings.
        </p>
      )}
      <ErrorNote error={error} />
      {infeasible && (
        <p class="error" role="alert" data-testid="infeasible">
          {infeasibleText(infeasible)}
        </p>
      )}
      <div class="row">
        <button type="submit" disabled={busy}>
          {busy ? 'Submitting…' : 'Submit job'}
        </button>
        <button type="button" disabled={quoting} onClick={() => void askQuote()}>
          {quoting ? 'Quoting…' : 'Quote'}
        </button>
      </div>
      {quote && <QuoteTable quote={quote} />}
    </form>
  );
}
