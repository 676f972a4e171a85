import { once } from 'node:events';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { NetworkAllowlist } from '../common/net/network-allowlist';
import { OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import { ComfyUiClient } from './comfyui-client';
import { ComfyUnavailableError } from './comfyui.errors';
import { ComfySocket } from './comfyui-socket';

/** Counts connections: proof that a refused ComfyUI URL was never contacted, over HTTP or websocket. */
describe('ComfyUI connections go through the outbound address rules', () => {
  let server: Server;
  let port: number;
  let connections = 0;
  const sockets = new Set<Socket>();

  beforeAll(async () => {
    server = createServer((socket) => {
      connections++;
      sockets.add(socket);
      socket.destroy();
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  /** Resolves to 127.0.0.1 once (what a registration check would see), then to the metadata address. */
  const rebinding = () => {
    const answers = ['127.0.0.1'];
    return new OutboundAddressPolicy({
      resolve: async () => [{ address: answers.shift() ?? '169.254.169.254', family: 4 }],
    });
  };

  it('refuses HTTP to a host name that rebinds to 169.254.169.254 after its check', async () => {
    const policy = rebinding();
    await policy.checkUrlResolved(`http://worker.test:${port}`);
    const client = new ComfyUiClient(`http://worker.test:${port}`, {
      addressPolicy: policy,
      logger: { warn: () => undefined },
    });
    const before = connections;
    const error = await client.getSystemStats().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ComfyUnavailableError);
    expect(error).toMatchObject({
      code: 'ERR_OUTBOUND_ADDRESS_REFUSED',
      message: expect.stringMatching(/refused: the URL worker\.test \(169\.254\.169\.254\) is link-local/),
    });
    expect(connections).toBe(before);
  });

  it('refuses the websocket the same way, and a literal refused address before connecting', async () => {
    const before = connections;
    const rebound = new ComfySocket(`ws://worker.test:${port}/ws?clientId=x`, 2000, rebinding());
    await rebound.ready; // the first answer is spent on nothing here: the socket's own lookup gets 127.0.0.1
    rebound.close();
    const policy = rebinding();
    await policy.checkUrlResolved(`http://worker.test:${port}`);
    const refused = new ComfySocket(`ws://worker.test:${port}/ws?clientId=x`, 2000, policy);
    expect(await refused.ready).toBe(false);
    const literal = new ComfySocket(`ws://169.254.169.254:${port}/ws`, 2000);
    expect(await literal.ready).toBe(false);
    expect(connections).toBe(before + 1); // only the first socket, whose lookup answered 127.0.0.1
  });

  it('holds a client to its allowlist at connect time, and lets it through inside it', async () => {
    const resolve = async () => [{ address: '127.0.0.1', family: 4 as const }];
    const outside = new ComfyUiClient(`http://worker.test:${port}`, {
      addressPolicy: new OutboundAddressPolicy({ allowlist: new NetworkAllowlist(['10.0.0.0/8']), resolve }),
    });
    const before = connections;
    await expect(outside.getSystemStats()).rejects.toThrow(/outside the allowed networks/);
    expect(connections).toBe(before);
    const inside = new ComfyUiClient(`http://worker.test:${port}`, {
      addressPolicy: new OutboundAddressPolicy({ allowlist: new NetworkAllowlist(['127.0.0.0/8']), resolve }),
    });
    await expect(inside.getSystemStats()).rejects.toBeInstanceOf(ComfyUnavailableError); // the server hangs up
    expect(connections).toBe(before + 1);
  });
});
