import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

// Tests run from the repository root (npm test); ESM test modules have no __dirname.
const ROOT = process.cwd();

/**
 * The real service as a separate process (ts-node, CommonJS + Node's require(esm), as in production), for
 * tests that send it signals or kill it.
 */
export class ServiceProcess {
  private child?: ChildProcess;
  output = '';
  url = '';

  constructor(private readonly env: Record<string, string>) {}

  /** `timeoutMs`: generous, since booting through ts-node on a busy machine takes tens of seconds. */
  async start(timeoutMs = 90_000): Promise<string> {
    const child = spawn(
      process.execPath,
      ['-r', 'ts-node/register/transpile-only', join(ROOT, 'src', 'main.ts')],
      {
        cwd: ROOT,
        env: {
          PATH: process.env.PATH ?? '',
          NODE_ENV: 'test',
          TS_NODE_PROJECT: join(ROOT, 'tsconfig.json'),
          ...this.env,
          PORT: '0',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    this.child = child;
    child.stdout.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const match = /Listening on (http:\/\/[\d.]+:\d+)/.exec(this.output);
      if (match) return (this.url = match[1]);
      if (child.exitCode !== null)
        throw new Error(`service exited early (${child.exitCode}):\n${this.output}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`service did not start in time:\n${this.output}`);
  }

  /** Sends a signal and resolves with the exit code. */
  async signal(signal: NodeJS.Signals, timeoutMs = 20000): Promise<number | null> {
    const child = this.child!;
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill(signal);
    const timeout = new Promise<never>((_, reject) =>
      setTimeout(() => reject(new Error(`no exit after ${signal}:\n${this.output}`)), timeoutMs).unref(),
    );
    return Promise.race([exited, timeout]);
  }

  kill(): void {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
  }

  /**
   * Resolves once the process has exited (at once if it has), so its sockets, file lock and advisory lock are
   * gone: a fixed sleep after kill() is a guess a busy machine can beat.
   */
  async whenExited(timeoutMs = 20000): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no exit within ${timeoutMs} ms`)), timeoutMs);
      child.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}
