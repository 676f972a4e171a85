import { ServerlessInFlight } from './serverless-in-flight';

describe('ServerlessInFlight (the serverless jobs this process sent and has not seen end)', () => {
  const IDLE_S = 5;
  const expected = (sentWarm: boolean) => ({ startDelayS: sentWarm ? 2 : 45, medianS: 30, p90S: 60 });

  it('counts the jobs in flight per endpoint, and keeps an endpoint warm for its idle timeout after the last one', () => {
    const sls = new ServerlessInFlight(100, IDLE_S);
    expect(sls.load('e1')).toEqual({ inFlight: 0, lastEndedAt: null });
    expect(sls.likelyWarm('e1', 0)).toBe(false);

    sls.sent('a', 'e1', 1_000, 2, expected);
    sls.sent('b', 'e1', 2_000, 2, expected);
    expect(sls.load('e1')).toEqual({ inFlight: 2, lastEndedAt: null });
    expect(sls.load('e2').inFlight).toBe(0);
    expect(sls.likelyWarm('e1', 2_000)).toBe(true);

    expect(sls.ended('a', 10_000)).toMatchObject({ endpointId: 'e1', sentAt: 1_000 });
    expect(sls.ended('b', 11_000)).toMatchObject({ endpointId: 'e1', sentAt: 2_000 });
    expect(sls.load('e1')).toEqual({ inFlight: 0, lastEndedAt: 11_000 });
    expect(sls.likelyWarm('e1', 16_000)).toBe(true);
    expect(sls.likelyWarm('e1', 16_001)).toBe(false);
  });

  it('records how each job was sent: cold or warm, and queued behind others when every worker was busy', () => {
    const sls = new ServerlessInFlight(100, IDLE_S);
    sls.sent('a', 'e1', 0, 1, expected);
    sls.sent('b', 'e1', 1_000, 1, expected);
    expect(sls.inFlightOn('e1')).toEqual([
      expect.objectContaining({ endpointId: 'e1', sentWarm: false, queuedBehind: false, startDelayS: 45 }),
      expect.objectContaining({ endpointId: 'e1', sentWarm: true, queuedBehind: true, startDelayS: 2 }),
    ]);
    expect(sls.inFlightOn('e1').map((job) => job.sentAt)).toEqual([0, 1_000]);
    expect(sls.inFlightOn('e2')).toEqual([]);
  });

  it('a retry on serverless replaces the earlier attempt; an end it never saw changes nothing', () => {
    const sls = new ServerlessInFlight(100, IDLE_S);
    sls.sent('a', 'e1', 0, 5, expected);
    sls.sent('a', 'e2', 3_000, 5, expected);
    expect(sls.load('e1')).toEqual({ inFlight: 0, lastEndedAt: 3_000 });
    expect(sls.load('e2').inFlight).toBe(1);
    expect(sls.ended('unknown', 4_000)).toBeUndefined();
    expect(sls.load('e2')).toEqual({ inFlight: 1, lastEndedAt: null });
  });

  it('past maxTracked jobs forgets the oldest eighth as if ended, counts included (else the endpoint looks full for good)', () => {
    const sls = new ServerlessInFlight(16, IDLE_S);
    for (let i = 0; i < 16; i++) sls.sent(`j${i}`, i < 4 ? 'old' : 'new', i, 100, expected);
    expect(sls.load('old').inFlight).toBe(4);
    sls.sent('j16', 'new', 16, 100, expected);
    // ceil(16 / 8) = 2 forgotten: the two oldest, both on 'old'.
    expect(sls.load('old').inFlight).toBe(2);
    expect(sls.load('new').inFlight).toBe(13);
    expect(sls.ended('j0', 20)).toBeUndefined();
    expect(sls.inFlightOn('old').map((job) => job.sentAt)).toEqual([2, 3]);
  });
});
