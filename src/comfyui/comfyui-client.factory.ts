import { Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { ComfyUiClient } from './comfyui-client';
import { ComfySocketHubs } from './comfyui-socket-hub';
import type { ComfyUiClientOptions } from './comfyui.types';

/**
 * How Nest services get a `ComfyUiClient` for a server URL (local workers, pods, tests pointing at the fake).
 * Creating one per use is cheap: HTTP connections are pooled process-wide, and the clients of one server share
 * one websocket (the factory's socket hubs), closed when the application shuts down.
 */
@Injectable()
export class ComfyUiClientFactory implements OnApplicationShutdown {
  private readonly logger = new Logger('ComfyUiClient');
  private readonly socketHubs = new ComfySocketHubs();

  /** A client for `baseUrl` (e.g. `http://127.0.0.1:8188`), with the factory's logger unless `options` brings one. */
  create(baseUrl: string, options: ComfyUiClientOptions = {}): ComfyUiClient {
    return new ComfyUiClient(baseUrl, { logger: this.logger, socketHubs: this.socketHubs, ...options });
  }

  /** After the dispatcher's shutdown grace (beforeApplicationShutdown), so running jobs keep their events. */
  onApplicationShutdown(): void {
    this.socketHubs.closeAll();
  }
}
