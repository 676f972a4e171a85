import { redactSecret } from './redact';

describe('redactSecret', () => {
  it('removes the secret, bearer tokens and api_key parameters, and leaves prose alone', () => {
    const key = 'rpa_ABCDEFGHIJKLMNOP';
    expect(redactSecret(`key ${key} and ${key}`, key)).toBe('key [REDACTED] and [REDACTED]');
    expect(redactSecret('Authorization: Bearer abcdefghijklmnopqrstu', undefined)).toBe(
      'Authorization: Bearer [REDACTED]',
    );
    expect(redactSecret('https://api.runpod.io/graphql?api_key=whatever&x=1', undefined)).toBe(
      'https://api.runpod.io/graphql?api_key=[REDACTED]&x=1',
    );
    expect(redactSecret('missing bearer token', key)).toBe('missing bearer token');
  });
});
