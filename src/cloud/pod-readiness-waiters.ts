import { type PodEntity } from '../persistence/entities/pod.entity';
import { TimedOutError } from '../common/domain-errors';

interface Waiter {
  resolve: (pod: PodEntity) => void;
  reject: (error: Error) => void;
  timer: NodeJS.Timeout;
}

/**
 * In-memory promises for callers waiting on a pod to become ready (POST /api/cloud/spawn without
 * ?wait=false). Only a convenience for the HTTP caller: the pod's state itself lives in the database.
 */
export class PodReadinessWaiters {
  private readonly waiting = new Map<string, Waiter[]>();

  wait(name: string, timeoutMs: number): Promise<PodEntity> {
    return new Promise<PodEntity>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.remove(name, waiter);
        reject(new TimedOutError(`Pod ${name} was not ready within ${Math.round(timeoutMs / 1000)}s`));
      }, timeoutMs);
      timer.unref();
      const waiter: Waiter = { resolve, reject, timer };
      this.waiting.set(name, [...(this.waiting.get(name) ?? []), waiter]);
    });
  }

  resolve(name: string, pod: PodEntity): void {
    for (const waiter of this.take(name)) waiter.resolve(pod);
  }

  reject(name: string, error: Error): void {
    for (const waiter of this.take(name)) waiter.reject(error);
  }

  private take(name: string): Waiter[] {
    const list = this.waiting.get(name) ?? [];
    this.waiting.delete(name);
    list.forEach((waiter) => clearTimeout(waiter.timer));
    return list;
  }

  private remove(name: string, waiter: Waiter): void {
    const rest = (this.waiting.get(name) ?? []).filter((w) => w !== waiter);
    if (rest.length > 0) this.waiting.set(name, rest);
    else this.waiting.delete(name);
  }
}
