import { Injectable } from '@nestjs/common';

/**
 * Is a ComfyUI server answering? `GET /system_stats` must return 200 with JSON. A pod is only ready when
 * RunPod reports a runtime AND this answers: "Running" at RunPod does not mean ComfyUI has started.
 */
@Injectable()
export class ComfyUiHealthProbe {
  async isUp(baseUrl: string, timeoutMs = 5000): Promise<boolean> {
    try {
      const response = await fetch(`${baseUrl}/system_stats`, { signal: AbortSignal.timeout(timeoutMs) });
      if (response.status !== 200) {
        await response.body?.cancel();
        return false;
      }
      const body = (await response.json());
      return typeof body === 'object' && body !== null;
    } catch {
      return false;
    }
  }
}
