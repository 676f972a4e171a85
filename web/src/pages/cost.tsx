import { useEffect, useState } from 'preact/hooks';
import { ApiError, download } from '../api';
import { CostChart } from '../components/cost-chart';
import { BudgetGauge, Card, ErrorNote } from '../components/ui';
import { usd } from '../format';
import { useResource } from '../live';
import type { CloudCost, CostHistory } from '../types';

const RANGES = {
  hour: [
    { label: 'last 24 hours', hours: 24, serverDefault: false },
    { label: 'last 48 hours', hours: 48, serverDefault: true },
    { label: 'last 7 days', hours: 24 * 7, serverDefault: false },
  ],
  day: [
    { label: 'last 7 days', hours: 24 * 7, serverDefault: true },
    { label: 'last 30 days', hours: 24 * 30, serverDefault: false },
    { label: 'last 90 days', hours: 24 * 90, serverDefault: false },
    { label: 'last 365 days', hours: 24 * 365, serverDefault: false },
  ],
} as const;

export function CostPage() {
  const [granularity, setGranularity] = useState<'hour' | 'day'>('hour');
  const [rangeIndex, setRangeIndex] = useState(1);
  const ranges = RANGES[granularity];
  const chosen = Math.min(rangeIndex, ranges.length - 1);
  const range = ranges[chosen];
  // "Now" is the service's: the first range asked is the server's default one (no from/to), whose `to` then
  // anchors the others, so a browser whose clock is off still sees the latest buckets.
  const [serverNow, setServerNow] = useState<number | null>(null);
  const query = new URLSearchParams({ granularity });
  if (!range.serverDefault && serverNow !== null) {
    query.set('from', new Date(serverNow - range.hours * 3_600_000).toISOString());
    query.set('to', new Date(serverNow).toISOString());
  }
  const history = useResource<CostHistory>(`/api/cloud/cost/history?${query.toString()}`, ['cost'], 60_000);
  const cost = useResource<CloudCost>('/api/cloud/cost', ['cost']);
  const [csvError, setCsvError] = useState<ApiError | null>(null);
  const data = history.data;
  useEffect(() => {
    if (data && serverNow === null) setServerNow(Date.parse(data.to));
  }, [data, serverNow]);
  const from = data ? new Date(data.from) : new Date();

  return (
    <>
      <h1>Cost</h1>
      <div class="grid">
        <Card title="Today vs budget" id="cost-budget">
          {cost.data ? (
            <BudgetGauge spent={cost.data.budget.spentTodayUsd} limit={cost.data.budget.limitUsd || null} />
          ) : (
            <ErrorNote error={cost.error} />
          )}
        </Card>
        <Card title="Totals" id="cost-totals">
          {cost.data && (
            <dl class="facts">
              <dt>All time (ledger)</dt>
              <dd>{usd(cost.data.totalCost)}</dd>
              <dt>Jobs processed in the cloud</dt>
              <dd>{cost.data.totalJobsProcessed}</dd>
              <dt>Average per cloud job</dt>
              <dd>{usd(cost.data.avgCostPerJob, 4)}</dd>
              {data && (
                <>
                  <dt>In this range</dt>
                  <dd>
                    {usd(data.totals.total)} (local {usd(data.totals.local)}, serverless{' '}
                    {usd(data.totals.serverless)}, pods {usd(data.totals.pods)})
                  </dd>
                </>
              )}
            </dl>
          )}
        </Card>
      </div>
      <Card
        title="Spend over time"
        id="cost-history"
        actions={
          <button
            type="button"
            onClick={() => {
              setCsvError(null);
              const csvQuery = new URLSearchParams(query);
              csvQuery.set('format', 'csv');
              download(
                `/api/cloud/cost/history?${csvQuery.toString()}`,
                `cost-${granularity}-${from.toISOString().slice(0, 10)}.csv`,
              ).catch((error: unknown) =>
                setCsvError(error instanceof ApiError ? error : new ApiError(0, String(error), null)),
              );
            }}
          >
            Export CSV
          </button>
        }
      >
        <form class="filters" onSubmit={(event) => event.preventDefault()}>
          <div class="field">
            <label for="cost-granularity">Granularity</label>
            <select
              id="cost-granularity"
              value={granularity}
              onChange={(event) => {
                const next = (event.target as HTMLSelectElement).value as 'hour' | 'day';
                setGranularity(next);
                setRangeIndex(RANGES[next].findIndex((option) => option.serverDefault));
              }}
            >
              <option value="hour">by hour</option>
              <option value="day">by day</option>
            </select>
          </div>
          <div class="field">
            <label for="cost-range">Range</label>
            <select
              id="cost-range"
              value={String(chosen)}
              onChange={(event) => setRangeIndex(Number((event.target as HTMLSelectElement).value))}
            >
              {ranges.map((option, index) => (
                <option key={option.label} value={String(index)}>
                  {option.label}
                </option>
              ))}
            </select>
          </div>
        </form>
        <ErrorNote error={csvError} />
        {history.error?.status === 404 ? (
          <p class="hint">This service has no cost history route yet (GET /api/cloud/cost/history).</p>
        ) : (
          <ErrorNote error={history.error} />
        )}
        {data && <CostChart buckets={data.buckets} granularity={data.granularity} />}
        {data && <BucketTable history={data} />}
      </Card>
      {data && data.pods.length > 0 && (
        <Card title="By pod" id="cost-pods">
          <div class="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Pod</th>
                  <th scope="col">GPU</th>
                  <th scope="col">Cost in range</th>
                </tr>
              </thead>
              <tbody>
                {data.pods.map((pod) => (
                  <tr key={pod.podId}>
                    <td>
                      {pod.name} <span class="muted small">{pod.podId}</span>
                    </td>
                    <td>{pod.gpuTypeId}</td>
                    <td>{usd(pod.total, 4)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </Card>
      )}
    </>
  );
}

function BucketTable({ history }: { history: CostHistory }) {
  const rows = history.buckets
    .filter((bucket) => bucket.total > 0 || bucket.jobsCompleted > 0)
    .slice(-48)
    .reverse();
  if (rows.length === 0) return <p class="hint">No spend in this range.</p>;
  return (
    <details>
      <summary>
        Table ({rows.length} {rows.length === 1 ? 'bucket' : 'buckets'} with activity)
      </summary>
      <div class="table-wrap">
        <table>
          <thead>
            <tr>
              <th scope="col">{history.granularity === 'hour' ? 'Hour' : 'Day'}</th>
              <th scope="col">Total</th>
              <th scope="col">Local</th>
              <th scope="col">Serverless</th>
              <th scope="col">Pods</th>
              <th scope="col">Jobs</th>
              <th scope="col">Per job</th>
            </tr>
          </thead>
          <tbody>
            {rows.map((bucket) => (
              <tr key={bucket.start}>
                <td>
                  {history.granularity === 'hour'
                    ? new Date(bucket.start).toLocaleString()
                    : bucket.start.slice(0, 10)}
                </td>
                <td>{usd(bucket.total, 4)}</td>
                <td>{usd(bucket.byBackend.local, 4)}</td>
                <td>{usd(bucket.byBackend.serverless, 4)}</td>
                <td>{usd(bucket.byBackend.pods, 4)}</td>
                <td>{bucket.jobsCompleted}</td>
                <td>{usd(bucket.costPerJobUsd, 4)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}
