import { loadConfig } from '../config/app-config';
import { ApiKeyCredentials, presentedKey } from './api-key-credentials';

describe('ApiKeyCredentials', () => {
  const keys = new ApiKeyCredentials('admin-secret', 'read-secret');

  it('tells the admin key, the read-only key, a wrong key and no key apart', () => {
    expect(keys.match('admin-secret')).toBe('admin');
    expect(keys.match('read-secret')).toBe('read');
    expect(keys.match('admin-secre')).toBe('wrong');
    expect(keys.match('admin-secretx')).toBe('wrong');
    expect(keys.match('')).toBe('wrong');
    expect(keys.match(undefined)).toBe('none');
    expect(new ApiKeyCredentials(undefined, undefined).enabled).toBe(false);
  });

  it('reads Bearer and X-API-Key, and nothing else', () => {
    expect(presentedKey({ authorization: 'Bearer abc' })).toBe('abc');
    expect(presentedKey({ authorization: 'bearer abc' })).toBe('abc');
    expect(presentedKey({ 'x-api-key': 'abc' })).toBe('abc');
    expect(presentedKey({ authorization: 'Basic abc' })).toBeUndefined();
    expect(presentedKey({ authorization: 'Bearer ' })).toBeUndefined();
    expect(presentedKey({})).toBeUndefined();
  });

  it('does not keep the plain keys where a log line or error could show them', () => {
    expect(JSON.stringify(keys)).not.toContain('secret');
  });
});

describe('API_READ_KEY configuration', () => {
  it('needs API_KEY beside it and must differ from it', () => {
    expect(() => loadConfig({ API_READ_KEY: 'r' })).toThrow(/API_READ_KEY is set but API_KEY is not/);
    expect(() => loadConfig({ API_KEY: 'k', API_READ_KEY: 'k' })).toThrow(
      /API_READ_KEY must differ from API_KEY/,
    );
    expect(loadConfig({ API_KEY: 'k', API_READ_KEY: 'r' })).toMatchObject({ apiKey: 'k', apiReadKey: 'r' });
  });

  it('reads the rate limits, 0 meaning off', () => {
    expect(loadConfig({}).rateLimits).toEqual({ createPerMinute: 600, authFailuresPerMinute: 10 });
    expect(
      loadConfig({ RATE_LIMIT_CREATE_PER_MINUTE: '0', RATE_LIMIT_AUTH_FAILURES_PER_MINUTE: '0' }).rateLimits,
    ).toEqual({ createPerMinute: 0, authFailuresPerMinute: 0 });
    expect(() => loadConfig({ RATE_LIMIT_CREATE_PER_MINUTE: '-1' })).toThrow(/RATE_LIMIT_CREATE_PER_MINUTE/);
  });
});
