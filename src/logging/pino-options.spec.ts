import type { IncomingMessage } from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { loadConfig } from '../config/app-config';
import { loggerOptions, resolveFormat, routeOf } from './pino-options';

describe('logging options', () => {
  it('reads LOG_LEVEL (info = log) and LOG_FORMAT, and rejects other values naming the variable', () => {
    expect(loadConfig({}).logging).toEqual({ level: 'log', format: 'auto' });
    expect(loadConfig({ LOG_LEVEL: 'info', LOG_FORMAT: 'JSON' }).logging).toEqual({
      level: 'log',
      format: 'json',
    });
    expect(loadConfig({ LOG_LEVEL: 'verbose' }).logging.level).toBe('verbose');
    expect(() => loadConfig({ LOG_LEVEL: 'loud' })).toThrow(/LOG_LEVEL must be one of/);
    expect(() => loadConfig({ LOG_FORMAT: 'xml' })).toThrow(/LOG_FORMAT must be one of/);
  });

  it('auto format: pretty on a terminal, JSON otherwise; an explicit format wins', () => {
    expect(resolveFormat({ level: 'log', format: 'auto' }, true)).toBe('pretty');
    expect(resolveFormat({ level: 'log', format: 'auto' }, false)).toBe('json');
    expect(resolveFormat({ level: 'log', format: 'json' }, true)).toBe('json');
    expect(resolveFormat({ level: 'log', format: 'pretty' }, false)).toBe('pretty');
  });

  it('writes the LOG_LEVEL and more severe levels only, with level names, and redacts credential headers', () => {
    const lines: Array<Record<string, unknown>> = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
        done();
      },
    });
    const logger = pino(loggerOptions({ level: 'warn', format: 'json' }), sink);
    logger.info('dropped');
    logger.warn({ req: { headers: { authorization: 'Bearer secret', 'x-api-key': 'secret' } } }, 'kept');

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'warn', msg: 'kept' });
    expect(JSON.stringify(lines[0])).not.toContain('secret');
  });

  it('names a request by its route pattern, or by its path without the query when no route matched', () => {
    const routed = {
      url: '/api/jobs/abc?x=1',
      route: { path: '/api/jobs/:id' },
    } as unknown as IncomingMessage;
    const unrouted = {
      url: '/nothing/here?key=1',
      originalUrl: '/nothing/here?key=1',
    } as unknown as IncomingMessage;
    expect(routeOf(routed)).toBe('/api/jobs/:id');
    expect(routeOf(unrouted)).toBe('/nothing/here');
  });
});
