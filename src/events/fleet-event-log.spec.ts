import type { FleetEvent } from './fleet-event';
import { FleetEventLog } from './fleet-event-log';

function event(id: number): FleetEvent {
  const data = { id, type: 'jobQueued', at: new Date(0).toISOString(), jobId: `job-${id}` };
  return { id, type: 'jobQueued', at: data.at, data, json: JSON.stringify(data) };
}

function fill(log: FleetEventLog, count: number): void {
  for (let i = 0; i < count; i++) log.append(event(log.nextId));
}

const ids = (events: FleetEvent[] | undefined) => events?.map((item) => item.id);

describe('FleetEventLog', () => {
  it('numbers events contiguously from firstId', () => {
    const log = new FleetEventLog(5, 100);
    expect(log.lastId).toBe(99);
    fill(log, 3);
    expect(log.lastId).toBe(102);
    expect(log.oldestId).toBe(100);
  });

  it('replays exactly the events after an id it still holds', () => {
    const log = new FleetEventLog(5, 1);
    fill(log, 4);
    expect(ids(log.after(0))).toEqual([1, 2, 3, 4]);
    expect(ids(log.after(2))).toEqual([3, 4]);
    expect(ids(log.after(4))).toEqual([]);
  });

  it('replays an empty log to a client at its start', () => {
    const log = new FleetEventLog(5, 1000);
    expect(log.after(999)).toEqual([]);
  });

  it('keeps only the last `capacity` events once it wraps', () => {
    const log = new FleetEventLog(5, 1);
    fill(log, 12);
    expect(log.oldestId).toBe(8);
    expect(ids(log.after(7))).toEqual([8, 9, 10, 11, 12]);
    expect(ids(log.after(10))).toEqual([11, 12]);
  });

  it('cannot answer for an id older than what it holds (events in between were dropped)', () => {
    const log = new FleetEventLog(5, 1);
    fill(log, 12);
    expect(log.after(6)).toBeUndefined();
    expect(log.after(0)).toBeUndefined();
  });

  it('cannot answer for an id it never gave out, or one from before its first id', () => {
    const log = new FleetEventLog(5, 1000);
    fill(log, 3);
    expect(log.after(1003)).toBeUndefined();
    expect(log.after(50)).toBeUndefined();
    expect(log.after(Number.NaN)).toBeUndefined();
    expect(log.after(1000.5)).toBeUndefined();
  });

  it('stops a replay at `through` (events not yet sent live)', () => {
    const log = new FleetEventLog(10, 1);
    fill(log, 6);
    expect(ids(log.after(2, 4))).toEqual([3, 4]);
    expect(log.after(5, 4)).toBeUndefined();
  });

  it('refuses an event out of order', () => {
    const log = new FleetEventLog(5, 1);
    expect(() => log.append(event(2))).toThrow(/out of order/);
  });
});
