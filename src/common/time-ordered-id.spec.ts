import { TimeOrderedIds } from './time-ordered-id';

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('TimeOrderedIds', () => {
  it('makes RFC 9562 version 7 UUIDs whose first 48 bits are the Unix milliseconds', () => {
    const ms = Date.UTC(2026, 11, 2, 18, 30, 0, 123);
    const id = new TimeOrderedIds().next(ms);
    expect(id).toMatch(UUID_V7);
    expect(parseInt(id.replace(/-/g, '').slice(0, 12), 16)).toBe(ms);
  });

  it('keeps ids strictly increasing when the clock stands still, steps back or a millisecond fills up', () => {
    const ids = new TimeOrderedIds();
    const clock = [1_000, 1_000, 999, ...Array<number>(5_000).fill(1_001), 1_003, 1_003];
    const made = clock.map((ms) => ids.next(ms));
    for (let i = 1; i < made.length; i++) expect(made[i] > made[i - 1]).toBe(true);
    for (const id of made) expect(id).toMatch(UUID_V7);
  });

  it('differs between generators in the same millisecond (62 random bits)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 1_000; i++) seen.add(new TimeOrderedIds().next(5_000));
    expect(seen.size).toBe(1_000);
  });
});
