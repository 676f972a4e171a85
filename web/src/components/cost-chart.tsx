import { useEffect, useRef } from 'preact/hooks';
import type uPlot from 'uplot';
import type { CostBucket } from '../types';

/** Enough decimals that neighbouring ticks differ ($0.0002, $0.0004... for a quiet day). */
function decimalsFor(increment: number): number {
  return Math.min(6, Math.max(0, -Math.floor(Math.log10(increment || 1))));
}

/** uPlot is half the app's JavaScript and only this page draws: it loads when the chart is first shown. */
let uPlotModule: Promise<typeof uPlot> | null = null;
function loadUPlot(): Promise<typeof uPlot> {
  uPlotModule ??= Promise.all([import('uplot'), import('uplot/dist/uPlot.min.css')]).then(
    ([module]) => module.default,
  );
  return uPlotModule;
}

const SERIES = [
  { key: 'local', label: 'Local', stroke: '#2f9e44' },
  { key: 'serverless', label: 'Serverless', stroke: '#1c7ed6' },
  { key: 'pods', label: 'Pods', stroke: '#e8590c' },
] as const;

/**
 * Spend per bucket, stacked by backend (bars), with the total as a line. uPlot draws on a canvas, so the same
 * numbers are also in the table below the chart for screen readers; the canvas gets a text summary.
 */
export function CostChart({ buckets, granularity }: { buckets: CostBucket[]; granularity: 'hour' | 'day' }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);

  useEffect(() => {
    const element = host.current;
    if (!element) return;
    let disposed = false;
    let resize: ResizeObserver | null = null;
    void loadUPlot().then((UPlot) => {
      if (disposed) return;
      resize = draw(UPlot, element);
    });
    return () => {
      disposed = true;
      resize?.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [buckets, granularity]);

  function draw(UPlot: typeof uPlot, element: HTMLDivElement): ResizeObserver {
    const xs = buckets.map((bucket) => Date.parse(bucket.start) / 1000);
    // Stacked: each series is drawn as the running sum, so its bar top is where the next one starts.
    let running = buckets.map(() => 0);
    const stacked = SERIES.map((series) => {
      running = running.map((sum, index) => sum + (buckets[index].byBackend[series.key] ?? 0));
      return running;
    });
    const data: uPlot.AlignedData = [xs, ...stacked.slice().reverse(), buckets.map((bucket) => bucket.total)];
    const bars = UPlot.paths.bars!({ size: [0.7, 60], align: 0 });
    const options: uPlot.Options = {
      width: Math.max(280, element.clientWidth),
      height: 280,
      scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
      axes: [
        { stroke: 'currentColor', grid: { stroke: 'rgba(128,128,128,0.2)' } },
        {
          stroke: 'currentColor',
          grid: { stroke: 'rgba(128,128,128,0.2)' },
          values: (_u, ticks, _axis, _space, increment) => ticks.map((t) => `$${t.toFixed(decimalsFor(increment))}`),
          size: 84,
        },
      ],
      series: [
        {
          label: granularity === 'hour' ? 'Hour' : 'Day',
          value: (_u, v) => (v == null ? '–' : new Date(v * 1000).toLocaleString()),
        },
        ...SERIES.slice()
          .reverse()
          .map((series) => ({
            label: series.label,
            stroke: series.stroke,
            fill: `${series.stroke}cc`,
            paths: bars,
            points: { show: false },
            value: (_u: uPlot, _v: number | null, _s: number, index: number | null) =>
              index == null ? '–' : `$${(buckets[index]?.byBackend[series.key] ?? 0).toFixed(4)}`,
          })),
        // In the legend (hover) only: the stacked bars already show it.
        {
          label: 'Total',
          stroke: '#868e96',
          paths: () => null,
          points: { show: false },
          value: (_u, v) => (v == null ? '–' : `$${v.toFixed(4)}`),
        },
      ],
    };
    plot.current?.destroy();
    plot.current = new UPlot(options, data, element);
    const resize = new ResizeObserver(() =>
      plot.current?.setSize({ width: Math.max(280, element.clientWidth), height: 280 }),
    );
    resize.observe(element);
    return resize;
  }

  const total = buckets.reduce((sum, bucket) => sum + bucket.total, 0);
  return (
    <figure class="chart">
      <div
        ref={host}
        role="img"
        aria-label={`Cloud and local spend per ${granularity}, ${buckets.length} buckets, $${total.toFixed(2)} in all`}
        data-testid="cost-chart"
      />
    </figure>
  );
}
