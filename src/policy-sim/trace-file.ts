import type { SimJob, Workload } from './workloads';

/**
 * `--trace FILE`: replay an operator's own history. CSV with a header row, or JSONL (one object per line),
 * with these fields (docs/bench-policy.md):
 *   arrival     seconds from the start of the trace, or an ISO-8601 time (made relative to the earliest)
 *   duration_s  GPU seconds the job ran
 *   gpu_class   optional, carried through (the simulator models one GPU class)
 *   signature   optional workflow signature
 *   deadline    optional: seconds after the job's arrival by which it must be done
 *   kind        optional: image | video (default: video when duration_s > 60)
 */
interface RawRow {
  arrival: string | number;
  duration_s: string | number;
  gpu_class?: string;
  signature?: string;
  deadline?: string | number;
  kind?: string;
}

function parseCsv(text: string): RawRow[] {
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '' && !line.startsWith('#'));
  if (lines.length === 0) return [];
  const header = lines[0].split(',').map((h) => h.trim());
  return lines.slice(1).map((line) => {
    const values = line.split(',').map((v) => v.trim());
    return Object.fromEntries(header.map((h, i) => [h, values[i] ?? ''])) as unknown as RawRow;
  });
}

function parseJsonl(text: string): RawRow[] {
  return text
    .split(/\r?\n/)
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as RawRow);
}

const toSeconds = (value: string | number): number =>
  typeof value === 'number'
    ? value
    : /^-?[\d.]+(e-?\d+)?$/i.test(value)
      ? Number(value)
      : Date.parse(value) / 1000;

export function parseTrace(text: string, name: string, format: 'csv' | 'jsonl'): Workload {
  const rows = format === 'csv' ? parseCsv(text) : parseJsonl(text);
  const arrivals = rows.map((row, i) => {
    const arrival = toSeconds(row.arrival);
    const duration = Number(row.duration_s);
    if (!Number.isFinite(arrival) || !(duration >= 0))
      throw new Error(`${name}: row ${i + 1}: bad arrival or duration_s`);
    return arrival;
  });
  const origin = Math.min(...arrivals);
  const jobs: SimJob[] = rows
    .map((row, i) => {
      const arrivalS = arrivals[i] - origin;
      const durationS = Number(row.duration_s);
      const deadline = row.deadline === undefined || row.deadline === '' ? undefined : Number(row.deadline);
      const kind =
        row.kind === 'image' || row.kind === 'video' ? row.kind : durationS > 60 ? 'video' : 'image';
      return {
        id: 0,
        arrivalS,
        durationS,
        kind,
        gpuClass: row.gpu_class || undefined,
        signature: row.signature || undefined,
        deadlineS: deadline === undefined ? undefined : arrivalS + deadline,
      } satisfies SimJob;
    })
    .sort((a, b) => a.arrivalS - b.arrivalS)
    .map((job, id) => ({ ...job, id }));
  const last = jobs.length ? jobs[jobs.length - 1].arrivalS : 0;
  return { name, jobs, horizonS: Math.ceil(last) + 1 };
}
