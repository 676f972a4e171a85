import { InvalidInputError } from '../common/domain-errors';
import { costHistoryRange } from './cost-history.range';

const NOW = Date.parse('2026-11-28T15:42:10.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

describe('cost history range', () => {
  it('defaults to the last 7 days by day and the last 48 hours by hour, in whole buckets', () => {
    const day = costHistoryRange({}, NOW);
    expect([day.granularity, iso(day.fromMs), iso(day.toMs)]).toEqual([
      'day',
      '2026-11-21T00:00:00.000Z',
      '2026-11-29T00:00:00.000Z',
    ]);
    const hour = costHistoryRange({ granularity: 'hour' }, NOW);
    expect([iso(hour.fromMs), iso(hour.toMs)]).toEqual([
      '2026-11-26T15:00:00.000Z',
      '2026-11-28T16:00:00.000Z',
    ]);
  });

  it('rounds from down and to up, keeping whole buckets as they are', () => {
    const range = costHistoryRange(
      { from: '2026-11-01T00:00:00Z', to: '2026-11-02T00:00:00+00:00', granularity: 'day' },
      NOW,
    );
    expect([iso(range.fromMs), iso(range.toMs)]).toEqual([
      '2026-11-01T00:00:00.000Z',
      '2026-11-02T00:00:00.000Z',
    ]);
    expect(
      iso(
        costHistoryRange({ from: '2026-11-01', to: '2026-11-01T00:00:01Z', granularity: 'hour' }, NOW).toMs,
      ),
    ).toBe('2026-11-01T01:00:00.000Z');
  });

  it('answers the longest ranges and refuses longer ones, bad times, empty ranges and unknown granularities', () => {
    expect(() =>
      costHistoryRange(
        { from: '2026-08-27T00:00:00Z', to: '2026-11-28T00:00:00Z', granularity: 'hour' },
        NOW,
      ),
    ).not.toThrow();
    expect(() =>
      costHistoryRange({ from: '2024-11-27T00:00:00Z', to: '2026-11-28T00:00:00Z' }, NOW),
    ).not.toThrow();
    const refused: Array<[object, RegExp]> = [
      [{ from: '2026-08-26T00:00:00Z', to: '2026-11-28T00:00:00Z', granularity: 'hour' }, /at most 93 days/],
      [{ from: '2024-01-01T00:00:00Z', to: '2026-11-28T00:00:00Z' }, /at most 2 years/],
      [{ from: 'yesterday' }, /from must be an ISO 8601 time/],
      [{ to: '1700000000000' }, /to must be an ISO 8601 time/],
      [{ from: '1999-12-31T00:00:00Z' }, /from must be an ISO 8601 time after 2000/],
      [{ from: '2026-11-28T00:00:00Z', to: '2026-11-28T00:00:00Z' }, /from must be before to/],
      [{ granularity: 'week' }, /granularity must be one of hour, day/],
    ];
    for (const [query, message] of refused) {
      expect(() => costHistoryRange(query, NOW)).toThrow(InvalidInputError);
      expect(() => costHistoryRange(query, NOW)).toThrow(message);
    }
  });
});
