import { randomFillSync } from 'node:crypto';

/**
 * UUID version 7 (RFC 9562 §5.7): 48 bits of Unix milliseconds, then a 12-bit counter, then 62 random bits.
 *
 * Why not version 4: a job's id is the jobs table's primary key, and random keys land on a random leaf of its
 * index, so every insert dirties a page no other insert touches (one more page in SQLite's WAL and its
 * checkpoint, a scattered B-tree in PostgreSQL). Time-ordered keys append to the rightmost leaf, as the
 * created_at indexes do: in the service on SQLite the job INSERT took about 20% less (docs/bench-dispatch.md,
 * session 26). The id stays unguessable (62 random bits) and says no more than the job's own createdAt.
 *
 * Ids from one generator are strictly increasing, also when the clock stands still (a fake clock) or steps
 * back: the counter (RFC 9562 §6.2, method 1) carries into the millisecond field when it overflows.
 */
export class TimeOrderedIds {
  private lastMs = -1;
  private counter = 0;
  private readonly random = Buffer.alloc(8);

  next(nowMs: number): string {
    const ms = Math.floor(nowMs);
    if (ms > this.lastMs) {
      this.lastMs = ms;
      this.counter = 0; // a new millisecond: the whole 12-bit range to count up in
    } else if (++this.counter > 0xfff) {
      this.lastMs++;
      this.counter = 0;
    }
    randomFillSync(this.random);
    const hex = (value: number, digits: number) => value.toString(16).padStart(digits, '0');
    const time = hex(this.lastMs, 12);
    const variantAndRandom = hex(0x80 | (this.random[0] & 0x3f), 2) + this.random.toString('hex', 1, 8);
    return (
      `${time.slice(0, 8)}-${time.slice(8, 12)}-` +
      `7${hex(this.counter, 3)}-${variantAndRandom.slice(0, 4)}-${variantAndRandom.slice(4, 16)}`
    );
  }
}
