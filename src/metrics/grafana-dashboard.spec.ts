import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWorkersMetrics, METRIC_PREFIX } from './cloud-workers-metrics';
import { FleetGauges } from './fleet-gauges';

/** The names the app exports: the registry of one app, with the scrape-time gauges registered (never read). */
function exportedNames(): Set<string> {
  const metrics = new CloudWorkersMetrics();
  const unused = {} as never;
  new FleetGauges(metrics, unused, unused, unused, unused);
  return new Set(metrics.registry.getMetricsAsArray().map((metric) => metric.name));
}

/** Every PromQL expression of the dashboard's panels. */
function dashboardExpressions(): string[] {
  const dashboard = JSON.parse(
    readFileSync(join(process.cwd(), 'deploy/grafana/cloud-workers.json'), 'utf8'),
  );
  return (dashboard.panels as Array<{ targets?: Array<{ expr: string }> }>).flatMap((panel) =>
    (panel.targets ?? []).map((target) => target.expr),
  );
}

describe('deploy/grafana/cloud-workers.json', () => {
  it('queries only metric names the app exports (a histogram through its _bucket, _sum and _count series)', () => {
    const exported = exportedNames();
    const used = new Set(
      dashboardExpressions().flatMap((expr) =>
        [...expr.matchAll(new RegExp(`\\b${METRIC_PREFIX}[a-z0-9_]+`, 'g'))].map((match) => match[0]),
      ),
    );
    expect(used.size).toBeGreaterThan(10);
    const unknown = [...used].filter(
      (name) => !exported.has(name) && !exported.has(name.replace(/_(bucket|sum|count)$/, '')),
    );
    expect(unknown).toEqual([]);
  });

  it('shows every metric the app exports somewhere', () => {
    const text = dashboardExpressions().join('\n');
    const missing = [...exportedNames()].filter((name) => !text.includes(name));
    expect(missing).toEqual([]);
  });
});
