import { OutputLinkSigner, outputPath } from './output-link-signer';

describe('OutputLinkSigner', () => {
  const now = Date.UTC(2026, 10, 28, 12);
  const expires = now / 1000 + 600;
  const path = outputPath('job-1', 'out 1.png');
  const signer = new OutputLinkSigner('the-api-key');

  it('accepts its own signature until it expires, for GET and HEAD only', () => {
    const signature = signer.sign(path, expires);
    expect(signer.verify('GET', path, String(expires), signature, now)).toBe(true);
    expect(signer.verify('HEAD', path, String(expires), signature, now)).toBe(true);
    expect(signer.verify('POST', path, String(expires), signature, now)).toBe(false);
    expect(signer.verify('GET', path, String(expires), signature, expires * 1000)).toBe(false);
  });

  it('refuses another path, a changed expiry, a changed signature and malformed values', () => {
    const signature = signer.sign(path, expires);
    expect(signer.verify('GET', outputPath('job-1', 'other.png'), String(expires), signature, now)).toBe(false);
    expect(signer.verify('GET', outputPath('job-2', 'out 1.png'), String(expires), signature, now)).toBe(false);
    expect(signer.verify('GET', path, String(expires + 1), signature, now)).toBe(false);
    const flipped = (signature[0] === 'a' ? 'b' : 'a') + signature.slice(1);
    expect(signer.verify('GET', path, String(expires), flipped, now)).toBe(false);
    for (const bad of [undefined, '', 'zz', signature.toUpperCase(), [signature], signature + '00']) {
      expect(signer.verify('GET', path, String(expires), bad, now)).toBe(false);
    }
    for (const bad of [undefined, '-1', '1e9', '12.5', [String(expires)], '9'.repeat(13)]) {
      expect(signer.verify('GET', path, bad, signature, now)).toBe(false);
    }
  });

  it('verifies on every instance with the same API_KEY, and on none with another', () => {
    const signature = signer.sign(path, expires);
    expect(new OutputLinkSigner('the-api-key').verify('GET', path, String(expires), signature, now)).toBe(true);
    expect(new OutputLinkSigner('another-key').verify('GET', path, String(expires), signature, now)).toBe(false);
  });

  it('puts neither the key nor anything derived from it but the signature in a link', () => {
    const link = signer.link(path, expires);
    expect(link).toBe(`${path}?expires=${expires}&signature=${signer.sign(path, expires)}`);
    expect(link).not.toContain('the-api-key');
  });
});
