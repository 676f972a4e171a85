import { HOUR } from '../common/clock';
import { InvalidInputError } from '../common/domain-errors';

export const COST_GRANULARITIES = ['hour', 'day'] as const;
export type CostGranularity = (typeof COST_GRANULARITIES)[number];

export const DAY = 24 * HOUR;

/** Bucket length: UTC hours and UTC days both start on a multiple of it since the epoch (no leap seconds). */
export const BUCKET_MS: Record<CostGranularity, number> = { hour: HOUR, day: DAY };

/**
 * The longest range each granularity answers: about 2,200 hourly or 730 daily buckets, so one request's work
 * and answer stay bounded whatever the caller asks for.
 */
export const MAX_RANGE_MS: Record<CostGranularity, number> = { hour: 93 * DAY, day: 731 * DAY };
const MAX_RANGE_TEXT: Record<CostGranularity, string> = { hour: '93 days', day: '2 years (731 days)' };

/** The range when the caller gives no `from`. */
export const DEFAULT_SPAN_MS: Record<CostGranularity, number> = { hour: 48 * HOUR, day: 7 * DAY };

export interface CostHistoryRange {
  granularity: CostGranularity;
  /** Start of the first bucket (inclusive), on a bucket boundary. */
  fromMs: number;
  /** End of the last bucket (exclusive), on a bucket boundary. */
  toMs: number;
}

export interface CostHistoryQuery {
  from?: string;
  to?: string;
  granularity?: string;
}

/** Years 2000 to 9999 as ISO 8601 with a time; a date alone is read as midnight UTC. */
const ISO_TIME = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

function parseTime(name: string, value: string): number {
  const ms = ISO_TIME.test(value) ? Date.parse(value) : Number.NaN;
  if (!Number.isFinite(ms) || ms < Date.UTC(2000, 0, 1)) {
    throw new InvalidInputError(`${name} must be an ISO 8601 time after 2000, e.g. 2026-11-28T00:00:00Z`);
  }
  return ms;
}

/**
 * The buckets a query covers: `from` is rounded down and `to` up to whole buckets (UTC hours or days), so every
 * bucket is complete and a day's hourly buckets add up to its daily one. Throws InvalidInputError (400) for an
 * unknown granularity, an unreadable time, an empty range or one longer than the granularity allows.
 */
export function costHistoryRange(query: CostHistoryQuery, nowMs: number): CostHistoryRange {
  const granularity = (query.granularity ?? 'day') as CostGranularity;
  if (!COST_GRANULARITIES.includes(granularity)) {
    throw new InvalidInputError(`granularity must be one of ${COST_GRANULARITIES.join(', ')}`);
  }
  const to = query.to !== undefined ? parseTime('to', query.to) : nowMs;
  const from = query.from !== undefined ? parseTime('from', query.from) : to - DEFAULT_SPAN_MS[granularity];
  if (from >= to) throw new InvalidInputError('from must be before to');
  if (to - from > MAX_RANGE_MS[granularity]) {
    throw new InvalidInputError(
      `The range is too long for granularity=${granularity}: at most ${MAX_RANGE_TEXT[granularity]}`,
    );
  }
  const bucket = BUCKET_MS[granularity];
  return {
    granularity,
    fromMs: Math.floor(from / bucket) * bucket,
    toMs: Math.ceil(to / bucket) * bucket,
  };
}
