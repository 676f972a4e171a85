import { Logger } from '@nestjs/common';
import type { SchedulerRegistry } from '@nestjs/schedule';

/** A background loop started by `startLoop`. */
export interface Loop {
  /** Clears the timer (also from the scheduler) and waits for a run in progress. Idempotent. */
  stop(): Promise<void>;
}

/**
 * Runs `run` every `intervalMs`, with its timer registered in `scheduler` under `name` (so shutdown hooks and
 * tests see it, and deleting it there stops the loop as well). A firing while the previous run is still going is
 * skipped: runs never overlap. A run that throws or rejects is logged with the loop's name; the loop goes on.
 * The first run is one interval after the start, as with `setInterval`.
 */
export function startLoop(
  scheduler: SchedulerRegistry,
  name: string,
  intervalMs: number,
  run: () => Promise<unknown> | void,
  logger: Logger = new Logger(name),
): Loop {
  let running: Promise<void> | null = null;
  const fire = (): void => {
    if (running) return;
    running = Promise.resolve()
      .then(run)
      .then(
        () => undefined,
        (error: unknown) =>
          logger.error(`Loop ${name} failed: ${error instanceof Error ? error.message : String(error)}`),
      )
      .finally(() => (running = null));
  };
  scheduler.addInterval(name, setInterval(fire, intervalMs));
  return {
    async stop(): Promise<void> {
      if (scheduler.doesExist('interval', name)) scheduler.deleteInterval(name);
      await running;
    },
  };
}
