/**
 * `--seeds N`: each (policy, workload) runs on seeds s..s+N-1 (common random numbers: every policy sees the same
 * trace and draws for a given seed), and the report gives the mean and a 95% confidence interval over seeds
 * (autoscaling-theory.md §6.4, §6.7).
 *
 * The interval is Student's t: mean ± t(0.975, n-1) · sd / √n, with the sample standard deviation (n - 1). The
 * seeds are independent replications, so t is exact for normal per-seed metrics and conservative enough for
 * the rest at n = 30; with one seed there is no interval (NaN).
 */

/** t(0.975, df) for df = 1..30 (two-sided 95%). */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131,
  2.12, 2.11, 2.101, 2.093, 2.086, 2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];

/** The two-sided 95% Student t quantile; beyond df 30 the Cornish-Fisher expansion (error < 0.001). */
export function tQuantile975(df: number): number {
  if (!(df >= 1)) return NaN;
  if (df <= T975.length) return T975[Math.floor(df) - 1];
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface MeanCi {
  n: number;
  mean: number;
  /** Half-width of the 95% interval (NaN for fewer than two values). */
  ci95: number;
}

/** Mean and 95% t-interval half-width of the finite values (NaN ones, e.g. p95 of a run with no job, are left out). */
export function meanCi(values: readonly number[]): MeanCi {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { n, mean: NaN, ci95: NaN };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, mean, ci95: NaN };
  const variance = xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
  return { n, mean, ci95: (tQuantile975(n - 1) * Math.sqrt(variance)) / Math.sqrt(n) };
}

/** The seeds a run covers: first..first+count-1. */
export function seedRange(first: number, count: number): number[] {
  if (!Number.isInteger(count) || count < 1)
    throw new Error(`--seeds must be a positive integer (got ${count})`);
  return Array.from({ length: count }, (_, i) => first + i);
}
