import http from 'node:http';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { NetworkAllowlist } from './network-allowlist';
import {
  OutboundAddressError,
  OutboundAddressPolicy,
  type HostResolver,
  type ResolvedAddress,
} from './outbound-address-policy';
import { redactedUrl } from './redacted-url';

const refusal = (policy: OutboundAddressPolicy, url: string): string | undefined => {
  try {
    policy.checkUrl(url);
    return undefined;
  } catch (error) {
    expect(error).toBeInstanceOf(OutboundAddressError);
    return (error as Error).message;
  }
};

const resolverOf =
  (table: Record<string, string[]>): HostResolver =>
  async (name) => {
    const addresses = table[name];
    if (!addresses) throw Object.assign(new Error('not found'), { code: 'ENOTFOUND' });
    return addresses.map((address): ResolvedAddress => ({ address, family: address.includes(':') ? 6 : 4 }));
  };

describe('OutboundAddressPolicy: URLs', () => {
  const policy = new OutboundAddressPolicy();

  it.each([
    ['http://169.254.169.254/latest/meta-data/', /link-local/],
    ['http://169.254.0.1:8188', /link-local/],
    ['http://2852039166/', /link-local/], // decimal form of 169.254.169.254
    ['http://0xA9FEA9FE/', /link-local/], // hex
    ['http://0251.0376.0251.0376/', /link-local/], // octal
    ['http://169.254.43518/', /link-local/], // a.b.c16 form
    ['http://[::ffff:169.254.169.254]/', /link-local/], // IPv4-mapped
    ['http://[::ffff:a9fe:a9fe]/', /link-local/],
    ['http://[::169.254.169.254]/', /link-local/], // IPv4-compatible
    ['http://[64:ff9b::a9fe:a9fe]/', /link-local/], // NAT64
    ['http://[fe80::1]/', /link-local/],
    ['http://[fd00:ec2::254]/', /AWS/],
    ['http://100.100.100.200/', /Alibaba/],
    ['http://0.0.0.0:8188/', /this network/],
    ['http://0/', /this network/],
    ['http://[::]/', /unspecified/],
    ['http://224.0.0.1/', /multicast/],
    ['http://[ff02::1]/', /multicast/],
    ['http://255.255.255.255/', /broadcast/],
    ['http://user:pass@127.0.0.1:8188', /credentials/],
    ['http://user@127.0.0.1:8188', /credentials/],
    ['file:///etc/passwd', /uses file; only http or https/],
    ['ftp://127.0.0.1/', /uses ftp/],
    ['gopher://127.0.0.1:6379/', /uses gopher/],
    ['not a url', /not a valid absolute URL/],
  ])('refuses %s', (url, reason) => {
    expect(refusal(policy, url)).toMatch(reason);
  });

  it.each([
    'http://127.0.0.1:8188',
    'http://localhost:8188',
    'http://[::1]:8188',
    'http://[::ffff:127.0.0.1]:8188',
    'http://192.168.1.20:8188',
    'http://10.1.2.3',
    'http://172.16.0.9',
    'http://100.64.0.7', // Tailscale / CGNAT
    'http://[fd12::5]',
    'https://example.com',
    'https://8.8.8.8',
  ])('allows %s (loopback and private ranges stay allowed by default)', (url) => {
    expect(refusal(policy, url)).toBeUndefined();
  });

  it('never repeats credentials or the query string in a refusal', () => {
    const message = refusal(policy, 'http://169.254.169.254/x?X-Amz-Signature=secret');
    expect(message).not.toContain('secret');
    expect(refusal(policy, 'http://admin:hunter2@10.0.0.1')).not.toContain('hunter2');
  });

  it('refuses loopback and private addresses when private networks are not allowed', () => {
    const strict = new OutboundAddressPolicy({ allowPrivateNetworks: false, protocols: ['https:'] });
    for (const url of [
      'https://127.0.0.1',
      'https://10.0.0.1',
      'https://[::1]',
      'https://[::ffff:192.168.0.1]',
    ])
      expect(refusal(strict, url)).toMatch(/loopback or private/);
    expect(refusal(strict, 'http://8.8.8.8')).toMatch(/uses http; only https/);
    expect(refusal(strict, 'https://8.8.8.8')).toBeUndefined();
  });
});

describe('OutboundAddressPolicy: allowlist', () => {
  const allowlist = new NetworkAllowlist([
    '192.168.1.0/24',
    '10.9.9.9',
    'fd00::/8',
    'gpu-box.lan',
    '2130706433',
  ]);
  const policy = new OutboundAddressPolicy({
    allowlist,
    allowlistName: 'LOCAL_WORKER_ALLOWED_NETWORKS',
    resolve: resolverOf({
      'gpu-box.lan': ['172.20.0.5'],
      'other.lan': ['172.20.0.6'],
      'inside.lan': ['192.168.1.77'],
      'evil.example': ['169.254.169.254'],
      'mixed.example': ['192.168.1.5', '169.254.169.254'],
    }),
  });

  it('keeps each verdict to its address and host name (verdicts are remembered per policy)', () => {
    for (let round = 0; round < 2; round++) {
      expect(policy.refusalForAddress('172.20.0.5', 'gpu-box.lan')).toBeUndefined(); // listed by name
      expect(policy.refusalForAddress('172.20.0.5', 'other.lan')).toMatch(
        /outside LOCAL_WORKER_ALLOWED_NETWORKS/,
      );
      expect(policy.refusalForAddress('172.20.0.5')).toMatch(/outside LOCAL_WORKER_ALLOWED_NETWORKS/);
      expect(policy.refusalForAddress('::ffff:169.254.169.254')).toMatch(/never contacted/);
    }
    // Another policy's rules are its own: the same address, allowed without an allowlist.
    expect(new OutboundAddressPolicy().refusalForAddress('172.20.0.5', 'other.lan')).toBeUndefined();
  });

  it('allows addresses inside a CIDR or equal to a listed address, and refuses the rest', () => {
    expect(refusal(policy, 'http://192.168.1.200:8188')).toBeUndefined();
    expect(refusal(policy, 'http://[::ffff:192.168.1.200]:8188')).toBeUndefined();
    expect(refusal(policy, 'http://10.9.9.9')).toBeUndefined();
    expect(refusal(policy, 'http://[fd00::1]')).toBeUndefined();
    expect(refusal(policy, 'http://127.0.0.1')).toBeUndefined(); // listed as 2130706433
    expect(refusal(policy, 'http://192.168.2.1')).toMatch(/outside LOCAL_WORKER_ALLOWED_NETWORKS/);
    expect(refusal(policy, 'http://10.9.9.8')).toMatch(/outside/);
    expect(refusal(policy, 'http://[fe80::1]')).toMatch(/link-local/);
  });

  it('allows a listed host name wherever it resolves, and a name that resolves inside a listed network', async () => {
    await expect(policy.checkUrlResolved('http://gpu-box.lan:8188')).resolves.toBeInstanceOf(URL);
    await expect(policy.checkUrlResolved('http://GPU-BOX.lan:8188')).resolves.toBeInstanceOf(URL);
    await expect(policy.checkUrlResolved('http://inside.lan')).resolves.toBeInstanceOf(URL);
    await expect(policy.checkUrlResolved('http://other.lan')).rejects.toThrow(
      'other.lan (172.20.0.6) is outside LOCAL_WORKER_ALLOWED_NETWORKS',
    );
  });

  it('refuses a name that resolves to a metadata address, or has one among its addresses', async () => {
    await expect(policy.checkUrlResolved('http://evil.example')).rejects.toThrow(/link-local/);
    await expect(policy.checkUrlResolved('http://mixed.example')).rejects.toThrow(/169\.254\.169\.254/);
    await expect(policy.checkUrlResolved('http://nowhere.example')).rejects.toThrow(
      'host nowhere.example did not resolve (ENOTFOUND)',
    );
  });

  it.each(['10.0.0.0/33', '300.1.1.1/8', 'a b', '::1/129', 'http://x'])('rejects the entry %s', (entry) => {
    expect(() => new NetworkAllowlist([entry])).toThrow(entry);
  });
});

describe('OutboundAddressPolicy: the connection checks the address it connects to', () => {
  let server: Server;
  let port: number;
  let connections = 0;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.end('HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const get = (url: string, policy: OutboundAddressPolicy) =>
    new Promise<number>((resolve, reject) => {
      const request = http.get(url, { lookup: policy.lookup, agent: false }, (response) => {
        response.resume();
        resolve(response.statusCode ?? 0);
      });
      request.on('error', reject);
    });

  it('connects when the name resolves to an allowed address', async () => {
    const policy = new OutboundAddressPolicy({ resolve: resolverOf({ 'worker.test': ['127.0.0.1'] }) });
    const before = connections;
    await expect(get(`http://worker.test:${port}/`, policy)).resolves.toBe(200);
    expect(connections).toBe(before + 1);
  });

  it('refuses at connect time a name that passed its check and then rebinds to 169.254.169.254', async () => {
    const answers = ['127.0.0.1', '169.254.169.254'];
    const policy = new OutboundAddressPolicy({
      resolve: async () => [{ address: answers.shift() ?? '169.254.169.254', family: 4 }],
    });
    await policy.checkUrlResolved(`http://rebind.test:${port}/`); // first answer: 127.0.0.1, accepted
    const before = connections;
    await expect(get(`http://rebind.test:${port}/`, policy)).rejects.toMatchObject({
      code: 'ERR_OUTBOUND_ADDRESS_REFUSED',
      message: expect.stringMatching(/rebind\.test \(169\.254\.169\.254\) is link-local/),
    });
    expect(connections).toBe(before);
  });

  it('refuses at connect time a name outside the allowlist, though its address is loopback', async () => {
    const policy = new OutboundAddressPolicy({
      allowlist: new NetworkAllowlist(['192.168.0.0/16']),
      resolve: resolverOf({ 'worker.test': ['127.0.0.1'] }),
    });
    const before = connections;
    await expect(get(`http://worker.test:${port}/`, policy)).rejects.toThrow(/outside/);
    expect(connections).toBe(before);
  });

  it('answers node:net when it asks for every address (autoSelectFamily)', async () => {
    const policy = new OutboundAddressPolicy({ resolve: resolverOf({ 'dual.test': ['::1', '127.0.0.1'] }) });
    const all = await new Promise((resolve, reject) =>
      policy.lookup('dual.test', { all: true }, (error, addresses) =>
        error ? reject(error) : resolve(addresses),
      ),
    );
    expect(all).toEqual([
      { address: '::1', family: 6 },
      { address: '127.0.0.1', family: 4 },
    ]);
    const v4 = await new Promise((resolve, reject) =>
      policy.lookup('dual.test', { family: 4 }, (error, address) =>
        error ? reject(error) : resolve(address),
      ),
    );
    expect(v4).toBe('127.0.0.1');
  });
});

describe('redactedUrl', () => {
  it('drops credentials and the query string', () => {
    expect(
      redactedUrl('https://bucket.s3.amazonaws.com/job/a.png?X-Amz-Signature=abc&X-Amz-Credential=k'),
    ).toBe('https://bucket.s3.amazonaws.com/job/a.png?[REDACTED]');
    expect(redactedUrl('http://user:pw@10.0.0.1:8188/')).toBe('http://10.0.0.1:8188');
    expect(redactedUrl('http://10.0.0.1:8188/x')).toBe('http://10.0.0.1:8188/x');
  });
});
