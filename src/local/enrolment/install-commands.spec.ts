import type { Request } from 'express';
import { installCommands } from './install-commands';
import { isInsecureBaseUrl, publicBaseUrl } from './public-base-url';

describe('install commands', () => {
  it('put the token in an environment variable and quote every value for its shell', () => {
    const commands = installCommands("https://it's.example", 'cwe_abc');
    expect(commands.linux).toBe(
      "curl -fsSL 'https://it'\\''s.example/install/install.sh' | CW_ENROLMENT_TOKEN='cwe_abc' bash -s -- " +
        "--server 'https://it'\\''s.example'",
    );
    expect(commands.macos).toBe(commands.linux);
    expect(commands.windows).toBe(
      "$env:CW_ENROLMENT_TOKEN='cwe_abc'; $env:CW_SERVER='https://it''s.example'; " +
        "irm 'https://it''s.example/install/install.ps1' | iex",
    );
    for (const command of Object.values(commands)) expect(command).not.toMatch(/\?.*cwe_abc|\/cwe_abc/);
  });
});

describe('publicBaseUrl', () => {
  const request = (protocol: string, host: string) =>
    ({ protocol, host, headers: { host } }) as unknown as Request;

  it('prefers PUBLIC_URL, else the request protocol and host (as Express derives them under TRUST_PROXY)', () => {
    expect(publicBaseUrl('https://workers.example.com/', request('http', '10.0.0.2:8000'))).toBe(
      'https://workers.example.com',
    );
    expect(publicBaseUrl(undefined, request('http', '10.0.0.2:8000'))).toBe('http://10.0.0.2:8000');
    expect(publicBaseUrl(undefined, request('https', 'workers.example.com'))).toBe(
      'https://workers.example.com',
    );
  });
});

describe('isInsecureBaseUrl', () => {
  it('flags plain http to a host other than loopback: the token would cross the network in clear text', () => {
    for (const base of ['http://10.0.0.2:8000', 'http://workers.lan', 'http://[fe80::1]:8000', 'not a url'])
      expect([base, isInsecureBaseUrl(base)]).toEqual([base, true]);
    for (const base of [
      'https://workers.example.com',
      'https://10.0.0.2:8443',
      'http://localhost:8000',
      'http://app.localhost',
      'http://127.0.0.1:8000',
      'http://127.1.2.3',
      'http://[::1]:8000',
    ])
      expect([base, isInsecureBaseUrl(base)]).toEqual([base, false]);
  });
});
