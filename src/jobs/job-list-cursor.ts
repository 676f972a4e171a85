import { InvalidInputError } from '../common/domain-errors';
import type { JobListPosition } from '../persistence/jobs.repository';

/**
 * The list's `nextCursor`: the last job's position (creation time and id) in base64url, opaque to clients so
 * the paging scheme can change without changing the API. It holds no filter: a client sends the same
 * status/backend with it as with the first page.
 */
export function encodeJobListCursor(position: JobListPosition): string {
  return Buffer.from(`${position.createdAt}:${position.id}`, 'utf8').toString('base64url');
}

/** Throws InvalidInputError (400) for anything encodeJobListCursor did not produce. */
export function decodeJobListCursor(cursor: string): JobListPosition {
  const text = cursor.length <= 400 ? Buffer.from(cursor, 'base64url').toString('utf8') : '';
  const match = /^(\d{1,15}):(.{1,64})$/s.exec(text);
  if (!match) throw new InvalidInputError('cursor is not a nextCursor this list returned');
  return { createdAt: Number(match[1]), id: match[2] };
}
