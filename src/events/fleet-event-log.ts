import type { FleetEvent } from './fleet-event';

/**
 * The last `capacity` fleet events of this instance, in a ring. Ids are contiguous from `firstId`, so an
 * event's slot follows from its id and "what came after id n" is a slice, not a search.
 */
export class FleetEventLog {
  private readonly slots: Array<FleetEvent | undefined>;
  private last: number;

  /**
   * @param firstId the id the first event gets. The service starts it from its boot time, so an id a client
   *   got from an earlier run (or another instance) is almost surely outside this log's range and gets a reset
   *   instead of a replay of unrelated events.
   */
  constructor(
    readonly capacity: number,
    readonly firstId = 1,
  ) {
    if (!Number.isSafeInteger(capacity) || capacity < 1)
      throw new Error('capacity must be a positive integer');
    this.slots = new Array<FleetEvent | undefined>(capacity);
    this.last = firstId - 1;
  }

  /** The newest id given out; `firstId - 1` before the first event. */
  get lastId(): number {
    return this.last;
  }

  /** The oldest id still kept (equals `lastId + 1` while the log is empty). */
  get oldestId(): number {
    return Math.max(this.firstId, this.last - this.capacity + 1);
  }

  /** The next id; the caller builds the event with it and appends it at once. */
  get nextId(): number {
    return this.last + 1;
  }

  append(event: FleetEvent): void {
    if (event.id !== this.last + 1)
      throw new Error(`event id ${event.id} out of order (expected ${this.last + 1})`);
    this.last = event.id;
    this.slots[this.slot(event.id)] = event;
  }

  /**
   * The events after `id` up to `through` (default: the newest), oldest first; `undefined` when `id` is not a
   * point of this log's history: older than the oldest kept event's predecessor (events were dropped), newer
   * than `through`, or not an id at all.
   */
  after(id: number, through = this.last): FleetEvent[] | undefined {
    if (!Number.isSafeInteger(id) || id < this.oldestId - 1 || id > through || through > this.last)
      return undefined;
    const events: FleetEvent[] = [];
    for (let next = id + 1; next <= through; next++) events.push(this.slots[this.slot(next)]!);
    return events;
  }

  private slot(id: number): number {
    return (id - this.firstId) % this.capacity;
  }
}
