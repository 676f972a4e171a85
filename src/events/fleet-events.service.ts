import { Inject, Injectable, Logger, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { randomUUID } from 'node:crypto';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import {
  FLEET_EVENT_TYPES,
  type FleetEvent,
  type FleetEventType,
  fleetEventData,
  HIGH_FREQUENCY_EVENT_TYPES,
} from './fleet-event';
import { FleetEventLog } from './fleet-event-log';

/** How many events `recent()` can answer with. */
export const RECENT_EVENTS_MAX = 200;

export type FleetEventListener = (event: FleetEvent) => void;

/** Where a client that last saw `lastEventId` stands. */
export type CatchUp = { kind: 'replay'; events: FleetEvent[] } | { kind: 'reset' };

/**
 * The fleet's events (jobs, pods, cost, budget, local workers) of this instance, numbered and kept in a ring
 * (EVENTS_BUFFER_SIZE) for clients that reconnect, and handed to subscribers as they happen.
 *
 * It hears the internal events on the core's emitter, inside the emitter's synchronous `emit`: the work here is
 * one projection and one JSON serialization per event, it never throws into the emitting service (the
 * dispatcher, the control loop), and subscribers are expected to defer their own work.
 *
 * Per instance: with several instances, each numbers and streams the events it produced itself.
 */
@Injectable()
export class FleetEventHub implements OnModuleInit, OnModuleDestroy {
  private readonly logger = new Logger('FleetEvents');
  /** Identifies this run of this instance; a client that sees it change knows its ids mean nothing here. */
  readonly instanceId = randomUUID();
  private readonly log: FleetEventLog;
  /** The fleet events without the high-frequency ones, newest last, for `recent()`. */
  private recentEvents: FleetEvent[] = [];
  private readonly listeners = new Set<FleetEventListener>();
  private readonly handlers = new Map<FleetEventType, (payload: unknown) => void>();

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly clock: Clock,
    private readonly emitter: EventEmitter2,
  ) {
    // Ids start above boot time in ms x 1000: a later run (or another instance started later) never gives out
    // an id a client already holds, so such a client is told to reset rather than replayed unrelated events.
    this.log = new FleetEventLog(config.events.bufferSize, Math.floor(clock.now()) * 1000 + 1);
  }

  onModuleInit(): void {
    // Subscribed on our own emitter (not @OnEvent), so a host's second EventEmitterModule cannot double them.
    for (const type of FLEET_EVENT_TYPES) {
      const handler = (payload: unknown) => this.record(type, payload);
      this.handlers.set(type, handler);
      this.emitter.on(type, handler);
    }
  }

  onModuleDestroy(): void {
    for (const [type, handler] of this.handlers) this.emitter.off(type, handler);
    this.handlers.clear();
  }

  /** The newest id given out (events after it are still to come). */
  get lastEventId(): number {
    return this.log.lastId;
  }

  /**
   * What a client that last saw `lastEventId` missed, up to `through`: a replay, or a reset when this
   * instance cannot tell (the id is older than the buffer, newer than `through`, from another run or instance).
   */
  catchUp(lastEventId: number, through = this.log.lastId): CatchUp {
    const events = this.log.after(lastEventId, through);
    return events ? { kind: 'replay', events } : { kind: 'reset' };
  }

  /** Up to `limit` (at most RECENT_EVENTS_MAX) fleet events, newest first, without job progress. */
  recent(limit: number): FleetEvent[] {
    const count = Math.min(Math.max(limit, 0), RECENT_EVENTS_MAX, this.recentEvents.length);
    const start = this.recentEvents.length - count;
    return this.recentEvents.slice(start).reverse();
  }

  /** Calls `listener` with every event from now on, synchronously; returns the unsubscribe function. */
  subscribe(listener: FleetEventListener): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  private record(type: FleetEventType, payload: unknown): void {
    try {
      const id = this.log.nextId;
      const at = new Date(this.clock.now()).toISOString();
      const data = fleetEventData(id, type, at, (payload ?? {}) as Record<string, unknown>);
      const event: FleetEvent = { id, type, at, data, json: JSON.stringify(data) };
      this.log.append(event);
      if (!HIGH_FREQUENCY_EVENT_TYPES.includes(type)) this.remember(event);
      for (const listener of this.listeners) {
        try {
          listener(event);
        } catch (error) {
          this.logger.error(`A ${type} event listener failed: ${(error as Error).message}`);
        }
      }
    } catch (error) {
      // Never into the emitter: an event stream problem must not fail a dispatch or a pod termination.
      this.logger.error(`Could not record the ${type} event: ${(error as Error).message}`);
    }
  }

  private remember(event: FleetEvent): void {
    this.recentEvents.push(event);
    // Trimmed in batches, so keeping the list bounded costs O(1) per event.
    if (this.recentEvents.length >= RECENT_EVENTS_MAX * 2)
      this.recentEvents = this.recentEvents.slice(-RECENT_EVENTS_MAX);
  }
}
