import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { createHash } from 'node:crypto';
import { Client } from 'pg';
import { startLoop } from '../common/loop';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

export const LeaderEvents = {
  Acquired: 'leadershipAcquired',
  Lost: 'leadershipLost',
} as const;

const INTERVAL_NAME = 'leader-election';

/** The advisory lock key: one leader per database schema. */
function lockKey(schema: string): number {
  return createHash('sha256').update(`comfyui-cloud-workers:${schema}`).digest().readInt32BE(0);
}

/**
 * Exactly one instance runs the dispatcher, autoscaler, reaper and sweeper: the one holding a PostgreSQL
 * session advisory lock on a dedicated connection. If that process dies its session ends, PostgreSQL drops
 * the lock, and another instance takes it on its next try (every LEADER_ELECTION_INTERVAL). With SQLite there
 * is one instance by construction, and it leads.
 */
@Injectable()
export class LeaderElection implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('Leader');
  private leader = false;
  private client: Client | null = null;
  private attempt: Promise<void> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly scheduler: SchedulerRegistry,
    private readonly events: EventEmitter2,
  ) {}

  isLeader(): boolean {
    return this.leader;
  }

  async onApplicationBootstrap(): Promise<void> {
    if (!this.config.databaseUrl) {
      this.setLeader(true);
      return;
    }
    await this.campaign();
    startLoop(
      this.scheduler,
      INTERVAL_NAME,
      this.config.leaderElectionIntervalMs,
      () => this.campaign(),
      this.logger,
    );
  }

  async onApplicationShutdown(): Promise<void> {
    if (this.scheduler.doesExist('interval', INTERVAL_NAME)) this.scheduler.deleteInterval(INTERVAL_NAME);
    await this.attempt;
    const client = this.client;
    this.client = null;
    this.leader = false;
    await client?.end().catch(() => undefined);
  }

  /** Leader: check the lock's connection still lives. Follower: try to take the lock. */
  campaign(): Promise<void> {
    this.attempt ??= this.tryOnce().finally(() => (this.attempt = null));
    return this.attempt;
  }

  private async tryOnce(): Promise<void> {
    try {
      const client = await this.connection();
      if (this.leader) {
        await client.query('SELECT 1');
        return;
      }
      const schema = this.config.databaseSchema ?? 'public';
      const result = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [
        lockKey(schema),
      ]);
      if (result.rows[0]?.ok) this.setLeader(true);
    } catch (error) {
      this.logger.error(`Leader election: ${(error as Error).message}`);
      this.dropConnection();
    }
  }

  private async connection(): Promise<Client> {
    if (this.client) return this.client;
    const client = new Client({
      connectionString: this.config.databaseUrl,
      application_name: 'comfyui-cloud-workers-leader',
    });
    // A dead lock connection means the lock is gone: stop leading at once, before another instance starts.
    client.on('error', (error) => {
      this.logger.error(`Leader lock connection failed: ${error.message}`);
      this.dropConnection();
    });
    await client.connect();
    this.client = client;
    return client;
  }

  private dropConnection(): void {
    const client = this.client;
    this.client = null;
    client?.end().catch(() => undefined);
    this.setLeader(false);
  }

  private setLeader(leader: boolean): void {
    if (leader === this.leader) return;
    this.leader = leader;
    if (leader) {
      this.logger.log('This instance is the leader: it runs dispatching, autoscaling, reaping and sweeping');
      this.events.emit(LeaderEvents.Acquired);
    } else {
      this.logger.warn('This instance lost leadership: its loops stop until it leads again');
      this.events.emit(LeaderEvents.Lost);
    }
  }
}
