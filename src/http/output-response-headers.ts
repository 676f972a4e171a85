/**
 * Media a browser only displays and never runs: shown inline. The type comes from a worker (ComfyUI's
 * Content-Type, or the file name), so it is untrusted: anything else, including SVG (which carries script),
 * HTML, XML, JSON and unknown types, is sent as a download.
 */
const INLINE_SAFE_TYPES = new Set([
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/avif',
  'image/bmp',
  'video/mp4',
  'video/webm',
  'video/quicktime',
  'audio/wav',
  'audio/mpeg',
  'audio/ogg',
  'audio/opus',
  'audio/mp4',
  'audio/aac',
  'audio/flac',
  'audio/webm',
]);

function mediaType(contentType: string): string {
  return contentType.split(';')[0].trim().toLowerCase();
}

export function isInlineSafe(contentType: string): boolean {
  return INLINE_SAFE_TYPES.has(mediaType(contentType));
}

/** `filename="..."` for plain ASCII names, plus RFC 5987 `filename*` so other names survive intact. */
function dispositionFilename(filename: string): string {
  const ascii = filename.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(filename)}`;
}

/**
 * Headers for serving one job output. Every output gets a sandboxing CSP (no script, no plugin, a unique
 * origin) and `nosniff`, so even a file opened by hand cannot act on this origin; types that could carry script
 * are also sent as attachments. Displayable media may load itself (img-src/media-src 'self'): a browser's image
 * or video page shows the file through an element that the CSP governs.
 */
export function outputResponseHeaders(
  filename: string,
  contentType: string,
  size: number,
): Record<string, string> {
  const inline = isInlineSafe(contentType);
  return {
    'Content-Type': contentType,
    'Content-Length': String(size),
    'Content-Disposition': `${inline ? 'inline' : 'attachment'}; ${dispositionFilename(filename)}`,
    'Content-Security-Policy': inline
      ? "sandbox; default-src 'none'; img-src 'self'; media-src 'self'"
      : "sandbox; default-src 'none'",
    'X-Content-Type-Options': 'nosniff',
  };
}
