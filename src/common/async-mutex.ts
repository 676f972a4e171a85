/** Runs async sections one at a time (e.g. spawns, so two callers cannot both pass the CLOUD_MAX_PODS check). */
export class AsyncMutex {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(section: () => Promise<T>): Promise<T> {
    const result = this.tail.then(section, section);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
