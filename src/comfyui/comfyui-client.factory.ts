import { Inject, Injectable, Logger, type OnApplicationShutdown, Optional } from '@nestjs/common';
import type { OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import { ComfyUiClient } from './comfyui-client';
import { ComfySocketHubs } from './comfyui-socket-hub';
import type { ComfyCallObserver } from './comfyui-http';
import type { ComfyUiClientOptions } from './comfyui.types';

/** Optional provider: told about every ComfyUI HTTP call made by the factory's clients (the core's metrics). */
export const COMFY_CALL_OBSERVER = Symbol('COMFY_CALL_OBSERVER');

/**
 * How Nest services get a `ComfyUiClient` for a server URL (local workers, pods, tests pointing at the fake).
 * Creating one per use is cheap: HTTP connections are pooled process-wide, and the clients of one server share
 * one websocket (the factory's socket hubs), closed when the application shuts down.
 *
 * Whoever owns a server's URL may hold its connections to address rules of its own (`useAddressPolicy`; the
 * local workers' LOCAL_WORKER_ALLOWED_NETWORKS): every client the factory makes for that URL, for jobs and
 * health checks alike, connects through them. Other URLs get the rules' defaults.
 */
@Injectable()
export class ComfyUiClientFactory implements OnApplicationShutdown {
  private readonly logger = new Logger('ComfyUiClient');
  private readonly socketHubs = new ComfySocketHubs();
  private readonly addressPolicies = new Map<string, OutboundAddressPolicy>();

  constructor(@Optional() @Inject(COMFY_CALL_OBSERVER) private readonly callObserver?: ComfyCallObserver) {}

  /** A client for `baseUrl` (e.g. `http://127.0.0.1:8188`), with the factory's logger unless `options` brings one. */
  create(baseUrl: string, options: ComfyUiClientOptions = {}): ComfyUiClient {
    return new ComfyUiClient(baseUrl, {
      logger: this.logger,
      socketHubs: this.socketHubs,
      addressPolicy: this.addressPolicies.get(urlKey(baseUrl)),
      onHttpCall: this.callObserver,
      ...options,
    });
  }

  /** Clients for `baseUrl` connect through `policy` from now on; `undefined` goes back to the defaults. */
  useAddressPolicy(baseUrl: string, policy: OutboundAddressPolicy | undefined): void {
    if (policy) this.addressPolicies.set(urlKey(baseUrl), policy);
    else this.addressPolicies.delete(urlKey(baseUrl));
  }

  /** After the dispatcher's shutdown grace (beforeApplicationShutdown), so running jobs keep their events. */
  onApplicationShutdown(): void {
    this.socketHubs.closeAll();
  }
}

function urlKey(baseUrl: string): string {
  return baseUrl.replace(/\/+$/, '');
}
