import type { ComfyUiClient } from '../../comfyui/comfyui-client';
import type { ComfySystemStats } from '../../comfyui/comfyui.types';

/**
 * Stands in for `ComfyUiClientFactory` in the cloud test bed: a pod's ComfyUI "answers" in-process, without a
 * socket. PodLifecycleService marks a pod ready when RunPod reports a runtime AND `ComfyUiHealthProbe` gets
 * `/system_stats` through the factory's client; PodCapabilitiesService reads `/object_info` and `/models` the same
 * way when the pod is ready. Every URL answers unless a test takes it down (`down(url)`).
 */
export class InProcessComfyUi {
  private readonly downUrls = new Set<string>();
  /** Base URLs asked for `/system_stats`, in order. */
  readonly probed: string[] = [];

  /** ComfyUI at `baseUrl` stops answering (e.g. the container runs but ComfyUI never starts). */
  down(baseUrl: string): void {
    this.downUrls.add(trim(baseUrl));
  }

  up(baseUrl: string): void {
    this.downUrls.delete(trim(baseUrl));
  }

  /** The factory's `create`: only what the cloud module calls is implemented. */
  create(baseUrl: string): ComfyUiClient {
    const url = trim(baseUrl);
    const answers = () => !this.downUrls.has(url);
    const client = {
      tryGetSystemStats: (): Promise<ComfySystemStats | null> => {
        this.probed.push(url);
        return Promise.resolve(answers() ? { devices: [], raw: {} } : null);
      },
      objectInfo: () =>
        answers() ? Promise.resolve({}) : Promise.reject(new Error(`ComfyUI at ${url} does not answer`)),
      models: () =>
        answers() ? Promise.resolve([]) : Promise.reject(new Error(`ComfyUI at ${url} does not answer`)),
    };
    // The stand-in covers the calls above; anything else the cloud module starts calling fails loudly.
    return new Proxy(client, {
      get(target, property, receiver) {
        if (property in target || typeof property === 'symbol' || property === 'then')
          return Reflect.get(target, property, receiver) as unknown;
        throw new Error(`InProcessComfyUi: ComfyUiClient.${property} is not implemented in the test bed`);
      },
    }) as unknown as ComfyUiClient;
  }

  useAddressPolicy(): void {}

  onApplicationShutdown(): void {}
}

function trim(url: string): string {
  return url.replace(/\/+$/, '');
}
