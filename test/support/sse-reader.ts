/** One Server-Sent Events message as received: `data` parsed as JSON, `id` as sent (absent: no id line). */
export interface ReceivedEvent {
  event: string;
  id?: string;
  data: any;
}

/**
 * Reads a Server-Sent Events stream as it arrives (fetch, no EventSource, as the web app does), so a test can
 * wait for the messages it expects while the stream stays open.
 */
export class SseReader {
  readonly events: ReceivedEvent[] = [];
  /** Comment lines (`: ping`) received, without the colon. */
  readonly comments: string[] = [];
  ended = false;
  private buffer = '';
  private done: Promise<void> = Promise.resolve();

  private constructor(
    readonly status: number,
    readonly contentType: string | null,
    private readonly controller: AbortController,
  ) {}

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseReader> {
    const controller = new AbortController();
    const response = await fetch(url, { headers, signal: controller.signal });
    const reader = new SseReader(response.status, response.headers.get('content-type'), controller);
    reader.done = reader.pump(response);
    return reader;
  }

  /** Waits until a received message satisfies `match` (real time; the service works in real milliseconds). */
  async waitFor(match: (event: ReceivedEvent) => boolean, timeoutMs = 20000): Promise<ReceivedEvent> {
    return this.waitUntil(() => this.events.find(match), timeoutMs);
  }

  async waitUntil<T>(found: () => T | undefined | false, timeoutMs = 20000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = found();
      if (value) return value;
      if (this.ended) throw new Error(`the stream ended first; got ${this.describe()}`);
      if (Date.now() > deadline) throw new Error(`not received in ${timeoutMs} ms; got ${this.describe()}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  /** Resolves when the server has ended the stream. */
  async waitForEnd(timeoutMs = 20000): Promise<void> {
    await this.waitUntil(() => this.ended, timeoutMs);
  }

  close(): Promise<void> {
    this.controller.abort();
    return this.done;
  }

  private describe(): string {
    return (
      this.events.map((event) => `${event.event}${event.id ? `#${event.id}` : ''}`).join(', ') || 'nothing'
    );
  }

  private async pump(response: Response): Promise<void> {
    const decoder = new TextDecoder();
    try {
      for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) {
        this.buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = this.buffer.indexOf('\n\n')) >= 0) {
          this.parse(this.buffer.slice(0, end));
          this.buffer = this.buffer.slice(end + 2);
        }
      }
    } catch {
      // Aborted by close(), or the connection dropped: either way the stream is over.
    }
    this.ended = true;
  }

  private parse(block: string): void {
    let event = 'message';
    let id: string | undefined;
    const data: string[] = [];
    for (const line of block.split('\n')) {
      if (line.startsWith(':')) this.comments.push(line.slice(1).trim());
      else if (line.startsWith('event:')) event = line.slice(6).trim();
      else if (line.startsWith('id:')) id = line.slice(3).trim();
      else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
    }
    if (data.length > 0) this.events.push({ event, id, data: JSON.parse(data.join('\n')) });
  }
}
