import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Transform, type Readable, type TransformCallback } from 'node:stream';
import {
  OutboundAddressError,
  OutboundAddressPolicy,
  type HostResolver,
} from '../common/net/outbound-address-policy';
import { redactedUrl } from '../common/net/redacted-url';

export interface ServerlessOutputDownloadOptions {
  /** Largest accepted output file; a larger one fails the download (RUNPOD_OUTPUT_MAX_MB). */
  maxBytes: number;
  /** Deadline of one download, from the first connection to the last byte (RUNPOD_OUTPUT_TIMEOUT). */
  timeoutMs: number;
  /** Accept http:// URLs (RUNPOD_OUTPUT_ALLOW_HTTP; the simulators). Otherwise https only. */
  allowHttp: boolean;
  /** Accept loopback and private addresses (RUNPOD_OUTPUT_ALLOW_PRIVATE_NETWORKS). */
  allowPrivateNetworks: boolean;
  /** Redirects followed, each to the same scheme, host and port. Default 3. */
  maxRedirects?: number;
  /** Host name resolver (tests); default: the system's. */
  resolve?: HostResolver;
}

/**
 * An `s3_url` output could not be downloaded. The message names the URL without its query string: a
 * presigned URL carries its signature there.
 */
export class ServerlessOutputDownloadError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ServerlessOutputDownloadError';
  }
}

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * Downloads worker-comfyui's `s3_url` outputs (reference/runpod.md §6.2: a presigned GET URL of the endpoint's
 * bucket, valid 7 days). Whoever controls the endpoint's worker chooses these URLs, so they are untrusted:
 * - the outbound address rules: https only (http when allowed), no credentials, never cloud metadata or
 *   link-local addresses, checked on the address actually connected to; loopback and private addresses only
 *   when allowed (a worker in RunPod's cloud has no business pointing us at our own network);
 * - redirects only to the same scheme, host and port, at most `maxRedirects`;
 * - one deadline for the whole download, and a size cap enforced while streaming (Content-Length is checked
 *   first, but not trusted);
 * - the body is handed to the caller as a stream, never buffered whole;
 * - no RunPod API key (or any header of ours) is sent; the body is not decompressed.
 */
export class ServerlessOutputDownloader {
  private readonly policy: OutboundAddressPolicy;
  private readonly maxRedirects: number;

  constructor(private readonly options: ServerlessOutputDownloadOptions) {
    this.policy = new OutboundAddressPolicy({
      protocols: options.allowHttp ? ['https:', 'http:'] : ['https:'],
      allowPrivateNetworks: options.allowPrivateNetworks,
      resolve: options.resolve,
    });
    this.maxRedirects = options.maxRedirects ?? 3;
  }

  /**
   * Opens `url` and hands its body to `sink` (e.g. a write to disk), all under one deadline.
   * @returns what `sink` returned.
   * @throws ServerlessOutputDownloadError (refused URL, redirect elsewhere, non-2xx, too large, timed out,
   *   network error), or `sink`'s own error; an abort of `signal` rejects with ServerlessOutputDownloadError too.
   */
  async download<T>(url: string, sink: (body: Readable) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const shown = redactedUrl(url);
    const fail = (problem: string, cause?: unknown) =>
      new ServerlessOutputDownloadError(`could not download output ${shown}: ${problem}`, { cause });
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(fail(`no complete answer within ${this.options.timeoutMs} ms`)),
      this.options.timeoutMs,
    );
    const onAbort = () => deadline.abort(fail('cancelled'));
    signal?.addEventListener('abort', onAbort, { once: true });
    if (signal?.aborted) onAbort();
    try {
      const response = await this.follow(url, deadline.signal, fail);
      const declared = Number(response.headers['content-length']);
      if (Number.isFinite(declared) && declared > this.options.maxBytes) {
        response.destroy();
        throw fail(`${declared} bytes is more than the ${this.capText()} size cap`);
      }
      const capped = response.pipe(
        new ByteCap(this.options.maxBytes, () => fail(`more than the ${this.capText()} size cap`)),
      );
      response.on('error', (error) => capped.destroy(error));
      response.on('aborted', () =>
        capped.destroy(fail('the connection closed before the body was complete')),
      );
      const stop = () => {
        response.destroy();
        capped.destroy(deadline.signal.reason as Error);
      };
      deadline.signal.addEventListener('abort', stop, { once: true });
      try {
        return await sink(capped);
      } catch (error) {
        if (deadline.signal.aborted) throw deadline.signal.reason as Error;
        if (error instanceof ServerlessOutputDownloadError) throw error;
        const code = (error as { code?: string }).code;
        if (code === 'ECONNRESET' || code === 'ERR_STREAM_PREMATURE_CLOSE')
          throw fail('the connection closed before the body was complete', error);
        throw error;
      } finally {
        deadline.signal.removeEventListener('abort', stop);
        response.destroy();
      }
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
    }
  }

  private capText(): string {
    const mb = this.options.maxBytes / (1024 * 1024);
    return Number.isInteger(mb) ? `${mb} MB` : `${this.options.maxBytes} bytes`;
  }

  /** GETs `url`, following same-origin redirects; resolves to a 2xx response with its body unread. */
  private async follow(
    url: string,
    signal: AbortSignal,
    fail: (problem: string, cause?: unknown) => ServerlessOutputDownloadError,
  ): Promise<IncomingMessage> {
    let current: URL;
    try {
      current = this.policy.checkUrl(url);
    } catch (error) {
      throw fail(`the URL ${(error as Error).message}`, error);
    }
    for (let redirects = 0; ; redirects++) {
      const response = await this.get(current, signal, fail);
      const status = response.statusCode ?? 0;
      if (status >= 200 && status < 300) return response;
      response.destroy();
      if (!REDIRECTS.has(status)) throw fail(`answered ${status}`);
      const location = response.headers.location;
      if (!location) throw fail(`answered ${status} without a Location`);
      if (redirects >= this.maxRedirects) throw fail(`more than ${this.maxRedirects} redirects`);
      let next: URL;
      try {
        next = new URL(location, current);
      } catch (error) {
        throw fail(`answered ${status} with an invalid Location`, error);
      }
      if (next.origin !== current.origin)
        throw fail(`answered ${status} to another host (${redactedUrl(next)}), which is not followed`);
      try {
        current = this.policy.checkUrl(next);
      } catch (error) {
        throw fail(`the redirect ${(error as Error).message}`, error);
      }
    }
  }

  private get(
    url: URL,
    signal: AbortSignal,
    fail: (problem: string, cause?: unknown) => ServerlessOutputDownloadError,
  ): Promise<IncomingMessage> {
    return new Promise<IncomingMessage>((resolve, reject) => {
      if (signal.aborted) return reject(signal.reason as Error);
      const transport = url.protocol === 'https:' ? https : http;
      const request = transport.request(url, {
        method: 'GET',
        headers: { 'accept-encoding': 'identity' },
        agent: false,
        lookup: this.policy.lookup,
      });
      const onAbort = () => request.destroy(signal.reason as Error);
      signal.addEventListener('abort', onAbort, { once: true });
      request.on('response', (response) => {
        signal.removeEventListener('abort', onAbort);
        resolve(response);
      });
      request.on('error', (error: NodeJS.ErrnoException) => {
        signal.removeEventListener('abort', onAbort);
        if (signal.aborted) return reject(signal.reason as Error);
        if (error instanceof OutboundAddressError) return reject(fail(`the URL ${error.message}`, error));
        reject(fail(error.code ?? error.message, error));
      });
      request.end();
    });
  }
}

/** Passes bytes through until more than `maxBytes` went by, then fails the stream. */
class ByteCap extends Transform {
  private seen = 0;

  constructor(
    private readonly maxBytes: number,
    private readonly tooLarge: () => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.maxBytes) callback(this.tooLarge());
    else callback(null, chunk);
  }
}
