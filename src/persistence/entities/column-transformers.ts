import { type ValueTransformer } from 'typeorm';

/** PostgreSQL returns BIGINT as a string; timestamps are epoch milliseconds, well inside 2^53. */
export const epochMs: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? null : Number(value)),
};

export const float: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null || value === undefined ? null : Number(value)),
};
