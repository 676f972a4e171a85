import { createServer } from 'node:net';
import type { ComfyApiWorkflow, ComfyLogger } from '../comfyui.types';

/** Test-only helpers for the ComfyUI client specs (excluded from the build). */

export class RecordingComfyLogger implements ComfyLogger {
  readonly warnings: string[] = [];
  readonly debugs: string[] = [];
  warn(message: unknown): void {
    this.warnings.push(String(message));
  }
  debug(message: unknown): void {
    this.debugs.push(String(message));
  }
}

/** Options that keep the specs fast: short polls and reconnect delays. */
export const FAST = {
  requestTimeoutMs: 2000,
  pollIntervalMs: 40,
  connectedPollIntervalMs: 1000,
  websocketConnectTimeoutMs: 1000,
  websocketReconnectDelayMs: 50,
} as const;

/**
 * Poll intervals longer than any test (jest gives a test 30 s): no timer-driven safety-net poll can fire, so
 * every request a run makes is one that the server's answers and messages caused. With these a spec can assert
 * an exact request sequence, or that only the websocket can complete a run, however slowly a busy machine
 * schedules the test. Runs still end promptly: the final `executing` triggers the history read at once.
 */
export const NO_TIMED_POLLS = { pollIntervalMs: 120_000, connectedPollIntervalMs: 120_000 } as const;

/**
 * KSampler steps for a job that runs until the test cancels it (50 s at the specs' 10 ms per step, longer than
 * any test): a test that needs a prompt running, or one pending behind it, gets it however slow the machine.
 */
export const UNTIL_CANCELLED_STEPS = 5000;

/** A TCP port nothing listens on (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** reference §3: EmptyImage → SaveImage. */
export function pngWorkflow(prefix = 'test', color = 0xff0000): ComfyApiWorkflow {
  return {
    '1': { class_type: 'EmptyImage', inputs: { width: 8, height: 8, batch_size: 1, color } },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
  };
}

/** txt2img on the fake's simulated model nodes: KSampler (node "3") sends `progress` once per step. */
export function samplerWorkflow(steps = 5, seed = 1): ComfyApiWorkflow {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a cat', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed,
        steps,
        cfg: 7,
        sampler_name: 'euler',
        scheduler: 'normal',
        denoise: 1,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['5', 0],
      },
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: 'ComfyUI', images: ['8', 0] } },
  };
}

/**
 * Resolves when `predicate` holds (checked every 5 ms), or rejects after `timeoutMs`: generous by default, since
 * a loaded machine can be slow, and a condition that holds ends the wait at once anyway.
 */
export async function until(predicate: () => boolean, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error('until: condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
}
