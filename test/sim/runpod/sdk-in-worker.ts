/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON bodies from the wire */
import { Worker } from 'node:worker_threads';

/**
 * Runs the OFFICIAL runpod-sdk (npm 1.1.2, an ES module) inside a worker thread. Jest's CommonJS module system
 * cannot load it (and intercepts createRequire), but a worker thread is a plain Node context, so the SDK runs
 * unmodified: its own HTTP client (xior/fetch), headers and polling loops hit the fake over real HTTP.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { pathToFileURL } = require('node:url');
console.log = () => {}; // runSync prints progress lines
const sdkPath = require.resolve('runpod-sdk', { paths: [workerData.cwd] });
const sdkPromise = import(pathToFileURL(sdkPath).href).then((m) => m.default);
parentPort.on('message', async ({ id, apiKey, baseUrl, endpointId, method, args }) => {
  try {
    const sdk = await sdkPromise;
    const endpoint = sdk(apiKey, { baseUrl }).endpoint(endpointId);
    let result;
    if (method === 'stream') {
      result = [];
      for await (const chunk of endpoint.stream(...args)) result.push(chunk);
    } else {
      result = await endpoint[method](...args);
    }
    parentPort.postMessage({ id, result });
  } catch (e) {
    parentPort.postMessage({ id, error: String((e && e.stack) || e) });
  }
});
`;

export type SdkMethod = 'run' | 'runSync' | 'status' | 'statusSync' | 'cancel' | 'health' | 'purgeQueue' | 'stream';

export class RunpodSdkInWorker {
  private readonly worker: Worker;
  private seq = 0;
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();

  constructor() {
    // Resolved inside the worker from the cwd (works whether jest runs the specs as CommonJS or native ESM).
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { cwd: process.cwd() } });
    this.worker.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.error !== undefined) p.reject(new Error(m.error));
      else p.resolve(m.result);
    });
  }

  /** `runpodSdk(apiKey, {baseUrl}).endpoint(endpointId)[method](...args)`; `stream` resolves to all chunks. */
  call(apiKey: string, baseUrl: string, endpointId: string, method: SdkMethod, ...args: unknown[]): Promise<any> {
    const id = ++this.seq;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, apiKey, baseUrl, endpointId, method, args });
    });
  }

  /** A thin `Endpoint`-like facade over `call`. */
  endpoint(apiKey: string, baseUrl: string, endpointId: string): Record<SdkMethod, (...args: unknown[]) => Promise<any>> {
    const m = (method: SdkMethod) => (...args: unknown[]) => this.call(apiKey, baseUrl, endpointId, method, ...args);
    return {
      run: m('run'),
      runSync: m('runSync'),
      status: m('status'),
      statusSync: m('statusSync'),
      cancel: m('cancel'),
      health: m('health'),
      purgeQueue: m('purgeQueue'),
      stream: m('stream'),
    };
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
