import { Injectable, Optional } from '@nestjs/common';
import { ComfyUiClient } from './comfyui-client';
import { ComfyUiClientFactory } from './comfyui-client.factory';
import type { ComfySystemStats } from './comfyui.types';

/**
 * Is a ComfyUI server answering? `GET /system_stats` must return 200 with a JSON object. A pod is only ready
 * when RunPod reports a runtime AND this answers: "Running" at RunPod does not mean ComfyUI has started.
 * Probes connect under the same address rules as the factory's clients for that URL.
 */
@Injectable()
export class ComfyUiHealthProbe {
  constructor(@Optional() private readonly clients?: ComfyUiClientFactory) {}

  /** true when `/system_stats` answered 200 with a JSON object within `timeoutMs`; false on anything else. Never throws. */
  async isUp(baseUrl: string, timeoutMs = 5000): Promise<boolean> {
    return (await this.systemStats(baseUrl, timeoutMs)) !== null;
  }

  /** The `/system_stats` answer (what the machine has: GPU, VRAM, versions), or null when it is not up. Never throws. */
  systemStats(baseUrl: string, timeoutMs = 5000): Promise<ComfySystemStats | null> {
    const options = { requestTimeoutMs: timeoutMs, logger: { warn: () => undefined } };
    const client = this.clients ? this.clients.create(baseUrl, options) : new ComfyUiClient(baseUrl, options);
    return client.tryGetSystemStats();
  }
}
