import { inDispatchOrder, startDueAt, type OrderedJob } from './dispatch-order.policy';

const S = 1000;
const job = (id: string, arrivalS: number, expectedRunS: number, extra: Partial<OrderedJob> = {}) => ({
  id,
  priority: 0,
  arrivalAt: arrivalS * S,
  expectedRunS,
  ...extra,
});
const order = (jobs: Array<ReturnType<typeof job>>, target = 30, perRun = 0.5) =>
  inDispatchOrder(jobs, (j) => j, target, perRun).map((j) => j.id);

describe('startDueAt', () => {
  it('is the arrival plus the pod wait allowance: the target for a short job, a share of the run for a long one', () => {
    expect(startDueAt(job('image', 100, 6), 30, 0.5)).toBe(130 * S);
    expect(startDueAt(job('video', 100, 240), 30, 0.5)).toBe(220 * S);
    expect(startDueAt(job('video', 100, 240), 30, 0.75)).toBe(280 * S);
  });

  it('is the last start that meets the deadline when that comes sooner', () => {
    expect(startDueAt(job('video', 100, 240, { deadlineAt: 400 * S }), 30, 0.5)).toBe(160 * S);
    expect(startDueAt(job('video', 100, 240, { deadlineAt: 10_000 * S }), 30, 0.5)).toBe(220 * S);
    expect(startDueAt(job('image', 100, 6, { deadlineAt: null }), 30, 0.5)).toBe(130 * S);
  });

  it('is its deadline plan’s start on a local worker when that comes sooner', () => {
    // Planned to start at 150 s; its allowance (220 s) and last start (160 s) come later.
    const planned = job('video', 100, 240, { deadlineAt: 400 * S, plannedLocalStartAt: 150 * S });
    expect(startDueAt(planned, 30, 0.5)).toBe(150 * S);
    // A plan that starts it later than its last start changes nothing.
    expect(startDueAt({ ...planned, plannedLocalStartAt: 170 * S }, 30, 0.5)).toBe(160 * S);
    expect(startDueAt({ ...planned, plannedLocalStartAt: null }, 30, 0.5)).toBe(160 * S);
  });

  it('treats a negative run estimate as none', () => {
    expect(startDueAt(job('odd', 100, -50), 30, 0.5)).toBe(130 * S);
  });
});

describe('inDispatchOrder', () => {
  it('puts an image before a video that arrived shortly before it', () => {
    expect(order([job('video', 0, 240), job('image', 10, 6)])).toEqual(['image', 'video']);
  });

  it('puts a video whose deadline plan starts it on a local worker now before an image due later', () => {
    // The image (arrived at 110 s) is due at 140 s; the video's plan starts it at 130 s (its last start: 160 s).
    const planned = job('video', 100, 240, { deadlineAt: 400 * S, plannedLocalStartAt: 130 * S });
    expect(order([job('image', 110, 6), planned])).toEqual(['video', 'image']);
    expect(order([job('image', 110, 6), { ...planned, plannedLocalStartAt: null }])).toEqual([
      'image',
      'video',
    ]);
  });

  it('keeps a video ahead of an image that arrived after the video was due', () => {
    // The video is due at 120 s, the image (arriving at 100 s) at 130 s.
    expect(order([job('video', 0, 240), job('image', 100, 6)])).toEqual(['video', 'image']);
  });

  it('serves jobs of one kind first come first served', () => {
    expect(order([job('a', 0, 6), job('b', 1, 6), job('c', 2, 6)])).toEqual(['a', 'b', 'c']);
    expect(order([job('v1', 0, 240), job('v2', 5, 240)])).toEqual(['v1', 'v2']);
  });

  it('puts priority before everything', () => {
    expect(order([job('image', 0, 6), job('urgent-video', 50, 240, { priority: 5 })])).toEqual([
      'urgent-video',
      'image',
    ]);
  });

  it('lets a job whose deadline is near go first', () => {
    expect(order([job('image', 0, 6), job('video', 5, 240, { deadlineAt: 250 * S })])).toEqual([
      'video',
      'image',
    ]);
  });

  it('follows CLOUD_POD_WAIT_PER_RUN: with no share of the run, every job is due at its arrival plus the target', () => {
    expect(order([job('video', 0, 240), job('image', 10, 6)], 30, 0)).toEqual(['video', 'image']);
  });

  it('is stable for equal keys, and leaves the input alone', () => {
    const jobs = [job('x', 0, 6), job('y', 0, 6)];
    expect(order(jobs)).toEqual(['x', 'y']);
    expect(jobs.map((j) => j.id)).toEqual(['x', 'y']);
  });
});
