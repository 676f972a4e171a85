import { makeRoomFor } from './bounded-map';

describe('makeRoomFor', () => {
  it('leaves a map below its bound alone', () => {
    const map = new Map([[1, 'a']]);
    makeRoomFor(map, 2);
    expect([...map.keys()]).toEqual([1]);
  });

  it('drops the oldest eighth of a full map, so that it stays under its bound as entries are added', () => {
    const map = new Map<number, number>();
    for (let i = 0; i < 100; i++) {
      makeRoomFor(map, 16);
      map.set(i, i);
      expect(map.size).toBeLessThanOrEqual(16);
    }
    // The newest entries are kept, the oldest went first.
    expect(map.has(99)).toBe(true);
    expect(map.has(0)).toBe(false);
    expect(Math.min(...map.keys())).toBeGreaterThan(99 - 16);
  });

  it('drops at least one entry from a tiny full map', () => {
    const map = new Map([['only', 1]]);
    makeRoomFor(map, 1);
    expect(map.size).toBe(0);
  });
});
