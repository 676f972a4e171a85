import { Injectable, Logger } from '@nestjs/common';
import { ComfyUiClient } from './comfyui-client';
import type { ComfyUiClientOptions } from './comfyui.types';

/**
 * How Nest services get a `ComfyUiClient` for a server URL (local workers, pods, tests pointing at the fake).
 * Clients hold no connection between calls, so creating one per use is cheap; nothing needs closing.
 */
@Injectable()
export class ComfyUiClientFactory {
  private readonly logger = new Logger('ComfyUiClient');

  /** A client for `baseUrl` (e.g. `http://127.0.0.1:8188`), with the factory's logger unless `options` brings one. */
  create(baseUrl: string, options: ComfyUiClientOptions = {}): ComfyUiClient {
    return new ComfyUiClient(baseUrl, { logger: this.logger, ...options });
  }
}
