import { ConsoleLogger } from '@nestjs/common';

/** Keeps every log line so tests can assert the seed's log lines; prints only when LOG=1. */
export class CapturedLogger extends ConsoleLogger {
  readonly lines: string[] = [];

  private keep(level: string, message: unknown, context?: string): void {
    this.lines.push(`${level} [${context ?? ''}] ${String(message)}`);
  }

  override log(message: unknown, context?: string): void {
    this.keep('LOG', message, context);
    if (process.env.LOG) super.log(message, context);
  }

  override warn(message: unknown, context?: string): void {
    this.keep('WARN', message, context);
    if (process.env.LOG) super.warn(message, context);
  }

  override error(message: unknown, stackOrContext?: string, context?: string): void {
    this.keep('ERROR', message, context ?? stackOrContext);
    if (process.env.LOG) super.error(message, stackOrContext, context);
  }

  override debug(message: unknown, context?: string): void {
    this.keep('DEBUG', message, context);
  }

  override verbose(): void {}

  has(pattern: RegExp): boolean {
    return this.lines.some((line) => pattern.test(line));
  }
}
