import { Injectable } from '@nestjs/common';
import { ComfyUiClient } from './comfyui-client';

/**
 * Is a ComfyUI server answering? `GET /system_stats` must return 200 with a JSON object. A pod is only ready
 * when RunPod reports a runtime AND this answers: "Running" at RunPod does not mean ComfyUI has started.
 */
@Injectable()
export class ComfyUiHealthProbe {
  /** true when `/system_stats` answered 200 with a JSON object within `timeoutMs`; false on anything else. Never throws. */
  async isUp(baseUrl: string, timeoutMs = 5000): Promise<boolean> {
    const client = new ComfyUiClient(baseUrl, {
      requestTimeoutMs: timeoutMs,
      logger: { warn: () => undefined },
    });
    return (await client.tryGetSystemStats()) !== null;
  }
}
