import { randomUUID } from 'node:crypto';
import WebSocket from 'ws';

/** Test-only helpers for driving FakeComfyUI over real sockets (fetch + ws). */
export interface WsMsg {
  type: string;
  data: Record<string, unknown>;
}

export class WsClient {
  readonly messages: WsMsg[] = [];
  readonly rawText: string[] = [];
  readonly binary: Buffer[] = [];
  closed = false;
  private listeners = new Set<() => void>();

  private constructor(
    readonly ws: WebSocket,
    readonly clientId: string,
  ) {
    ws.on('message', (data: WebSocket.RawData, isBinary: boolean) => {
      const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data as ArrayBuffer);
      if (isBinary) this.binary.push(buf);
      else {
        const text = buf.toString('utf8');
        this.rawText.push(text);
        this.messages.push(JSON.parse(text) as WsMsg);
      }
      for (const l of [...this.listeners]) l();
    });
    ws.on('close', () => {
      this.closed = true;
      for (const l of [...this.listeners]) l();
    });
    ws.on('error', () => undefined);
  }

  /** Connects and waits for the initial `status` message (so the sid is registered). */
  static async connect(
    baseUrl: string,
    clientId: string | null = randomUUID(),
    opts: { featureFlags?: Record<string, unknown> } = {},
  ): Promise<WsClient> {
    const q = clientId === null ? '' : `?clientId=${clientId}`;
    const ws = new WebSocket(`${baseUrl.replace(/^http/, 'ws')}/ws${q}`);
    const c = new WsClient(ws, clientId ?? '');
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    if (opts.featureFlags) ws.send(JSON.stringify({ type: 'feature_flags', data: opts.featureFlags }));
    await c.waitFor((m) => m.type === 'status');
    return c;
  }

  /**
   * Resolves with the first message matching `pred`; rejects when the socket closes or after `timeoutMs`
   * (generous: a busy machine is slow, and a match ends the wait at once).
   */
  waitFor(pred: (m: WsMsg) => boolean, timeoutMs = 15_000): Promise<WsMsg> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const hit = this.messages.find(pred);
        if (hit) {
          done();
          resolve(hit);
        } else if (this.closed) {
          done();
          reject(new Error('socket closed'));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`timeout; got ${this.messages.map((m) => m.type).join(',')}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        this.listeners.delete(check);
      };
      this.listeners.add(check);
      check();
    });
  }

  /** The official example's completion rule: executing with node null and our prompt_id. */
  waitForDone(promptId: string, timeoutMs = 15_000): Promise<WsMsg> {
    return this.waitFor(
      (m) => m.type === 'executing' && m.data.node === null && m.data.prompt_id === promptId,
      timeoutMs,
    );
  }

  /** Messages for one prompt (those carrying its prompt_id), in arrival order. */
  forPrompt(promptId: string): WsMsg[] {
    return this.messages.filter((m) => m.data && m.data.prompt_id === promptId);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await new Promise<void>((resolve) => {
      this.ws.once('close', () => resolve());
      this.ws.close();
    });
  }
}

export async function postJson(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: any; text: string }> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  let json: any;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.status, json, text };
}

export async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url} → ${res.status}`);
  return res.json();
}

/** reference §3 example: EmptyImage → SaveImage */
export function emptyImageWorkflow(prefix = 'test', color = 0xff0000, size = 16): Record<string, unknown> {
  return {
    '1': {
      class_type: 'EmptyImage',
      inputs: { width: size, height: size, batch_size: 1, color },
      _meta: { title: 'Empty Image' },
    },
    '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: prefix } },
  };
}

/** A txt2img graph using the SIMULATED model nodes. */
export function txt2imgWorkflow(seed = 42, steps = 4, text = 'a cat'): Record<string, unknown> {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: 'v1-5-pruned-emaonly.safetensors' } },
    '5': { class_type: 'EmptyLatentImage', inputs: { width: 64, height: 64, batch_size: 1 } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text, clip: ['4', 1] } },
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

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
