import type { RunResult } from './engine';
import { meanCi } from './seeds';

/** One row of the benchmark: a policy on a workload (one seed), with the bounds of that seed's trace. */
export interface BenchRow {
  result: RunResult;
  lbUsd: number;
  ubUsd: number;
  waitBudgetS: number;
  /** The seed of this run (`--seeds`); absent in old callers. */
  seed?: number;
}

const fmt = (value: number, digits = 2) =>
  // + 0 turns a float-noise -0.0 (a wait of -1e-12 s) into 0.0.
  Number.isFinite(value) ? (Number(value.toFixed(digits)) + 0).toFixed(digits) : '-';

export const COLUMNS = [
  'workload',
  'policy',
  'seed',
  'jobs',
  'cost_usd',
  'cost_over_lb',
  'cost_over_ub',
  'wait_p50_s',
  'wait_p95_s',
  'image_wait_p95_s',
  'wait_max_s',
  'lost',
  'pod_launches',
  'gpu_utilisation',
  'serverless_share',
  'deadline_misses',
  'lb_usd',
  'ub_usd',
  'pod_boot_usd',
  'pod_busy_usd',
  'pod_idle_usd',
  'serverless_cold_usd',
  'serverless_busy_usd',
  'serverless_idle_usd',
  'serverless_active_usd',
  'cold_starts',
  'invalid_actions',
  'decide_p99_us',
  'wall_ms',
] as const;
type Column = (typeof COLUMNS)[number];
const LABELS = ['workload', 'policy', 'seed'] as const;
type NumericColumn = Exclude<Column, (typeof LABELS)[number]>;

/** Decimal places per numeric column (counts are integers per seed, but their means are not). */
const DIGITS: Record<NumericColumn, number> = {
  jobs: 0,
  cost_usd: 4,
  cost_over_lb: 3,
  cost_over_ub: 3,
  wait_p50_s: 1,
  wait_p95_s: 1,
  image_wait_p95_s: 1,
  wait_max_s: 1,
  lost: 0,
  pod_launches: 0,
  gpu_utilisation: 3,
  serverless_share: 3,
  deadline_misses: 0,
  lb_usd: 4,
  ub_usd: 4,
  pod_boot_usd: 4,
  pod_busy_usd: 4,
  pod_idle_usd: 4,
  serverless_cold_usd: 4,
  serverless_busy_usd: 4,
  serverless_idle_usd: 4,
  serverless_active_usd: 4,
  cold_starts: 0,
  invalid_actions: 0,
  decide_p99_us: 1,
  wall_ms: 0,
};

function values(row: BenchRow): Record<NumericColumn, number> {
  const r = row.result;
  const b = r.breakdown;
  return {
    jobs: r.jobs,
    cost_usd: r.costUsd,
    cost_over_lb: r.costUsd / row.lbUsd,
    cost_over_ub: r.costUsd / row.ubUsd,
    wait_p50_s: r.waitP50,
    wait_p95_s: r.waitP95,
    image_wait_p95_s: r.imageWaitP95,
    wait_max_s: r.waitMax,
    lost: r.lost,
    pod_launches: r.podLaunches,
    gpu_utilisation: r.utilisation,
    serverless_share: r.serverlessShare,
    deadline_misses: r.deadlineMisses,
    lb_usd: row.lbUsd,
    ub_usd: row.ubUsd,
    pod_boot_usd: b.podBoot,
    pod_busy_usd: b.podBusy,
    pod_idle_usd: b.podIdle,
    serverless_cold_usd: b.serverlessCold,
    serverless_busy_usd: b.serverlessBusy,
    serverless_idle_usd: b.serverlessIdle,
    serverless_active_usd: b.serverlessActive,
    cold_starts: r.coldStarts,
    invalid_actions: r.invalidActions,
    decide_p99_us: r.decideP99Us,
    wall_ms: r.wallMs,
  };
}

const NUMERIC = COLUMNS.filter((c): c is NumericColumn => !(LABELS as readonly string[]).includes(c));

function cells(row: BenchRow): Record<Column, string> {
  const v = values(row);
  const out = {
    workload: row.result.workload,
    policy: row.result.policy,
    seed: row.seed === undefined ? '' : String(row.seed),
  } as Record<Column, string>;
  for (const c of NUMERIC) out[c] = fmt(v[c], DIGITS[c]);
  return out;
}

/** Every seed's rows of one (workload, policy), in first-seen order. */
export interface BenchGroup {
  workload: string;
  policy: string;
  rows: BenchRow[];
  /** Mean and 95% CI over the group's seeds, per numeric column (ratios are averaged per seed: LB is per trace). */
  stats: Record<NumericColumn, ReturnType<typeof meanCi>>;
}

export function groupBySeed(rows: BenchRow[]): BenchGroup[] {
  const groups = new Map<string, BenchRow[]>();
  for (const row of rows) {
    const key = `${row.result.workload}\u0000${row.result.policy}`;
    groups.set(key, [...(groups.get(key) ?? []), row]);
  }
  return [...groups.values()].map((group) => {
    const perSeed = group.map(values);
    const stats = {} as BenchGroup['stats'];
    for (const c of NUMERIC) stats[c] = meanCi(perSeed.map((v) => v[c]));
    return { workload: group[0].result.workload, policy: group[0].result.policy, rows: group, stats };
  });
}

const multiSeed = (groups: BenchGroup[]) => groups.some((g) => g.rows.length > 1);

/** One row per run (seed), then, when a group has several seeds, a `mean` and a `ci95` (half-width) row each. */
export function toCsv(rows: BenchRow[]): string {
  const lines = [COLUMNS.join(','), ...rows.map((row) => COLUMNS.map((c) => cells(row)[c]).join(','))];
  const groups = groupBySeed(rows);
  if (multiSeed(groups)) {
    for (const g of groups) {
      for (const stat of ['mean', 'ci95'] as const) {
        const out: Record<Column, string> = { workload: g.workload, policy: g.policy, seed: stat } as Record<
          Column,
          string
        >;
        for (const c of NUMERIC) out[c] = fmt(g.stats[c][stat], Math.max(DIGITS[c], stat === 'ci95' ? 1 : 0));
        lines.push(COLUMNS.map((c) => out[c]).join(','));
      }
    }
  }
  return lines.join('\n') + '\n';
}

const pm = (s: ReturnType<typeof meanCi>, digits: number) =>
  Number.isFinite(s.ci95) ? `${fmt(s.mean, digits)} ± ${fmt(s.ci95, digits)}` : fmt(s.mean, digits);

/** With several seeds: mean ± 95% CI (Student t over seeds) per (workload, policy). */
export function toSeedMarkdown(rows: BenchRow[]): string {
  const head = [
    'workload',
    'policy',
    'seeds',
    'cost $',
    'cost/LB',
    'cost/UB',
    'p50 s',
    'p95 s',
    'image p95 s',
    'max s',
    'lost',
    'pods',
    'sls share',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const g of groupBySeed(rows)) {
    const s = g.stats;
    lines.push(
      `| ${[g.workload, g.policy, String(g.rows.length), pm(s.cost_usd, 3), pm(s.cost_over_lb, 2), pm(s.cost_over_ub, 2), pm(s.wait_p50_s, 1), pm(s.wait_p95_s, 1), pm(s.image_wait_p95_s, 1), pm(s.wait_max_s, 1), pm(s.lost, 1), pm(s.pod_launches, 1), pm(s.serverless_share, 2)].join(' | ')} |`,
    );
  }
  return lines.join('\n') + '\n';
}

/** The console / README table: the columns the issue asks for. */
export function toMarkdown(rows: BenchRow[]): string {
  if (multiSeed(groupBySeed(rows))) return toSeedMarkdown(rows);
  const head = [
    'workload',
    'policy',
    'cost $',
    'cost/LB',
    'cost/UB',
    'p50 s',
    'p95 s',
    'image p95 s',
    'max s',
    'lost',
    'pods',
    'util',
    'sls share',
  ];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`];
  for (const row of rows) {
    const c = cells(row);
    lines.push(
      `| ${[c.workload, c.policy, c.cost_usd, c.cost_over_lb, c.cost_over_ub, c.wait_p50_s, c.wait_p95_s, c.image_wait_p95_s, c.wait_max_s, c.lost, c.pod_launches, c.gpu_utilisation, c.serverless_share].join(' | ')} |`,
    );
  }
  return lines.join('\n') + '\n';
}

const PALETTE = [
  '#1f77b4',
  '#d62728',
  '#2ca02c',
  '#9467bd',
  '#ff7f0e',
  '#8c564b',
  '#e377c2',
  '#17becf',
  '#7f7f7f',
  '#bcbd22',
];

const escapeXml = (text: string) => text.replace(/[<>&"]/g, (ch) => `&#${ch.charCodeAt(0)};`);

/** One SVG panel: cost/LB (y) against p95 wait (x, log scale) for every policy on one workload. */
function panel(workload: string, rows: BenchRow[], policies: string[]): string {
  const width = 420;
  const height = 300;
  const m = { left: 50, right: 10, top: 24, bottom: 36 };
  const points = rows.map((row) => ({
    policy: row.result.policy,
    x: Math.max(1, row.result.waitP95),
    y: row.result.costUsd / row.lbUsd,
    ub: row.ubUsd / row.lbUsd,
  }));
  const maxX = Math.max(10, ...points.map((p) => p.x)) * 1.3;
  const maxY =
    Math.max(1.5, ...points.map((p) => (Number.isFinite(p.y) ? p.y : 0)), ...points.map((p) => p.ub)) * 1.1;
  const sx = (x: number) => m.left + (Math.log10(x) / Math.log10(maxX)) * (width - m.left - m.right);
  const sy = (y: number) => height - m.bottom - (y / maxY) * (height - m.top - m.bottom);
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="10">`,
    `<rect width="${width}" height="${height}" fill="white"/>`,
    `<text x="${width / 2}" y="14" text-anchor="middle" font-size="12" font-weight="bold">${escapeXml(workload)}</text>`,
    `<line x1="${m.left}" y1="${height - m.bottom}" x2="${width - m.right}" y2="${height - m.bottom}" stroke="black"/>`,
    `<line x1="${m.left}" y1="${m.top}" x2="${m.left}" y2="${height - m.bottom}" stroke="black"/>`,
    `<text x="${width / 2}" y="${height - 6}" text-anchor="middle">p95 wait (s, log)</text>`,
    `<text x="12" y="${height / 2}" text-anchor="middle" transform="rotate(-90 12 ${height / 2})">cost / LB</text>`,
  ];
  for (let tick = 1; tick <= maxX; tick *= 10) {
    parts.push(`<text x="${sx(tick)}" y="${height - m.bottom + 12}" text-anchor="middle">${tick}</text>`);
  }
  for (let i = 0; i <= 4; i++) {
    const y = (maxY * i) / 4;
    parts.push(`<text x="${m.left - 4}" y="${sy(y) + 3}" text-anchor="end">${y.toFixed(1)}</text>`);
  }
  parts.push(
    `<line x1="${m.left}" y1="${sy(1)}" x2="${width - m.right}" y2="${sy(1)}" stroke="#999" stroke-dasharray="4 3"/>`,
  );
  if (points.length > 0) {
    const ub = points[0].ub;
    parts.push(
      `<line x1="${m.left}" y1="${sy(ub)}" x2="${width - m.right}" y2="${sy(ub)}" stroke="#2ca02c" stroke-dasharray="2 2"/>`,
      `<text x="${width - m.right - 2}" y="${sy(ub) - 3}" text-anchor="end" fill="#2ca02c">clairvoyant UB</text>`,
    );
  }
  for (const p of points) {
    if (!Number.isFinite(p.y)) continue;
    const color = PALETTE[policies.indexOf(p.policy) % PALETTE.length];
    parts.push(
      `<circle cx="${sx(p.x)}" cy="${sy(p.y)}" r="4" fill="${color}"><title>${escapeXml(`${p.policy}: ${p.y.toFixed(2)}x LB, p95 ${p.x.toFixed(0)} s`)}</title></circle>`,
    );
  }
  parts.push('</svg>');
  return parts.join('');
}

/** A self-contained HTML report: one cost/LB vs p95-wait panel per workload, a legend and the table. */
export function toHtml(rows: BenchRow[], meta: Record<string, string>): string {
  const workloads = [...new Set(rows.map((row) => row.result.workload))];
  const policies = [...new Set(rows.map((row) => row.result.policy))];
  const legend = policies
    .map(
      (p, i) =>
        `<span style="margin-right:12px"><span style="color:${PALETTE[i % PALETTE.length]}">&#9679;</span> ${escapeXml(p)}</span>`,
    )
    .join('');
  const table = toMarkdown(rows)
    .trim()
    .split('\n')
    .filter((line, i) => i !== 1)
    .map((line, i) => {
      const tag = i === 0 ? 'th' : 'td';
      const inner = line
        .slice(1, -1)
        .split('|')
        .map((c) => `<${tag}>${escapeXml(c.trim())}</${tag}>`)
        .join('');
      return `<tr>${inner}</tr>`;
    })
    .join('\n');
  return `<!doctype html><html><head><meta charset="utf-8"><title>bench:policy</title>
<style>body{font-family:sans-serif;margin:20px}table{border-collapse:collapse;font-size:12px}td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}.panels{display:flex;flex-wrap:wrap;gap:8px}</style>
</head><body><h1>Policy benchmark: cost / LB against p95 wait</h1>
<p>${Object.entries(meta)
    .map(([k, v]) => `<b>${escapeXml(k)}</b>: ${escapeXml(v)}`)
    .join(' &middot; ')}</p>
<p>LB: time-indexed fluid LP lower bound (start within the wait budget); dashed green: the clairvoyant integral schedule UB. Lower left is better.</p>
<p>${legend}</p><div class="panels">${workloads
    .map((w) =>
      panel(
        w,
        rows.filter((r) => r.result.workload === w),
        policies,
      ),
    )
    .join('')}</div>
<h2>Table</h2><table>${table}</table></body></html>\n`;
}
