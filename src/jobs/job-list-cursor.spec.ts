import { InvalidInputError } from '../common/domain-errors';
import { decodeJobListCursor, encodeJobListCursor } from './job-list-cursor';

describe('job list cursor', () => {
  it('round-trips a position, whatever the id contains', () => {
    for (const position of [
      { createdAt: 1764230000123, id: 'job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' },
      { createdAt: 0, id: 'a:b:c' },
    ])
      expect(decodeJobListCursor(encodeJobListCursor(position))).toEqual(position);
  });

  it('refuses what it did not produce', () => {
    for (const bad of ['', 'nope', Buffer.from('12:').toString('base64url'), 'x'.repeat(1000)])
      expect(() => decodeJobListCursor(bad)).toThrow(InvalidInputError);
  });
});
