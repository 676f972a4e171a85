import { useMemo } from 'preact/hooks';
import { BudgetGauge, Badge, Card, ErrorNote, ProgressBar, useTicker } from '../components/ui';
import { duration, shortId, time, usd } from '../format';
import { FLEET_EVENT_TYPES, useLive, useResource } from '../live';
import { linkClick } from '../router';
import type {
  CloudCost,
  CloudStatus,
  FleetEvent,
  JobList,
  JobSummary,
  LocalWorker,
  LocalWorkerGpu,
  Pod,
  ScalingPolicy,
  Stats,
} from '../types';

export function OverviewPage() {
  const stats = useResource<Stats>('/api/stats', ['jobs', 'fleet']);
  const workers = useResource<{ workers: LocalWorker[] }>('/api/local/workers', ['fleet']);
  const cloud = useResource<CloudStatus>('/api/cloud/status', ['fleet'], 5000);
  const cost = useResource<CloudCost>('/api/cloud/cost', ['cost']);
  const running = useResource<JobList>('/api/jobs?status=running&limit=100', ['jobs']);
  const queued = useResource<JobList>('/api/jobs?status=queued&limit=20', ['jobs']);
  const runningJobs = running.data?.jobs ?? [];

  return (
    <>
      <h1>Overview</h1>
      <div class="tiles">
        <Tile label="Queue" value={stats.data?.jobs.byStatus.queued} testId="queue-depth" />
        <Tile label="Running" value={stats.data?.jobs.byStatus.running} />
        <Tile
          label="Local workers healthy"
          value={stats.data ? `${stats.data.local.healthy} / ${stats.data.local.workers}` : undefined}
        />
        <Tile
          label="Pods live"
          value={stats.data ? `${stats.data.cloud.activePods} / ${stats.data.cloud.maxPods}` : undefined}
        />
        <Tile label="Serverless in flight" value={stats.data?.cloud.serverlessInFlight} />
        <Tile label="Spend today" value={cost.data ? usd(cost.data.budget.spentTodayUsd) : undefined} />
      </div>
      <ErrorNote error={stats.error} prefix="Statistics" />

      <div class="grid">
        <Card title="Today's spend" id="budget">
          {cost.data ? (
            <BudgetGauge spent={cost.data.budget.spentTodayUsd} limit={cost.data.budget.limitUsd || null} />
          ) : (
            <ErrorNote error={cost.error} />
          )}
        </Card>
        <Card title="Queue" id="queue">
          <QueueList jobs={queued.data?.jobs ?? []} total={stats.data?.jobs.byStatus.queued ?? 0} />
          <ErrorNote error={queued.error} />
        </Card>
      </div>

      <Card title="Local workers" id="local-workers">
        <LocalWorkersTable workers={workers.data?.workers ?? []} running={runningJobs} />
        <ErrorNote error={workers.error} />
      </Card>

      <Card title="Cloud pods" id="pods">
        {cloud.data && !cloud.data.available && <p class="hint">Cloud is off (RUNPOD_API_KEY is not set).</p>}
        <PodsTable status={cloud.data} running={runningJobs} />
        <ErrorNote error={cloud.error} />
      </Card>

      <Card title="Scaling policy" id="scaling">
        {cloud.data ? (
          <ScalingPolicyView policy={cloud.data.scalingPolicy} />
        ) : (
          <ErrorNote error={cloud.error} />
        )}
      </Card>

      <div class="grid">
        <Card title="Serverless in flight" id="serverless">
          <JobMiniList
            jobs={runningJobs.filter((job) => job.backend === 'serverless')}
            empty="Nothing on serverless now."
          />
        </Card>
        <Card title="Recent events" id="events">
          <RecentEvents />
        </Card>
      </div>
    </>
  );
}

function Tile({
  label,
  value,
  testId,
}: {
  label: string;
  value: string | number | undefined;
  testId?: string;
}) {
  return (
    <div class="tile">
      <div class="tile-value" data-testid={testId}>
        {value ?? '…'}
      </div>
      <div class="tile-label">{label}</div>
    </div>
  );
}

function QueueList({ jobs, total }: { jobs: JobSummary[]; total: number }) {
  if (jobs.length === 0) return <p class="hint">The queue is empty.</p>;
  return (
    <>
      <ul class="plain">
        {jobs.map((job) => (
          <li key={job.id}>
            <a href={`/jobs/${job.id}`} onClick={linkClick}>
              {shortId(job.id)}
            </a>{' '}
            <span class="muted">{job.requestedBackend}</span> — {job.waitingReason ?? 'waiting for a worker'}
          </li>
        ))}
      </ul>
      {total > jobs.length && <p class="hint">and {total - jobs.length} more</p>}
    </>
  );
}

function LocalWorkersTable({ workers, running }: { workers: LocalWorker[]; running: JobSummary[] }) {
  if (workers.length === 0)
    return <p class="hint">No local ComfyUI workers (LOCAL_COMFYUI_URLS or Controls).</p>;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Worker</th>
            <th scope="col">Health</th>
            <th scope="col">State</th>
            <th scope="col">Slots</th>
            <th scope="col">Current job</th>
            <th scope="col">GPU / models</th>
            <th scope="col">Done</th>
          </tr>
        </thead>
        <tbody>
          {workers.map((worker) => {
            const current = running.filter((job) => job.workerId === worker.id);
            return (
              <tr key={worker.id} data-worker-id={worker.id}>
                <td>
                  <strong>{worker.name}</strong>
                  <div class="muted small">{worker.url}</div>
                </td>
                <td>
                  <Badge value={worker.healthy ? 'healthy' : 'unhealthy'} />
                  {worker.lastError && <div class="muted small">{worker.lastError}</div>}
                </td>
                <td>{worker.state ?? 'active'}</td>
                <td>
                  {worker.running} / {worker.maxConcurrent}
                </td>
                <td>
                  {current.length === 0
                    ? '–'
                    : current.map((job) => (
                        <a key={job.id} href={`/jobs/${job.id}`} onClick={linkClick} class="block">
                          {shortId(job.id)}
                        </a>
                      ))}
                </td>
                <td class="small">{modelsText(worker)}</td>
                <td>{worker.jobsCompleted}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** "NVIDIA GeForce RTX 4090, 22.4 / 23.6 GiB free" from ComfyUI's "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync". */
function gpuText(gpu: LocalWorkerGpu): string {
  const name = (gpu.name ?? gpu.type ?? 'device').replace(/^\w+:\d+\s+/, '').replace(/\s+:\s+\S+$/, '');
  const gib = (bytes: number) => (bytes / 2 ** 30).toFixed(1);
  if (gpu.vramTotalBytes == null || gpu.vramTotalBytes <= 0) return name;
  return gpu.vramFreeBytes == null
    ? `${name}, ${gib(gpu.vramTotalBytes)} GiB`
    : `${name}, ${gib(gpu.vramFreeBytes)} / ${gib(gpu.vramTotalBytes)} GiB free`;
}

function modelsText(worker: LocalWorker): string {
  const parts: string[] = [];
  if (worker.gpu) parts.push(gpuText(worker.gpu));
  const models = modelsSummary(worker);
  if (models) parts.push(models);
  return parts.join(' · ') || '–';
}

/** Checkpoints shown by name in the overview; the rest are counted. */
const MODELS_SHOWN = 3;

/**
 * Its checkpoints by name (the first few, "+N more" from the folder's count), else how many model files it
 * has: from its own /models listing, else from what the installer reported when it registered.
 */
function modelsSummary(worker: LocalWorker): string {
  const capabilities = worker.capabilities;
  let checkpoints: string[];
  let checkpointCount: number;
  let total: number;
  if (capabilities) {
    checkpoints = capabilities.models.checkpoints ?? [];
    checkpointCount = Math.max(capabilities.modelCounts.checkpoints ?? 0, checkpoints.length);
    total = Object.keys(capabilities.models).reduce(
      (sum, folder) =>
        sum + Math.max(capabilities.modelCounts[folder] ?? 0, capabilities.models[folder].length),
      0,
    );
  } else if (worker.reported && worker.reported.models.length > 0) {
    const reported = worker.reported.models;
    checkpoints = reported
      .filter((path) => path.startsWith('checkpoints/'))
      .map((path) => path.slice('checkpoints/'.length));
    checkpointCount = checkpoints.length;
    total = reported.length;
  } else {
    return '';
  }
  if (checkpointCount === 0)
    return total === 0 ? 'no models' : `${total} model file${total === 1 ? '' : 's'}`;
  const shown = checkpoints.slice(0, MODELS_SHOWN);
  const more = checkpointCount - shown.length;
  return shown.join(', ') + (more > 0 ? ` +${more} more` : '');
}

function PodsTable({ status, running }: { status: CloudStatus | null; running: JobSummary[] }) {
  const now = useTicker(1000);
  // Uptime and idle time are as of the snapshot; between snapshots they count on in the page.
  const fetchedAt = useMemo(() => Date.now(), [status]);
  if (!status) return null;
  const pods = status.pods;
  if (pods.length === 0) return <p class="hint">No pods running.</p>;
  const since = now - fetchedAt;
  return (
    <div class="table-wrap">
      <table>
        <thead>
          <tr>
            <th scope="col">Pod</th>
            <th scope="col">State</th>
            <th scope="col">GPU</th>
            <th scope="col">Uptime</th>
            <th scope="col">Cost so far</th>
            <th scope="col">Boot / idle</th>
            <th scope="col">Jobs</th>
          </tr>
        </thead>
        <tbody>
          {pods.map((pod) => (
            <tr key={pod.id} data-pod-id={pod.id} data-pod-name={pod.name} data-state={pod.state}>
              <td>
                <strong>{pod.name}</strong>
                <div class="muted small">{pod.id}</div>
              </td>
              <td>
                <Badge value={pod.state} />
              </td>
              <td>
                {pod.gpuType}
                <div class="muted small">{usd(pod.costPerHour)}/h</div>
              </td>
              <td>{duration(pod.uptime + since)}</td>
              <td>{usd(pod.costUsd + (pod.costPerHour * since) / 3_600_000, 4)}</td>
              <td>
                <PodPhase
                  pod={pod}
                  idleTimeout={pod.idleTimeout ?? reapAfterMs(status)}
                  since={since}
                  running={running}
                />
              </td>
              <td>{pod.jobsProcessed}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PodPhase({
  pod,
  idleTimeout,
  since,
  running,
}: {
  pod: Pod;
  idleTimeout: number;
  since: number;
  running: JobSummary[];
}) {
  if (pod.state === 'requested' || pod.state === 'starting') {
    return (
      <span>
        <ProgressBar percent={null} label={`Pod ${pod.name} booting`} /> booting{' '}
        {duration(pod.uptime + since)}
      </span>
    );
  }
  if (pod.state === 'busy') {
    const job = running.find((candidate) => candidate.workerId === pod.id || candidate.workerId === pod.name);
    return job ? (
      <a href={`/jobs/${job.id}`} onClick={linkClick}>
        running {shortId(job.id)}
      </a>
    ) : (
      <span>running a job</span>
    );
  }
  if (pod.state === 'ready') {
    const left = idleTimeout - pod.idleTime - since;
    return <span title="Terminated when idle this long">idle · reaped in {duration(Math.max(0, left))}</span>;
  }
  return <span class="muted">{pod.failureReason ?? '–'}</span>;
}

function JobMiniList({ jobs, empty }: { jobs: JobSummary[]; empty: string }) {
  const { progress } = useLive();
  if (jobs.length === 0) return <p class="hint">{empty}</p>;
  return (
    <ul class="plain">
      {jobs.map((job) => {
        const live = progress.get(job.id) ?? job.progress;
        return (
          <li key={job.id}>
            <a href={`/jobs/${job.id}`} onClick={linkClick}>
              {shortId(job.id)}
            </a>{' '}
            <ProgressBar percent={live ? live.percent : 0} label={`Progress of job ${job.id}`} />
          </li>
        );
      })}
    </ul>
  );
}

function eventText(event: FleetEvent): string {
  const field = (name: string) => (event[name] === undefined ? '' : String(event[name]));
  switch (event.type) {
    case 'podSpawned':
      return `Pod ${field('name') || field('podId')} spawned (${field('gpuTypeId') || 'GPU ?'}${typeof event.costPerHour === 'number' ? `, ${usd(event.costPerHour)}/h` : ''}${event.origin ? `, ${field('origin')}` : ''})`;
    case 'podReady':
      return `Pod ${field('podId') || field('name')} ready${typeof event.bootMs === 'number' ? ` after ${duration(event.bootMs)}` : ''}`;
    case 'podTerminated':
      return `Pod ${field('podId')} terminated${typeof event.cost === 'number' ? `, cost ${usd(event.cost, 4)}` : ''}${event.reason ? ` (${field('reason')})` : ''}`;
    case 'podFailed':
      return `Pod ${field('podId') || field('name')} failed${event.reason ? `: ${field('reason')}` : ''}`;
    case 'orphanFound':
      return `Orphan pod ${field('name') || field('podId')} found → ${field('action')}`;
    case 'budgetExceeded':
      return `Daily budget reached${typeof event.limitUsd === 'number' ? ` (${usd(event.spentTodayUsd as number)} of ${usd(event.limitUsd)})` : ''}: no new cloud work today`;
    case 'workerChanged':
      return `Local worker ${field('workerId')}: ${field('change')}`;
    case 'jobFailed':
      return `Job ${shortId(field('jobId'))} failed`;
    case 'jobRequeued':
      return `Job ${shortId(field('jobId'))} retried after a ${field('backend') || 'worker'} failure${event.reason ? `: ${field('reason')}` : ''}`;
    default:
      return event.type;
  }
}

function RecentEvents() {
  const { liveEvents } = useLive();
  const recent = useResource<{ events: FleetEvent[] }>(
    '/api/events/recent?limit=30',
    ['fleet', 'cost'],
    15_000,
  );
  // Before the history route answers (or on an older service), the events seen live on this page.
  const events = (recent.data?.events ?? liveEvents).filter((event) => FLEET_EVENT_TYPES.has(event.type));
  if (events.length === 0) return <p class="hint">No fleet events yet.</p>;
  return (
    <ol class="events" aria-live="polite">
      {events.slice(0, 30).map((event, index) => (
        <li key={`${event.id ?? index}-${event.type}`} data-event-type={event.type}>
          <time dateTime={event.at}>{time(event.at)}</time> {eventText(event)}
        </li>
      ))}
    </ol>
  );
}

/**
 * When an idle pod is reaped, for a pod the reaper has not timed yet (each pod carries its own `idleTimeout`
 * once it has): the break-even τ* in force, else CLOUD_IDLE_TIMEOUT (the seed's rule).
 */
function reapAfterMs(status: CloudStatus): number {
  const parameters = status.scalingPolicy?.parameters;
  return parameters ? parameters.idleTimeoutSeconds * 1000 : status.config.idleTimeout;
}

function ScalingPolicyView({ policy }: { policy: ScalingPolicy }) {
  const p = policy.parameters;
  return (
    <>
      <p>
        <strong>{policy.name === 'breakeven' ? 'Break-even' : "Seed's rule"}</strong>{' '}
        <span class="muted">(CLOUD_POLICY={policy.name})</span>
        {policy.lastEvaluation && (
          <span data-testid="scaling-last">
            {' '}
            — {policy.lastEvaluation.action === 'spawn' ? `spawned ${policy.lastEvaluation.pods}: ` : ''}
            {policy.lastEvaluation.message}
          </span>
        )}
      </p>
      {p && (
        <ul class="plain small" data-testid="scaling-parameters">
          <li>
            Break-even utilisation u*{' '}
            {p.breakEvenUtilisation === null ? '–' : p.breakEvenUtilisation.toFixed(2)} (pod{' '}
            {usd(p.podPricePerHour)}/h, serverless {usd(p.serverlessPricePerSecond * 3600)}/h +{' '}
            {p.serverlessOverheadSeconds} s per job)
          </li>
          <li>
            Boot {duration(p.bootSeconds * 1000)} ({p.bootSamples ? `${p.bootSamples} measured` : 'default'}),
            mean job {duration(p.meanJobSeconds * 1000)} (
            {p.jobSamples ? `${p.jobSamples} measured` : 'default'}
            {Object.entries(p.meanJobSecondsByKind ?? {})
              .map(([kind, seconds]) => `; ${kind} ${duration(seconds * 1000)}`)
              .join('')}
            ), serverless start{' '}
            {p.serverlessStartDelaySeconds === null ? '–' : duration(p.serverlessStartDelaySeconds * 1000)}
          </li>
          <li>
            Idle pods reaped after τ* {duration(p.idleTimeoutSeconds * 1000)}
            {p.keptIdleTimeoutsSeconds && p.keptIdleTimeoutsSeconds.length > 0
              ? ` (kept: ${p.keptIdleTimeoutsSeconds.map((s) => duration(s * 1000)).join(', ')})`
              : ''}
            ; serverless workers {p.serverlessMaxWorkers ?? 'not capped'} ({p.serverlessMaxWorkersSource})
          </li>
        </ul>
      )}
      {policy.decisions.length > 0 && (
        <ul class="plain small">
          {policy.decisions.slice(0, 5).map((decision) => (
            <li key={decision.at + decision.message}>
              <span class="muted">{time(decision.at)}</span> {decision.action}{' '}
              {decision.pods > 0 ? decision.pods : ''} — {decision.message}
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
