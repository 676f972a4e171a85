import { Inject, Injectable, Logger } from '@nestjs/common';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { GPU_TYPES } from '../config/gpu-catalog';
import { type GpuStockStatus, type GpuTypeInfo, PODS_API, type PodsApi } from '../runpod/pods-api';

/** One row of the GPU picker. Prices are RunPod's list price in USD/h for one GPU; null when unknown. */
export interface GpuTypeOffer {
  id: string;
  displayName: string;
  memoryInGb: number | null;
  securePricePerHr: number | null;
  communityPricePerHr: number | null;
  /** Stock in our cloud (RUNPOD_CLOUD_TYPE) is above NONE; null when RunPod did not say (or was not asked). */
  available: boolean | null;
  stockStatus: GpuStockStatus | null;
}

export interface GpuTypeCatalog {
  /** `runpod`: RunPod answered (possibly a few seconds ago); `static`: our built-in table, without prices. */
  source: 'runpod' | 'static';
  /** When this list was read from RunPod or built (ISO). */
  fetchedAt: string;
  /** Why the static table is shown, when it is (never contains the key). */
  reason: string | null;
  gpuTypes: GpuTypeOffer[];
}

/** A RunPod answer is reused this long: the picker is opened often, prices and stock change slowly. */
export const GPU_TYPES_CACHE_MS = 60_000;
/** After a failure, RunPod is asked again no sooner than this (a dashboard must not hammer a failing API). */
export const GPU_TYPES_FAILURE_CACHE_MS = 15_000;
/**
 * How long a request waits for RunPod before answering with the static table. RunPod calls retry with back-off
 * (RUNPOD_MAX_RETRIES) and can take minutes when RunPod is down; the call goes on in the background and fills
 * the cache if it succeeds.
 */
export const GPU_TYPES_WAIT_MS = 5_000;

/** The order of the picker: small to large memory, then by name. */
function byMemoryThenName(a: GpuTypeOffer, b: GpuTypeOffer): number {
  return (a.memoryInGb ?? Infinity) - (b.memoryInGb ?? Infinity) || a.displayName.localeCompare(b.displayName);
}

export function offerFromRunPod(info: GpuTypeInfo): GpuTypeOffer {
  const stockStatus = info.stockStatus ?? null;
  return {
    id: info.id,
    displayName: info.displayName,
    memoryInGb: info.memoryInGb,
    securePricePerHr: info.pricePerHourByCloud.SECURE,
    communityPricePerHr: info.pricePerHourByCloud.COMMUNITY,
    available: stockStatus === null ? null : stockStatus !== 'NONE',
    stockStatus,
  };
}

export function staticOffers(): GpuTypeOffer[] {
  return GPU_TYPES.map((g) => ({
    id: g.id,
    displayName: g.displayName,
    memoryInGb: g.memoryInGb,
    securePricePerHr: null,
    communityPricePerHr: null,
    available: null,
    stockStatus: null,
  })).sort(byMemoryThenName);
}

/**
 * RunPod's GPU catalogue for the spawn picker: prices per cloud and stock in our cloud, cached briefly and shared
 * by concurrent callers. When RunPod cannot be asked (no RUNPOD_API_KEY, an error, or no answer within
 * GPU_TYPES_WAIT_MS) it answers our static table (gpu-catalog.ts) with null prices and says so in `source`.
 */
@Injectable()
export class GpuTypesService {
  private readonly logger = new Logger('GpuTypes');
  private cached: { catalog: GpuTypeCatalog; until: number } | null = null;
  private inFlight: Promise<GpuTypeCatalog> | null = null;

  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    @Inject(PODS_API) private readonly podsApi: PodsApi,
    private readonly clock: Clock,
  ) {}

  async list(): Promise<GpuTypeCatalog> {
    if (!this.config.runpod.apiKey) return this.fallback('RUNPOD_API_KEY is not set');
    if (this.cached && this.clock.now() < this.cached.until) return this.cached.catalog;
    this.inFlight ??= this.fetch().finally(() => (this.inFlight = null));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<GpuTypeCatalog>((resolve) => {
      timer = setTimeout(
        () => resolve(this.fallback(`RunPod did not answer within ${GPU_TYPES_WAIT_MS / 1000} s`)),
        GPU_TYPES_WAIT_MS,
      );
      timer.unref();
    });
    try {
      return await Promise.race([this.inFlight, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Never rejects: a failure is cached briefly as the static table. */
  private async fetch(): Promise<GpuTypeCatalog> {
    try {
      const types = await this.podsApi.listGpuTypes({ withStockIn: this.config.runpod.cloudType });
      const catalog: GpuTypeCatalog = {
        source: 'runpod',
        fetchedAt: this.clock.date().toISOString(),
        reason: null,
        gpuTypes: types.map(offerFromRunPod).sort(byMemoryThenName),
      };
      this.cached = { catalog, until: this.clock.now() + GPU_TYPES_CACHE_MS };
      return catalog;
    } catch (error) {
      // RunPod errors carry no key (runpod.errors.ts); the message tells the operator what went wrong.
      const reason = `RunPod's GPU catalogue could not be read: ${(error as Error).message}`;
      this.logger.warn(reason);
      const catalog = this.fallback(reason);
      this.cached = { catalog, until: this.clock.now() + GPU_TYPES_FAILURE_CACHE_MS };
      return catalog;
    }
  }

  private fallback(reason: string): GpuTypeCatalog {
    return { source: 'static', fetchedAt: this.clock.date().toISOString(), reason, gpuTypes: staticOffers() };
  }
}
