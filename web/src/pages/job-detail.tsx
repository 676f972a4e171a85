import { useEffect, useState } from 'preact/hooks';
import { ApiError, blobUrl, request } from '../api';
import { Badge, Card, ErrorNote, ProgressBar } from '../components/ui';
import { bytes, duration, time, usd } from '../format';
import { useLive, useResource } from '../live';
import { linkClick } from '../router';
import type { Job, JobActual, JobEstimate, JobOutput } from '../types';
import { JobActions } from './jobs';

const ENDED: Job['status'][] = ['completed', 'failed', 'cancelled'];

export function JobDetailPage({ id, admin }: { id: string; admin: boolean }) {
  const { progress } = useLive();
  const path = `/api/jobs/${encodeURIComponent(id)}`;
  const job = useResource<Job>(path, ['jobs'], 3000);
  const [actionError, setActionError] = useState<ApiError | null>(null);
  const data = job.data;

  if (!data) {
    return (
      <>
        <h1>Job {id}</h1>
        {job.error ? <ErrorNote error={job.error} /> : <p aria-live="polite">Loading…</p>}
      </>
    );
  }
  const live = data.status === 'running' ? (progress.get(data.id) ?? data.progress) : data.progress;
  const percent = data.status === 'completed' ? 100 : (live?.percent ?? 0);
  const rerunOf = data.rerunOf ?? (typeof data.metadata?.rerunOf === 'string' ? data.metadata.rerunOf : null);

  return (
    <>
      <p>
        <a href="/jobs" onClick={linkClick}>
          ← Jobs
        </a>
      </p>
      <h1>
        Job <span class="mono">{data.id}</span>
      </h1>
      <Card
        title="Status"
        id="job-status"
        actions={
          admin ? <JobActions job={data} onDone={() => job.reload()} onError={setActionError} /> : undefined
        }
      >
        <div class="row wrap" data-testid="job-status" data-status={data.status}>
          <Badge value={data.status} />
          <ProgressBar percent={percent} label="Job progress" />
          {live && data.status === 'running' && (
            <span class="muted">
              step {live.value} of {live.max}
              {live.nodeId ? ` (node ${live.nodeId})` : ''}
            </span>
          )}
        </div>
        <ErrorNote error={actionError} />
        {data.error && (
          <p class="error">
            {data.error.kind}: {data.error.message}
          </p>
        )}
        {data.status === 'queued' && data.waitingReason && <p>Waiting: {data.waitingReason}</p>}
        <dl class="facts">
          <dt>Backend</dt>
          <dd>
            {data.backend ?? '–'} <span class="muted">(asked: {data.requestedBackend})</span>
          </dd>
          <dt>Worker</dt>
          <dd class="mono">{data.workerId ?? '–'}</dd>
          <dt>Attempts</dt>
          <dd>{data.attempts}</dd>
          <dt>Priority</dt>
          <dd>{data.priority}</dd>
          <dt>Cost</dt>
          <dd>
            {usd(data.costUsd, 4)}
            {data.backend === 'pod' && (
              <span class="muted">
                {' '}
                (its share of the pod: price × run time; pods are billed per pod, see Cost)
              </span>
            )}
          </dd>
          <dt>Deadline</dt>
          <dd>{data.deadline ? <time dateTime={data.deadline}>{time(data.deadline)}</time> : '–'}</dd>
          <dt>Max cost</dt>
          <dd>{data.maxCostUsd != null ? usd(data.maxCostUsd, 4) : '–'}</dd>
          <dt>Planned backend</dt>
          <dd>{data.plannedBackend ?? <span class="muted">– (the fixed order decides)</span>}</dd>
          {data.deadline && ENDED.includes(data.status) && (
            <>
              <dt>Deadline met</dt>
              <dd data-testid="deadline-met">
                {data.actual?.deadlineMet === true
                  ? 'yes'
                  : data.actual?.deadlineMet === false
                    ? 'no'
                    : `no (${data.status})`}
              </dd>
            </>
          )}
          {rerunOf && (
            <>
              <dt>Re-run of</dt>
              <dd>
                <a href={`/jobs/${rerunOf}`} onClick={linkClick} class="mono">
                  {rerunOf}
                </a>
              </dd>
            </>
          )}
        </dl>
      </Card>
      {data.estimate && <EstimateVsActual estimate={data.estimate} actual={data.actual} />}
      <Card title="Timeline" id="timeline">
        <ol class="timeline">
          <li>
            <strong>Queued</strong> <time dateTime={data.createdAt}>{time(data.createdAt)}</time>
          </li>
          <li class={data.startedAt ? '' : 'pending'}>
            <strong>Started</strong>{' '}
            {data.startedAt ? (
              <>
                <time dateTime={data.startedAt}>{time(data.startedAt)}</time>
                <span class="muted">
                  {' '}
                  · waited {duration(Date.parse(data.startedAt) - Date.parse(data.createdAt))}
                </span>
              </>
            ) : (
              '–'
            )}
          </li>
          <li class={data.completedAt ? '' : 'pending'}>
            <strong>
              {data.status === 'failed' ? 'Failed' : data.status === 'cancelled' ? 'Cancelled' : 'Completed'}
            </strong>{' '}
            {data.completedAt ? (
              <>
                <time dateTime={data.completedAt}>{time(data.completedAt)}</time>
                <span class="muted"> · ran {duration(data.durationMs)}</span>
              </>
            ) : (
              '–'
            )}
          </li>
        </ol>
      </Card>
      <Card title="Outputs" id="outputs">
        {data.outputs.length === 0 ? (
          <p class="hint">
            {data.status === 'completed'
              ? 'This job produced no files.'
              : 'Outputs appear when the job completes.'}
          </p>
        ) : (
          <OutputGallery jobId={data.id} outputs={data.outputs} />
        )}
      </Card>
      {Object.keys(data.metadata ?? {}).length > 0 && (
        <Card title="Metadata" id="metadata">
          <pre class="mono small">{JSON.stringify(data.metadata, null, 2)}</pre>
        </Card>
      )}
    </>
  );
}

/**
 * The router's estimate at submit beside what happened (once the job ended): backend and class, start,
 * completion, run time and cost, so an operator sees how far off the estimates are.
 */
function EstimateVsActual({
  estimate,
  actual,
}: {
  estimate: JobEstimate;
  actual: JobActual | null | undefined;
}) {
  const rows: Array<[string, string, string]> = [
    ['Backend', `${estimate.backend} (${estimate.workerClass})`, actual ? (actual.backend ?? '–') : '–'],
    ['Start', time(estimate.startAt), actual ? time(actual.startedAt) : '–'],
    ['Completion', time(estimate.completeAt), actual ? time(actual.completedAt) : '–'],
    [
      'Run time',
      duration(estimate.runSeconds * 1000),
      actual?.runSeconds != null ? duration(actual.runSeconds * 1000) : '–',
    ],
    ['Cost', usd(estimate.costUsd, 4), actual ? usd(actual.costUsd, 4) : '–'],
  ];
  return (
    <Card title="Estimate vs actual" id="estimate">
      <table data-testid="estimate-vs-actual">
        <thead>
          <tr>
            <th scope="col"></th>
            <th scope="col">Estimated at submit</th>
            <th scope="col">Actual</th>
          </tr>
        </thead>
        <tbody>
          {rows.map(([label, estimated, real]) => (
            <tr key={label}>
              <th scope="row">{label}</th>
              <td>{estimated}</td>
              <td>{real}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Card>
  );
}

interface Shown {
  filename: string;
  contentType: string;
  size: number;
  src: string;
}

/**
 * Outputs shown in the page: <img> and <video> cannot send the Authorization header, so they get short-lived
 * signed links (POST output-links). On a service without that route, the files are fetched with the header and
 * shown from blob: URLs.
 */
function OutputGallery({ jobId, outputs }: { jobId: string; outputs: JobOutput[] }) {
  const [shown, setShown] = useState<Shown[]>([]);
  const [error, setError] = useState<Error | null>(null);
  const key = outputs.map((output) => output.filename).join('|');

  useEffect(() => {
    let cancelled = false;
    const created: string[] = [];
    const load = async () => {
      try {
        const answer = await request<{ links: { filename: string; url: string }[] }>(
          `/api/jobs/${encodeURIComponent(jobId)}/output-links`,
          { method: 'POST' },
        );
        const byName = new Map(answer.links.map((link) => [link.filename, link.url]));
        return outputs.map((output) => ({ ...output, src: byName.get(output.filename) ?? '' }));
      } catch (caught) {
        if (!(caught instanceof ApiError) || caught.status !== 404) throw caught;
        return Promise.all(
          outputs.map(async (output) => {
            const src = await blobUrl(output.url);
            created.push(src);
            return { ...output, src };
          }),
        );
      }
    };
    load()
      .then((list) => !cancelled && setShown(list))
      .catch((caught: unknown) => !cancelled && setError(caught as Error));
    return () => {
      cancelled = true;
      for (const url of created) URL.revokeObjectURL(url);
    };
  }, [jobId, key]);

  return (
    <>
      <ErrorNote error={error} prefix="Outputs" />
      <ul class="gallery">
        {shown.map((output) => (
          <li key={output.filename}>
            {output.contentType.startsWith('image/') ? (
              <img src={output.src} alt={`Output ${output.filename}`} loading="lazy" />
            ) : output.contentType.startsWith('video/') ? (
              <video
                src={output.src}
                controls
                muted
                loop
                playsInline
                aria-label={`Output ${output.filename}`}
              />
            ) : null}
            <div class="small">
              <a href={output.src} download={output.filename}>
                {output.filename}
              </a>{' '}
              <span class="muted">{bytes(output.size)}</span>
            </div>
          </li>
        ))}
      </ul>
    </>
  );
}
