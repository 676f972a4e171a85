import { useState } from 'preact/hooks';
import { ApiError, request } from '../api';
import { Badge, Card, ErrorNote, ProgressBar } from '../components/ui';
import { duration, shortId, time, usd } from '../format';
import { useLive, useResource } from '../live';
import { linkClick, navigate, useLocation } from '../router';
import { JOB_BACKENDS, JOB_STATUSES, type Job, type JobList, type JobSummary } from '../types';
import { SubmitForm } from './submit-form';

const PAGE_SIZE = 25;

export function JobsPage({ admin }: { admin: boolean }) {
  const { query } = useLocation();
  const status = query.get('status') ?? '';
  const backend = query.get('backend') ?? '';
  const cursor = query.get('cursor') ?? '';
  const [previous, setPrevious] = useState<string[]>([]);
  const params = new URLSearchParams({ limit: String(PAGE_SIZE) });
  if (status) params.set('status', status);
  if (backend) params.set('backend', backend);
  if (cursor) params.set('cursor', cursor);
  const list = useResource<JobList>(`/api/jobs?${params.toString()}`, ['jobs'], 10_000);

  const setFilter = (name: string, value: string) => {
    const next = new URLSearchParams(location.search);
    if (value) next.set(name, value);
    else next.delete(name);
    next.delete('cursor');
    setPrevious([]);
    navigate(`/jobs${next.size ? `?${next.toString()}` : ''}`);
  };
  const goToCursor = (value: string | null) => {
    const next = new URLSearchParams(location.search);
    if (value) next.set('cursor', value);
    else next.delete('cursor');
    navigate(`/jobs${next.size ? `?${next.toString()}` : ''}`);
  };

  return (
    <>
      <h1>Jobs</h1>
      {admin && (
        <Card title="Submit a workflow" id="submit">
          <SubmitForm onSubmitted={(job) => navigate(`/jobs/${job.id}`)} />
        </Card>
      )}
      <Card title="All jobs" id="job-list">
        <form class="filters" onSubmit={(event) => event.preventDefault()}>
          <div class="field">
            <label for="filter-status">Status</label>
            <select
              id="filter-status"
              value={status}
              onChange={(event) => setFilter('status', (event.target as HTMLSelectElement).value)}
            >
              <option value="">any</option>
              {JOB_STATUSES.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </div>
          <div class="field">
            <label for="filter-backend">Backend</label>
            <select
              id="filter-backend"
              value={backend}
              onChange={(event) => setFilter('backend', (event.target as HTMLSelectElement).value)}
            >
              <option value="">any</option>
              {JOB_BACKENDS.map((value) => (
                <option key={value} value={value}>
                  {value}
                </option>
              ))}
            </select>
          </div>
        </form>
        <ErrorNote error={list.error} />
        <JobTable jobs={list.data?.jobs ?? []} admin={admin} onChanged={list.reload} />
        {list.data && list.data.jobs.length === 0 && <p class="hint">No jobs match.</p>}
        <div class="row">
          <button
            type="button"
            disabled={!cursor}
            onClick={() => {
              const stack = [...previous];
              const back = stack.pop() ?? null;
              setPrevious(stack);
              goToCursor(back);
            }}
          >
            ← Newer
          </button>
          <button
            type="button"
            disabled={!list.data?.nextCursor}
            onClick={() => {
              setPrevious([...previous, cursor]);
              goToCursor(list.data?.nextCursor ?? null);
            }}
          >
            Older →
          </button>
        </div>
      </Card>
    </>
  );
}

function JobTable({ jobs, admin, onChanged }: { jobs: JobSummary[]; admin: boolean; onChanged: () => void }) {
  const { progress } = useLive();
  const [error, setError] = useState<ApiError | null>(null);
  if (jobs.length === 0) return null;
  return (
    <>
      <ErrorNote error={error} />
      <div class="table-wrap">
        <table class="jobs">
          <thead>
            <tr>
              <th scope="col">Job</th>
              <th scope="col">Status</th>
              <th scope="col">Backend</th>
              <th scope="col">Progress</th>
              <th scope="col">Created</th>
              <th scope="col">Duration</th>
              <th scope="col">Cost</th>
              {admin && <th scope="col">Actions</th>}
            </tr>
          </thead>
          <tbody>
            {jobs.map((job) => {
              const live = job.status === 'running' ? (progress.get(job.id) ?? job.progress) : job.progress;
              const percent = job.status === 'completed' ? 100 : (live?.percent ?? 0);
              return (
                <tr key={job.id} data-job-id={job.id} data-status={job.status}>
                  <td>
                    <a href={`/jobs/${job.id}`} onClick={linkClick}>
                      {shortId(job.id)}
                    </a>
                  </td>
                  <td>
                    <Badge value={job.status} />
                    {job.status === 'queued' && job.waitingReason && (
                      <div class="muted small">{job.waitingReason}</div>
                    )}
                  </td>
                  <td>
                    {job.backend ?? job.requestedBackend}
                    {job.workerId && <div class="muted small">{shortId(job.workerId)}</div>}
                  </td>
                  <td>
                    <ProgressBar percent={percent} label={`Progress of job ${job.id}`} />
                  </td>
                  <td>{time(job.createdAt)}</td>
                  <td>{duration(job.durationMs)}</td>
                  <td>{usd(job.costUsd, 4)}</td>
                  {admin && (
                    <td>
                      <JobActions job={job} onDone={onChanged} onError={setError} />
                    </td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </>
  );
}

export function JobActions(props: {
  job: JobSummary;
  onDone: (job?: Job) => void;
  onError: (error: ApiError | null) => void;
  openRerun?: boolean;
}) {
  const { job } = props;
  const { touch } = useLive();
  const [busy, setBusy] = useState(false);
  const act = async (path: string, method: string, after: (job: Job) => void) => {
    setBusy(true);
    props.onError(null);
    try {
      after(await request<Job>(path, { method }));
      touch('jobs');
    } catch (error) {
      props.onError(error instanceof ApiError ? error : new ApiError(0, String(error), null));
    } finally {
      setBusy(false);
    }
  };
  const active = job.status === 'queued' || job.status === 'running';
  return (
    <span class="actions">
      {active && (
        <button
          type="button"
          disabled={busy}
          aria-label={`Cancel job ${job.id}`}
          onClick={() =>
            act(`/api/jobs/${encodeURIComponent(job.id)}`, 'DELETE', (updated) => props.onDone(updated))
          }
        >
          Cancel
        </button>
      )}
      {!active && (
        <button
          type="button"
          disabled={busy}
          aria-label={`Re-run job ${job.id}`}
          onClick={() =>
            act(`/api/jobs/${encodeURIComponent(job.id)}/rerun`, 'POST', (created) => {
              props.onDone(created);
              if (props.openRerun !== false) navigate(`/jobs/${created.id}`);
            })
          }
        >
          Re-run
        </button>
      )}
    </span>
  );
}
