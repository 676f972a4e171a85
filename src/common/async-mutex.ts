/** Runs async sections one at a time (e.g. spawns, so two callers cannot both pass the CLOUD_MAX_PODS check). */
export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section, section);
    this.tail = result.catch(() => undefined);
    return result;
  }

  /**
   * Waits for the mutex and holds it until the returned function is called (exactly once): for a section that
   * does not fit one callback, such as a lock held across a database transaction.
   */
  acquire(): Promise<() => void> {
    return new Promise((acquired) => {
      void this.run(() => new Promise<void>((release) => acquired(() => release())));
    });
  }
}

/** One AsyncMutex per key (e.g. per pod), created on demand and dropped when idle. */
export class KeyedMutex {
  private readonly locks = new Map<string, { mutex: AsyncMutex; users: number }>();

  async run<T>(key: string, section: () => Promise<T>): Promise<T> {
    const entry = this.locks.get(key) ?? { mutex: new AsyncMutex(), users: 0 };
    entry.users++;
    this.locks.set(key, entry);
    try {
      return await entry.mutex.run(section);
    } finally {
      if (--entry.users === 0) this.locks.delete(key);
    }
  }
}
