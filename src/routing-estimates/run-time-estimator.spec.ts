import fc from 'fast-check';
import { gpuSpeedFactor } from './gpu-speed';
import { defaultRunTime, p90Ratio, RUN_TIME_REFERENCES } from './run-time-defaults';
import { quantile, RunTimeEstimator } from './run-time-estimator';

const SIG = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const POD_4090 = 'pod:NVIDIA GeForce RTX 4090';
const POD_A100 = 'pod:NVIDIA A100 80GB PCIe';
const LOCAL_3090 = 'local:studio-1 (NVIDIA GeForce RTX 3090)';

describe('RunTimeEstimator', () => {
  it('gives the published default for an unseen pair: 6 s image, 240 s video on a 4090-class GPU', () => {
    const e = new RunTimeEstimator();
    expect(e.estimate(SIG, POD_4090)).toEqual({
      medianS: 6,
      p90S: 6 * p90Ratio('image'),
      samples: 0,
      source: 'default',
    });
    const video = e.estimate(SIG, POD_4090, {
      kind: 'video',
      width: 832,
      height: 480,
      frames: 81,
      steps: 30,
    });
    expect(video.medianS).toBeCloseTo(240);
    expect(video.p90S / video.medianS).toBeCloseTo(Math.exp(1.2816 * 0.5));
  });

  it('scales the default by size, steps, frames, batch and GPU speed, within clamps', () => {
    const base = defaultRunTime({ kind: 'image', width: 1024, height: 1024, steps: 25 }, 1).medianS;
    expect(defaultRunTime({ kind: 'image', width: 512, height: 512, steps: 25 }, 1).medianS).toBeCloseTo(
      base / 4,
    );
    expect(defaultRunTime({ kind: 'image', steps: 50, batch: 2 }, 1).medianS).toBeCloseTo(base * 4);
    expect(defaultRunTime({ kind: 'video', frames: 162 }, 1).medianS).toBeCloseTo(480);
    expect(new RunTimeEstimator().estimate(SIG, POD_A100).medianS).toBeCloseTo(6 / 1.4);
    const huge = defaultRunTime({ kind: 'image', width: 1e6, height: 1e6, steps: 1e6 }, 1).medianS;
    expect(huge).toBe(RUN_TIME_REFERENCES.image.medianS * RUN_TIME_REFERENCES.image.maxScale);
    expect(defaultRunTime({ kind: 'image', width: NaN, height: -1 }, 0).medianS).toBeGreaterThan(0);
  });

  it('learns the median and p90 of a pair from its timings', () => {
    const e = new RunTimeEstimator();
    for (let i = 1; i <= 10; i++) e.observe(SIG, POD_4090, i);
    expect(e.estimate(SIG, POD_4090)).toEqual({ medianS: 5.5, p90S: 9.1, samples: 10, source: 'observed' });
    // other pairs are untouched
    expect(e.estimate(OTHER, POD_4090).source).toBe('default');
  });

  it('is robust to outliers (a median, not a mean)', () => {
    const e = new RunTimeEstimator();
    for (let i = 0; i < 20; i++) e.observe(SIG, POD_4090, 10);
    e.observe(SIG, POD_4090, 5000);
    expect(e.estimate(SIG, POD_4090).medianS).toBe(10);
  });

  it('keeps the p90 at least the lognormal spread while it has fewer than 5 timings', () => {
    const e = new RunTimeEstimator();
    e.observe(SIG, POD_4090, 10, { kind: 'video' });
    expect(e.estimate(SIG, POD_4090)).toMatchObject({ medianS: 10, samples: 1, source: 'observed' });
    expect(e.estimate(SIG, POD_4090).p90S).toBeCloseTo(10 * p90Ratio('video'));
  });

  it('follows drift: only the latest `window` timings count', () => {
    const e = new RunTimeEstimator({ window: 8 });
    for (let i = 0; i < 8; i++) e.observe(SIG, POD_4090, 100);
    for (let i = 0; i < 8; i++) e.observe(SIG, POD_4090, 20);
    expect(e.estimate(SIG, POD_4090)).toMatchObject({ medianS: 20, p90S: 20, samples: 8 });
  });

  it("transfers a signature's timings to a class that never ran it, scaled by GPU speed", () => {
    const e = new RunTimeEstimator();
    for (let i = 0; i < 6; i++) e.observe(SIG, POD_4090, 12);
    e.observe(SIG, LOCAL_3090, 30);
    const a100 = e.estimate(SIG, POD_A100);
    expect(a100).toMatchObject({ source: 'transferred', samples: 6 });
    expect(a100.medianS).toBeCloseTo(12 / 1.4); // from the class with the most timings
  });

  it('ignores timings that are not durations', () => {
    const e = new RunTimeEstimator();
    for (const bad of [NaN, Infinity, -1, 0, 8 * 24 * 3600])
      expect(e.observe(SIG, POD_4090, bad)).toBe(false);
    expect(e.observe('', POD_4090, 1)).toBe(false);
    expect(e.observe(SIG, 'x'.repeat(600), 1)).toBe(false);
    expect(e.size).toBe(0);
  });

  it('evicts the least recently observed pair beyond maxPairs', () => {
    const e = new RunTimeEstimator({ maxPairs: 2 });
    e.observe('s1', POD_4090, 1);
    e.observe('s2', POD_4090, 2);
    e.observe('s1', POD_4090, 1); // s1 is now the most recent
    e.observe('s3', POD_4090, 3);
    expect(e.size).toBe(2);
    expect(e.estimate('s2', POD_4090).source).toBe('default');
    expect(e.estimate('s1', POD_4090).source).toBe('observed');
  });

  it('round-trips through JSON (order, window and hints kept) and tolerates junk', () => {
    const e = new RunTimeEstimator({ window: 4 });
    for (let i = 1; i <= 6; i++) e.observe(SIG, POD_4090, i, { kind: 'video', frames: 81 });
    e.observe(OTHER, POD_A100, 7);
    const json = JSON.parse(JSON.stringify(e.toJSON()));
    expect(json.pairs[0]).toEqual({ signature: SIG, workerClass: POD_4090, samples: [3, 4, 5, 6] });
    const back = RunTimeEstimator.fromJSON(json, { window: 4 });
    expect(back.toJSON()).toEqual(e.toJSON());
    expect(back.estimate(SIG, POD_A100)).toEqual(e.estimate(SIG, POD_A100));
    expect(back.estimate(SIG, 'pod:unknown')).toEqual(e.estimate(SIG, 'pod:unknown'));

    expect(RunTimeEstimator.fromJSON(null).size).toBe(0);
    expect(RunTimeEstimator.fromJSON({ version: 2, pairs: json.pairs }).size).toBe(0);
    const junk = RunTimeEstimator.fromJSON({
      version: 1,
      pairs: [null, { signature: SIG }, { signature: SIG, workerClass: POD_4090, samples: ['1', -3, 2] }],
      hints: [{ signature: 'unknown', hint: { kind: 'video' } }, 5],
    });
    expect(junk.toJSON()).toEqual({
      version: 1,
      pairs: [{ signature: SIG, workerClass: POD_4090, samples: [2] }],
      hints: [],
    });
  });

  it('property: the estimate lies within the observed range and median <= p90', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: 0.01, max: 10_000, noNaN: true }), { minLength: 5, maxLength: 200 }),
        (xs) => {
          const e = new RunTimeEstimator();
          for (const x of xs) e.observe(SIG, POD_4090, x);
          const recent = xs.slice(-64);
          const { medianS, p90S } = e.estimate(SIG, POD_4090);
          expect(medianS).toBeGreaterThanOrEqual(Math.min(...recent));
          expect(p90S).toBeLessThanOrEqual(Math.max(...recent));
          expect(medianS).toBeLessThanOrEqual(p90S);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('answers fast enough for routing: 50 classes × 1000 signatures', () => {
    const e = new RunTimeEstimator();
    for (let s = 0; s < 1000; s++)
      for (let c = 0; c < 5; c++) e.observe(`sig${s}`, `class${c}`, 1 + ((s * 7 + c) % 13));
    const started = performance.now();
    let sum = 0;
    for (let s = 0; s < 1000; s++)
      for (let c = 0; c < 50; c++) sum += e.estimate(`sig${s}`, `class${c}`).medianS;
    const perEstimateUs = ((performance.now() - started) * 1000) / 50_000;
    expect(sum).toBeGreaterThan(0);
    expect(perEstimateUs).toBeLessThan(100); // measured ~2 µs; generous for a busy 2-core machine
  });
});

describe('quantile and gpuSpeedFactor', () => {
  it('interpolates between ranks like numpy', () => {
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2.5);
    expect(quantile([5], 0.9)).toBe(5);
    expect(quantile([], 0.5)).toBeNaN();
  });

  it('recognises GPUs in class names and defaults to 4090-class', () => {
    expect(gpuSpeedFactor('pod:NVIDIA H100 80GB HBM3')).toBe(2);
    expect(gpuSpeedFactor('serverless:abc (NVIDIA L40S)')).toBe(1.1);
    expect(gpuSpeedFactor('serverless:abc (NVIDIA L4)')).toBe(0.35);
    expect(gpuSpeedFactor('local:box (NVIDIA GeForce RTX 3090)')).toBe(0.6);
    expect(gpuSpeedFactor('local:mystery')).toBe(1);
  });
});
