import { HOUR, MINUTE } from '../common/clock';
import { buildCostHistory, podCostByBucket } from './cost-history.buckets';
import { costHistoryRange } from './cost-history.range';
import { podCost, podCostByDay } from './policy/pod-cost';

const DAY = 24 * HOUR;
const at = (iso: string) => Date.parse(iso);

describe('cost history buckets', () => {
  it("cuts a pod that runs across midnight into hours that add up to the ledger's day rows", () => {
    const pod = {
      podId: 'pod-a',
      costPerHour: 0.69,
      billedFrom: at('2026-11-27T22:17:31.250Z'),
      billedUntil: at('2026-11-28T03:05:02.500Z'),
    };
    const range = costHistoryRange(
      { from: '2026-11-27T00:00:00Z', to: '2026-11-29T00:00:00Z', granularity: 'hour' },
      0,
    );
    const hours = podCostByBucket(range, [pod]);
    expect(hours.map((hour) => new Date(hour.bucketStart).toISOString().slice(11, 13))).toEqual([
      '22',
      '23',
      '00',
      '01',
      '02',
      '03',
    ]);
    expect(hours[0].amountUsd).toBeCloseTo(0.69 * ((42 * MINUTE + 28_750) / HOUR), 12);
    expect(hours[1].amountUsd).toBeCloseTo(0.69, 12);

    const dayRows = podCostByDay(pod.costPerHour, pod.billedFrom, pod.billedUntil);
    for (const row of dayRows) {
      const dayStart = at(`${row.day}T00:00:00Z`);
      const sum = hours
        .filter((hour) => hour.bucketStart >= dayStart && hour.bucketStart < dayStart + DAY)
        .reduce((total, hour) => total + hour.amountUsd, 0);
      expect(sum).toBeCloseTo(row.amountUsd, 12);
    }
    const days = podCostByBucket({ ...range, granularity: 'day' }, [pod]);
    expect(days.map((day) => day.amountUsd)).toEqual(dayRows.map((row) => row.amountUsd));
  });

  it('counts only the part of a pod inside the range', () => {
    const range = costHistoryRange(
      { from: '2026-11-28T10:00:00Z', to: '2026-11-28T12:00:00Z', granularity: 'hour' },
      0,
    );
    const amounts = podCostByBucket(range, [
      {
        podId: 'p',
        costPerHour: 1,
        billedFrom: at('2026-11-28T08:00:00Z'),
        billedUntil: at('2026-11-28T20:00:00Z'),
      },
    ]);
    expect(amounts.map((amount) => amount.amountUsd)).toEqual([1, 1]);
  });

  it('lays amounts on every bucket with totals by backend and pod, local present at 0, cost per job', () => {
    const range = costHistoryRange(
      { from: '2026-11-26T00:00:00Z', to: '2026-11-29T00:00:00Z', granularity: 'day' },
      0,
    );
    const history = buildCostHistory({
      range,
      pods: [
        { podId: 'pod-a', bucketStart: at('2026-11-26T00:00:00Z'), amountUsd: 1.5 },
        { podId: 'pod-b', bucketStart: at('2026-11-26T00:00:00Z'), amountUsd: 0.25 },
        { podId: 'pod-a', bucketStart: at('2026-11-28T00:00:00Z'), amountUsd: 0.5 },
        { podId: 'pod-z', bucketStart: at('2026-11-30T00:00:00Z'), amountUsd: 99 },
      ],
      serverless: [{ bucketStart: at('2026-11-28T00:00:00Z'), amountUsd: 0.1 }],
      jobsCompleted: [
        { bucketStart: at('2026-11-26T00:00:00Z'), count: 7 },
        { bucketStart: at('2026-11-28T00:00:00Z'), count: 3 },
      ],
      podInfo: [{ podId: 'pod-a', name: 'comfyui-worker-a', gpuTypeId: 'NVIDIA RTX A4000' }],
    });
    expect(history.totals).toEqual({ total: 2.35, local: 0, serverless: 0.1, pods: 2.25 });
    expect(history.buckets).toEqual([
      {
        start: '2026-11-26T00:00:00.000Z',
        total: 1.75,
        byBackend: { local: 0, serverless: 0, pods: 1.75 },
        byPod: { 'pod-a': 1.5, 'pod-b': 0.25 },
        jobsCompleted: 7,
        costPerJobUsd: 0.25,
      },
      {
        start: '2026-11-27T00:00:00.000Z',
        total: 0,
        byBackend: { local: 0, serverless: 0, pods: 0 },
        byPod: {},
        jobsCompleted: 0,
        costPerJobUsd: null,
      },
      {
        start: '2026-11-28T00:00:00.000Z',
        total: 0.6,
        byBackend: { local: 0, serverless: 0.1, pods: 0.5 },
        byPod: { 'pod-a': 0.5 },
        jobsCompleted: 3,
        costPerJobUsd: 0.2,
      },
    ]);
    expect(history.pods).toEqual([
      { podId: 'pod-a', name: 'comfyui-worker-a', gpuTypeId: 'NVIDIA RTX A4000', total: 2 },
      { podId: 'pod-b', name: null, gpuTypeId: null, total: 0.25 },
    ]);
  });

  it('agrees with podCost over a whole pod lifetime', () => {
    const pod = {
      podId: 'p',
      costPerHour: 2.39,
      billedFrom: at('2026-03-01T05:00:01Z'),
      billedUntil: at('2026-03-04T01:59:59Z'),
    };
    const range = costHistoryRange(
      { from: '2026-03-01T00:00:00Z', to: '2026-03-05T00:00:00Z', granularity: 'hour' },
      0,
    );
    const sum = podCostByBucket(range, [pod]).reduce((total, hour) => total + hour.amountUsd, 0);
    expect(sum).toBeCloseTo(podCost(pod.costPerHour, pod.billedFrom, pod.billedUntil), 9);
  });
});
