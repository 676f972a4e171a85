import { outputResponseHeaders } from './output-response-headers';

describe('outputResponseHeaders', () => {
  it('sends SVG, HTML, XML and unknown types as sandboxed attachments', () => {
    for (const type of [
      'image/svg+xml',
      'text/html; charset=utf-8',
      'TEXT/HTML',
      'application/xhtml+xml',
      'text/xml',
      'application/json',
      'application/octet-stream',
      'model/gltf+json',
    ]) {
      const headers = outputResponseHeaders('out.svg', type, 10);
      expect([type, headers['Content-Disposition']]).toEqual([type, expect.stringMatching(/^attachment; /)]);
      expect(headers['Content-Security-Policy']).toBe("sandbox; default-src 'none'");
      expect(headers['X-Content-Type-Options']).toBe('nosniff');
    }
  });

  it('shows raster images, video and audio inline, still sandboxed', () => {
    for (const type of ['image/png', 'image/jpeg', 'image/webp', 'video/mp4', 'audio/wav']) {
      const headers = outputResponseHeaders('out.png', type, 10);
      expect(headers['Content-Disposition']).toMatch(/^inline; /);
      expect(headers['Content-Security-Policy']).toMatch(/^sandbox; default-src 'none'/);
    }
  });

  it('keeps a hostile file name from breaking out of the header', () => {
    const headers = outputResponseHeaders('a"; evil=1\r\nX: y.png', 'image/png', 1);
    expect(headers['Content-Disposition']).not.toMatch(/[\r\n]/);
    expect(headers['Content-Disposition']).toContain('filename="a_; evil=1__X: y.png"');
    expect(headers['Content-Disposition']).toContain("filename*=UTF-8''a%22%3B%20evil%3D1%0D%0AX%3A%20y.png");
  });
});
