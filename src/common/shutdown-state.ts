import { Injectable } from '@nestjs/common';

/**
 * Graceful shutdown, shared by the parts that must agree on it: once draining, no new job or spawn is taken
 * (503), the dispatcher lets running jobs finish (or hands them back), and only then are pods terminated.
 */
@Injectable()
export class ShutdownState {
  private draining = false;
  private markDrained!: () => void;
  private readonly drained = new Promise<void>((resolve) => (this.markDrained = resolve));

  get isDraining(): boolean {
    return this.draining;
  }

  beginDraining(): void {
    this.draining = true;
  }

  /** The dispatcher calls this once no job of this instance is running any more. */
  jobsDrained(): void {
    this.markDrained();
  }

  /** Resolves when jobs are drained, or after `timeoutMs` at the latest. */
  async whenJobsDrained(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.drained,
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }
}
