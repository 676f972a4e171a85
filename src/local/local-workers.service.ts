import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { EventEmitter2 } from '@nestjs/event-emitter';
import { SchedulerRegistry } from '@nestjs/schedule';
import { createHash, timingSafeEqual } from 'node:crypto';
import { Clock } from '../common/clock';
import { startLoop } from '../common/loop';
import { ConflictError, InvalidInputError, NotFoundError } from '../common/domain-errors';
import { NetworkAllowlist } from '../common/net/network-allowlist';
import { OutboundAddressError, OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import { redactedUrl } from '../common/net/redacted-url';
import { ComfyUiClientFactory } from '../comfyui/comfyui-client.factory';
import { ComfyUiHealthProbe } from '../comfyui/comfyui-health';
import type { ComfySystemStats } from '../comfyui/comfyui.types';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { LocalWorkerEntity } from '../persistence/entities/local-worker.entity';
import { LocalWorkerStateEntity } from '../persistence/entities/local-worker-state.entity';
import { LeaderElection } from '../persistence/leader-election.service';
import { EnrolmentTokensRepository } from '../persistence/enrolment-tokens.repository';
import { LocalWorkersRepository } from '../persistence/local-workers.repository';
import { fetchCapabilities, type WorkerCapabilities } from '../workflows';
import { newWorkerKey, secretHash } from './enrolment/enrolment-secrets';
import { LOCAL_WORKER_CHANGED, type LocalWorkerChangedEvent } from './local-worker.events';
import {
  DEFAULT_CONTROLS,
  drainOutcome,
  type LocalWorkerControls,
  type LocalWorkerState,
  patchControls,
  stateOf,
  takesNewJobs,
} from './local-worker-state';

export interface LocalWorker {
  id: string;
  name: string;
  url: string;
  /** `env` = from LOCAL_COMFYUI_URLS; `api` = registered through POST /api/local/workers (persisted). */
  source: 'env' | 'api';
  maxConcurrent: number;
  healthy: boolean;
  /** Jobs running on it now. */
  running: number;
  jobsCompleted: number;
  lastCheckedAt: number | null;
  lastError: string | null;
  /** The operator's control (PATCH): active, disabled or draining. See local-worker-state.ts. */
  state: LocalWorkerState;
  /** Its primary device as `/system_stats` last reported it; null until it has answered once. */
  gpu: LocalWorkerGpu | null;
  /** The installer's id of the machine (registered by the installer only). */
  machineId?: string;
  /** What the machine said about itself when it registered (installer only). */
  reported?: ReportedMachine;
}

/** The GPU as the installer detected it on the machine (before ComfyUI ran). */
export interface ReportedGpu {
  name?: string | null;
  vramBytes?: number | null;
  driver?: string | null;
  cudaVersion?: string | null;
  kind?: string | null;
}

export interface ReportedMachine {
  gpu: ReportedGpu | null;
  models: string[];
}

/** What a registration carries: the API's fields, plus what the installer adds. */
export interface LocalWorkerRegistration {
  url: string;
  name?: string;
  maxConcurrent?: number;
  machineId?: string;
  reported?: ReportedMachine;
  /** Set when the caller authenticated with an enrolment token: it is consumed by this registration. */
  enrolmentTokenHash?: string;
  /**
   * The worker key the installer kept from an earlier install of this machine: proves, with an enrolment token,
   * that the caller owns the registration it replaces. A secret: never logged or echoed.
   */
  previousWorkerKey?: string;
}

/** Constant-time comparison of two hex SHA-256 hashes (false when the stored one is absent). */
function sameHash(candidate: string, stored: string | null): boolean {
  if (stored === null || stored.length !== candidate.length) return false;
  return timingSafeEqual(Buffer.from(candidate, 'utf8'), Buffer.from(stored, 'utf8'));
}

/** The enrolment token was used (or expired) between the guard's check and this registration. */
export class EnrolmentTokenSpentError extends Error {
  constructor() {
    super('This enrolment token has already been used or has expired: create a new one');
    this.name = 'EnrolmentTokenSpentError';
  }
}

function parseReported(stored: string | null): ReportedMachine | undefined {
  if (!stored) return undefined;
  try {
    return JSON.parse(stored) as ReportedMachine;
  } catch {
    return undefined;
  }
}

export interface LocalWorkerGpu {
  /** ComfyUI's device name, e.g. "cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync". */
  name: string | null;
  /** torch device type: cuda, mps, cpu... */
  type: string | null;
  vramTotalBytes: number | null;
  vramFreeBytes: number | null;
}

/** The first device `/system_stats` lists is the one ComfyUI runs on (reference/comfyui.md). */
function primaryGpu(stats: ComfySystemStats): LocalWorkerGpu | null {
  const device = stats.devices[0];
  if (!device) return null;
  return {
    name: device.name ?? null,
    type: device.type ?? null,
    vramTotalBytes: device.vramTotal ?? null,
    vramFreeBytes: device.vramFree ?? null,
  };
}

/** Emitted when a worker has a free slot again (after a job or on recovering), so dispatch runs at once. */
export const LOCAL_WORKER_FREED = 'localWorkerFreed';

const HEALTH_INTERVAL = 'local-workers-health';
const CAPABILITIES_INTERVAL = 'local-workers-capabilities';
/** Bound on one capability read (/object_info of a ComfyUI with many custom nodes takes seconds). */
const CAPABILITIES_TIMEOUT_MS = 120_000;
/** How long a worker's health check waits for its first capability read (the read itself goes on). */
const FIRST_CAPABILITIES_WAIT_MS = 10_000;

/** Resolves when `promise` settles or after `ms`, whichever is first (the timer does not hold the process). */
function withinMs(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A registration by the installer: the id follows the machine, whatever URL it comes back with. */
export function machineWorkerId(machineId: string): string {
  return `local-${createHash('sha256').update(`machine:${machineId}`).digest('hex').slice(0, 10)}`;
}

/** A stable id from the URL, so a restart (or a reordered LOCAL_COMFYUI_URLS) keeps jobs attached to the same server. */
export function localWorkerId(url: string): string {
  return `local-${createHash('sha256').update(url).digest('hex').slice(0, 10)}`;
}

/**
 * The local ComfyUI servers: from LOCAL_COMFYUI_URLS plus those registered at run time. A health tick
 * probes each; an unhealthy worker gets no work until it answers again. Logs only on state changes.
 *
 * Every worker URL is held to the outbound address rules (src/common/net) with LOCAL_WORKER_ALLOWED_NETWORKS:
 * a registration is checked (host name resolved) before anything contacts it, and every connection to a
 * worker (health checks, jobs, websockets) checks the address it connects to, so DNS rebinding after the
 * check does not get through.
 */
@Injectable()
export class LocalWorkersService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger('LocalWorkers');
  private readonly workers = new Map<string, LocalWorker>();
  private checking: Promise<void> | null = null;
  private readonly addressPolicy: OutboundAddressPolicy;
  /** Workers whose stored URL the rules refuse (rows saved before the rules existed): listed, never contacted. */
  private readonly refused = new Map<string, string>();
  /** Operator controls by worker id (absent = DEFAULT_CONTROLS), mirrored from local_worker_states. */
  private readonly controls = new Map<string, LocalWorkerControls>();
  /** Bumped by every local change of controls, so a database sync that raced one does not undo it. */
  private controlsVersion = 0;
  /** Each worker's last good capabilities (absent = unknown: routing lets it take anything). */
  private readonly capabilities = new Map<string, WorkerCapabilities>();
  /** Capability reads in flight, one per worker. */
  private readonly reading = new Map<string, Promise<void>>();
  /** The normalized primary model (`primaryModel`) of the last job started on each worker. */
  private readonly lastModels = new Map<string, string>();

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly repository: LocalWorkersRepository,
    private readonly probe: ComfyUiHealthProbe,
    private readonly clock: Clock,
    private readonly scheduler: SchedulerRegistry,
    private readonly events: EventEmitter2,
    private readonly clients: ComfyUiClientFactory,
    private readonly leader: LeaderElection,
    private readonly enrolmentTokens: EnrolmentTokensRepository,
  ) {
    // LOCAL_WORKER_ALLOWED_NETWORKS was validated when the configuration was loaded.
    this.addressPolicy = new OutboundAddressPolicy({
      allowlist: new NetworkAllowlist(config.local.allowedNetworks),
      allowlistName: 'LOCAL_WORKER_ALLOWED_NETWORKS',
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    for (const url of this.config.local.urls) {
      this.add({
        id: localWorkerId(url),
        name: new URL(url).host,
        url,
        source: 'env',
        maxConcurrent: this.config.local.concurrency,
      });
    }
    for (const row of await this.repository.findAll()) {
      this.add({ id: row.id, name: row.name, url: row.url, source: 'api', maxConcurrent: row.maxConcurrent });
      this.setMachine(this.workers.get(row.id)!, row);
    }
    await this.syncControls();
    await this.checkHealth();
    startLoop(
      this.scheduler,
      HEALTH_INTERVAL,
      this.config.local.healthIntervalMs,
      () => this.tick(),
      this.logger,
    );
    startLoop(
      this.scheduler,
      CAPABILITIES_INTERVAL,
      this.config.local.capabilitiesIntervalMs,
      () => this.refreshAllCapabilities(),
      this.logger,
    );
  }

  onApplicationShutdown(): void {
    if (this.scheduler.doesExist('interval', HEALTH_INTERVAL)) this.scheduler.deleteInterval(HEALTH_INTERVAL);
    if (this.scheduler.doesExist('interval', CAPABILITIES_INTERVAL))
      this.scheduler.deleteInterval(CAPABILITIES_INTERVAL);
  }

  /** What the worker can run, as last read from it; undefined until a read succeeded (treat as "anything"). */
  capabilitiesOf(id: string): WorkerCapabilities | undefined {
    return this.capabilities.get(id);
  }

  /**
   * Records the primary model of a job started on a worker: the next job with it there skips a model load. A job
   * without one (no checkpoint) leaves the last one: ComfyUI keeps a model loaded until another replaces it.
   */
  noteModel(id: string, model: string | undefined): void {
    if (model !== undefined && this.workers.has(id)) this.lastModels.set(id, model);
  }

  /** The primary model of the last job started on the worker (likely still loaded), if known. */
  lastModelOf(id: string): string | undefined {
    return this.lastModels.get(id);
  }

  /**
   * Reads a worker's node classes and model lists again (`fetchCapabilities`). A failed read keeps the last good
   * capabilities; overlapping calls for one worker share the read in progress. Never throws.
   */
  refreshCapabilities(id: string): Promise<void> {
    const running = this.reading.get(id);
    if (running) return running;
    const worker = this.workers.get(id);
    if (!worker || this.refused.has(id)) return Promise.resolve();
    const url = worker.url;
    const read = fetchCapabilities(this.clients.create(url), {
      signal: AbortSignal.timeout(CAPABILITIES_TIMEOUT_MS),
      now: () => this.clock.now(),
    })
      .then((capabilities) => {
        // Removed or re-registered elsewhere meanwhile: this read describes a server it no longer is.
        if (this.workers.get(id)?.url !== url) return;
        const before = this.capabilities.get(id);
        this.capabilities.set(id, capabilities);
        if (!before)
          this.logger.log(
            `Local worker ${worker.name} (${id}): ${capabilities.nodeClasses.length} node classes, ` +
              `${Object.values(capabilities.models).reduce((n, files) => n + files.length, 0)} model files`,
          );
        // Jobs that waited for a capable worker may fit now.
        if (this.workers.get(id)?.healthy) this.events.emit(LOCAL_WORKER_FREED, { workerId: id });
      })
      .catch((error: unknown) => {
        this.logger.warn(
          `Could not read what local worker ${worker.name} (${id}) can run; keeping what was known: ` +
            (error as Error).message,
        );
      })
      .finally(() => this.reading.delete(id));
    this.reading.set(id, read);
    return read;
  }

  private async refreshAllCapabilities(): Promise<void> {
    await Promise.all(
      [...this.workers.values()].filter((w) => w.healthy).map((w) => this.refreshCapabilities(w.id)),
    );
  }

  list(): LocalWorker[] {
    return [...this.workers.values()].map((worker) => ({ ...worker }));
  }

  get(id: string): LocalWorker | undefined {
    const worker = this.workers.get(id);
    return worker ? { ...worker } : undefined;
  }

  /**
   * Registers a ComfyUI server (persisted). With a machine id (the installer sends one) a registration of that
   * machine, or failing that an anonymous one (no machine id) at the same URL, is replaced in place, keeping its
   * id, instead of adding a duplicate. The admin key may replace any; an enrolment token only a row whose key the
   * caller proves with `previousWorkerKey` (or a keyless one at its URL): a machine id is not a secret, so a
   * token alone must not take over another machine's registration (see replaceableBy). With an enrolment token
   * the token is consumed atomically here, after every check passed and before anything is stored; if storing
   * fails the token is released so the installer can retry. Answers the worker and its new key (the only copy:
   * stored hashed), which may remove this registration only.
   */
  async register(input: LocalWorkerRegistration): Promise<{ worker: LocalWorker; workerKey: string }> {
    const { url, name, maxConcurrent, machineId, reported, enrolmentTokenHash, previousWorkerKey } = input;
    try {
      // Before anything contacts it: a refused URL must not even be probed (that would make this a port scanner).
      await this.addressPolicy.checkUrlResolved(url);
    } catch (error) {
      if (!(error instanceof OutboundAddressError)) throw error;
      throw new InvalidInputError(`url ${error.message}`);
    }
    const normalized = url.replace(/\/+$/, '');
    const tokenOnly = enrolmentTokenHash !== undefined;
    const previous = machineId
      ? await this.previousRegistration(machineId, normalized, tokenOnly, previousWorkerKey)
      : null;
    const id = previous?.id ?? (machineId ? machineWorkerId(machineId) : localWorkerId(normalized));
    const holder = [...this.workers.values()].find((worker) => worker.url === normalized);
    if (holder && holder.id !== id)
      throw new ConflictError(`A local worker with url ${normalized} is already registered (${holder.id})`);
    if (!previous && this.workers.has(id))
      throw new ConflictError(`A local worker with url ${normalized} is already registered (${id})`);
    if (enrolmentTokenHash && !(await this.enrolmentTokens.consume(enrolmentTokenHash, this.clock.now())))
      throw new EnrolmentTokenSpentError();
    const workerKey = newWorkerKey();
    const row = Object.assign(new LocalWorkerEntity(), {
      id,
      name: name ?? new URL(normalized).host,
      url: normalized,
      maxConcurrent: maxConcurrent ?? this.config.local.concurrency,
      createdAt: previous?.createdAt ?? this.clock.now(),
      machineId: machineId ?? previous?.machineId ?? null,
      workerKeyHash: secretHash(workerKey),
      reported: reported ? JSON.stringify(reported) : null,
    });
    try {
      if (previous) {
        // Conditional on the key the decision above saw: a concurrent re-registration of this row wins once.
        if (!(await this.repository.replace(row, previous.workerKeyHash)))
          throw new ConflictError(`Local worker ${id} changed while it was being re-registered: try again`);
      } else await this.repository.insert(row);
    } catch (error) {
      if (enrolmentTokenHash) await this.enrolmentTokens.release(enrolmentTokenHash);
      throw error;
    }
    // Bookkeeping only (which worker the token made): the worker is stored and the installer must get its key.
    if (enrolmentTokenHash)
      await this.enrolmentTokens.recordWorker(enrolmentTokenHash, id).catch((error: unknown) => {
        this.logger.warn(
          `Local worker ${id} registered, but its enrolment token could not be linked to it (${(error as Error).name})`,
        );
      });
    const stale = this.workers.get(id);
    if (stale) this.replaceInMemory(stale, row);
    else this.add({ id, name: row.name, url: row.url, source: 'api', maxConcurrent: row.maxConcurrent });
    this.setMachine(this.workers.get(id)!, row);
    if (previous) this.logger.log(`Local worker ${row.name} (${id}) re-registered by its machine; replaced`);
    await this.checkOne(this.workers.get(id)!);
    return { worker: this.get(id)!, workerKey };
  }

  /**
   * The row a registration with `machineId` replaces, or null for a new one. The one with that machine id: the
   * admin key replaces it as is; an enrolment token only with `previousWorkerKey` matching it, else 409 (a
   * machine id is no secret: it is in /etc/machine-id, a support bundle...). Failing that, the row at the same
   * URL, only if it belongs to no machine (a row of another machine id is never taken over through its URL) and,
   * for a token, has no key or the caller proves it. A row not replaced here still conflicts on its URL below.
   */
  private async previousRegistration(
    machineId: string,
    url: string,
    tokenOnly: boolean,
    previousWorkerKey: string | undefined,
  ): Promise<LocalWorkerEntity | null> {
    const proves = (row: LocalWorkerEntity) =>
      previousWorkerKey !== undefined && sameHash(secretHash(previousWorkerKey), row.workerKeyHash);
    const sameMachine = await this.repository.findByMachineId(machineId);
    if (sameMachine) {
      if (!tokenOnly || proves(sameMachine)) return sameMachine;
      throw new ConflictError(
        `Local worker ${sameMachine.id} is already registered for this machine id, and the registration did not ` +
          "prove it holds that worker's key (previousWorkerKey): uninstall on that machine first, or have an " +
          'admin delete the worker, then install again',
      );
    }
    const atUrl = await this.repository.findByUrl(url);
    if (!atUrl || atUrl.machineId !== null) return null;
    if (tokenOnly && atUrl.workerKeyHash !== null && !proves(atUrl)) return null;
    return atUrl;
  }

  /** A re-registration of a known machine: new URL, name and slots; running jobs keep their slots. */
  private replaceInMemory(worker: LocalWorker, row: LocalWorkerEntity): void {
    if (worker.url !== row.url) this.clients.useAddressPolicy(worker.url, undefined);
    this.refused.delete(worker.id);
    this.clients.useAddressPolicy(row.url, this.addressPolicy);
    Object.assign(worker, {
      name: row.name,
      url: row.url,
      maxConcurrent: row.maxConcurrent,
      healthy: false,
      lastError: null,
      lastCheckedAt: null,
      gpu: null,
    });
    // A re-installed machine may have other models: read again once it answers.
    this.capabilities.delete(worker.id);
    this.lastModels.delete(worker.id);
    this.emitChanged(worker.id, 'added');
  }

  private setMachine(worker: LocalWorker, row: LocalWorkerEntity): void {
    worker.machineId = row.machineId ?? undefined;
    worker.reported = parseReported(row.reported);
  }

  async remove(id: string): Promise<void> {
    const worker = this.workers.get(id);
    if (!worker) throw new NotFoundError(`No local worker ${id}`);
    if (worker.source === 'env') {
      throw new ConflictError(
        `Local worker ${id} comes from LOCAL_COMFYUI_URLS; remove it there and restart`,
      );
    }
    await this.repository.delete(id);
    this.workers.delete(id);
    this.controls.delete(id);
    this.capabilities.delete(id);
    this.lastModels.delete(id);
    this.emitChanged(id, 'removed');
    this.refused.delete(id);
    this.clients.useAddressPolicy(worker.url, undefined);
    this.logger.log(`Local worker ${worker.name} (${id}) removed`);
  }

  /** Healthy workers with a free slot, least loaded first, skipping `exclude`. */
  available(exclude: readonly string[] = []): LocalWorker[] {
    return [...this.workers.values()]
      .filter(
        (worker) =>
          worker.healthy &&
          takesNewJobs(worker.state) &&
          worker.running < worker.maxConcurrent &&
          !exclude.includes(worker.id),
      )
      .sort((a, b) => a.running / a.maxConcurrent - b.running / b.maxConcurrent)
      .map((worker) => ({ ...worker }));
  }

  /** Takes a slot on a worker for one job; false if it has none free (or is unhealthy, disabled or draining). */
  reserve(id: string): boolean {
    const worker = this.workers.get(id);
    if (!worker || !worker.healthy || !takesNewJobs(worker.state) || worker.running >= worker.maxConcurrent)
      return false;
    worker.running++;
    return true;
  }

  /** Re-attaching a job after a restart: the slot is taken whatever the health says. */
  reserveForReattach(id: string): boolean {
    const worker = this.workers.get(id);
    if (!worker) return false;
    worker.running++;
    return true;
  }

  release(id: string, completed: boolean): void {
    const worker = this.workers.get(id);
    if (!worker) return;
    worker.running = Math.max(0, worker.running - 1);
    if (completed) worker.jobsCompleted++;
    this.events.emit(LOCAL_WORKER_FREED, { workerId: id });
    if (worker.state === 'draining') void this.finishDrainIfIdle(id);
  }

  /**
   * Enables, disables or drains a worker (a PATCH: only the fields given change); persisted, so it survives a
   * restart and reaches the other instances at their next health tick. Answers the worker as it is now: an idle
   * draining worker has already left (a registered one is removed, an env one is disabled).
   */
  async setControls(id: string, patch: Partial<LocalWorkerControls>): Promise<LocalWorker> {
    const worker = this.workers.get(id);
    if (!worker) throw new NotFoundError(`No local worker ${id}`);
    const next = patchControls(this.controlsOf(id), patch);
    await this.saveControls(id, next);
    this.applyControls(worker, next);
    this.logger.log(`Local worker ${worker.name} (${id}) is now ${worker.state}`);
    const snapshot = { ...worker };
    const after = await this.finishDrainIfIdle(id);
    return after ?? snapshot;
  }

  /** A periodic pass: pick up controls set on other instances, finish drains, then probe health. */
  private async tick(): Promise<void> {
    try {
      await this.syncControls();
    } catch (error) {
      this.logger.warn(`Could not read local worker states: ${(error as Error).message}`);
    }
    await this.checkHealth();
  }

  /**
   * Reads local_worker_states (another instance may have changed them) and ends drains that are over. Only the
   * leader ends drains: it runs the dispatcher, so only its running counts are real (another instance's are 0).
   */
  private async syncControls(): Promise<void> {
    const version = this.controlsVersion;
    const rows = await this.repository.findAllStates();
    if (version === this.controlsVersion) {
      const stored = new Map(
        rows.map((row) => [row.workerId, { enabled: row.enabled, draining: row.draining }]),
      );
      for (const worker of this.workers.values()) {
        const controls = stored.get(worker.id) ?? DEFAULT_CONTROLS;
        if (stateOf(controls) !== worker.state) this.applyControls(worker, controls);
        else this.controls.set(worker.id, { ...controls });
      }
    }
    for (const worker of [...this.workers.values()]) {
      if (worker.state === 'draining') await this.finishDrainIfIdle(worker.id);
    }
  }

  /** Ends the drain of an idle worker (leader only); returns the worker as it is afterwards, or null if kept. */
  private async finishDrainIfIdle(id: string): Promise<LocalWorker | null> {
    const worker = this.workers.get(id);
    if (!worker || !this.leader.isLeader()) return null;
    const outcome = drainOutcome(this.controlsOf(id), worker.source, worker.running);
    if (outcome === 'keep') return null;
    try {
      if (outcome === 'remove') {
        const last = { ...worker };
        await this.remove(id);
        this.logger.log(`Local worker ${worker.name} (${id}) drained and removed`);
        return last;
      }
      // An env worker cannot leave LOCAL_COMFYUI_URLS at run time: its drain ends with it disabled.
      const disabled = { enabled: false, draining: false };
      await this.saveControls(id, disabled);
      this.applyControls(worker, disabled);
      this.logger.log(`Local worker ${worker.name} (${id}) drained; disabled (it is in LOCAL_COMFYUI_URLS)`);
      return { ...worker };
    } catch (error) {
      if (error instanceof NotFoundError) return null; // removed meanwhile
      this.logger.warn(`Could not finish draining local worker ${id}: ${(error as Error).message}`);
      return null;
    }
  }

  private controlsOf(id: string): LocalWorkerControls {
    return this.controls.get(id) ?? { ...DEFAULT_CONTROLS };
  }

  private async saveControls(id: string, controls: LocalWorkerControls): Promise<void> {
    this.controlsVersion++;
    await this.repository.saveState(
      Object.assign(new LocalWorkerStateEntity(), { workerId: id, ...controls, updatedAt: this.clock.now() }),
    );
    this.controlsVersion++;
  }

  private applyControls(worker: LocalWorker, controls: LocalWorkerControls): void {
    this.controls.set(worker.id, { ...controls });
    const state = stateOf(controls);
    if (state === worker.state) return;
    worker.state = state;
    this.emitChanged(worker.id, 'state');
    // Enabled again: dispatch at once instead of at the next interval.
    if (takesNewJobs(state)) this.events.emit(LOCAL_WORKER_FREED, { workerId: worker.id });
  }

  /** A job lost its worker mid-run: mark it unhealthy now instead of waiting for the next health tick. */
  markUnhealthy(id: string, reason: string): void {
    const worker = this.workers.get(id);
    if (!worker || !worker.healthy) return;
    worker.healthy = false;
    worker.lastError = reason;
    this.emitChanged(id, 'health');
    this.logger.warn(`Local worker ${worker.name} (${id}) marked unhealthy: ${reason}`);
  }

  /** Probes every worker; overlapping calls share the pass in progress. */
  checkHealth(): Promise<void> {
    this.checking ??= Promise.all([...this.workers.values()].map((worker) => this.checkOne(worker)))
      .then(() => undefined)
      .finally(() => (this.checking = null));
    return this.checking;
  }

  private async checkOne(worker: LocalWorker): Promise<void> {
    const refusal = this.refused.get(worker.id);
    const stats = refusal ? null : await this.probe.systemStats(worker.url, 5000);
    const healthy = stats !== null;
    worker.lastCheckedAt = this.clock.now();
    if (stats) worker.gpu = primaryGpu(stats);
    if (healthy === worker.healthy) return;
    worker.healthy = healthy;
    worker.lastError = healthy ? null : (refusal ?? 'GET /system_stats did not answer');
    this.emitChanged(worker.id, 'health');
    if (healthy) {
      this.logger.log(`Local worker ${worker.name} (${worker.url}) is healthy`);
      // Its models may have changed while it was away (a restarted ComfyUI). The first read is awaited (a
      // while at most), so at start and on registration routing knows what the worker has before its first job.
      const read = this.refreshCapabilities(worker.id);
      if (!this.capabilities.has(worker.id)) await withinMs(read, FIRST_CAPABILITIES_WAIT_MS);
      this.events.emit(LOCAL_WORKER_FREED, { workerId: worker.id });
    } else {
      this.logger.warn(
        `Local worker ${worker.name} (${worker.url}) is not answering; it gets no work until it does`,
      );
    }
  }

  private add(
    worker: Omit<
      LocalWorker,
      'healthy' | 'running' | 'jobsCompleted' | 'lastCheckedAt' | 'lastError' | 'state' | 'gpu'
    >,
  ): void {
    if (this.workers.has(worker.id)) return;
    let refusal: string | null = null;
    try {
      this.addressPolicy.checkUrl(worker.url);
    } catch (error) {
      refusal = `url ${(error as Error).message}; remove this worker and register it again`;
      this.refused.set(worker.id, refusal);
      this.logger.warn(`Local worker ${worker.name} (${worker.id}) is never contacted: ${refusal}`);
    }
    if (!refusal) this.clients.useAddressPolicy(worker.url, this.addressPolicy);
    this.workers.set(worker.id, {
      ...worker,
      // A stored URL may carry credentials (saved before they were refused); they are never shown.
      url: refusal ? redactedUrl(worker.url) : worker.url,
      healthy: false,
      running: 0,
      jobsCompleted: 0,
      lastCheckedAt: null,
      lastError: refusal,
      state: stateOf(this.controlsOf(worker.id)),
      gpu: null,
    });
    this.emitChanged(worker.id, 'added');
  }

  private emitChanged(workerId: string, change: LocalWorkerChangedEvent['change']): void {
    const event: LocalWorkerChangedEvent = { workerId, change };
    this.events.emit(LOCAL_WORKER_CHANGED, event);
  }
}
