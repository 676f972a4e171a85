import { createHash } from 'node:crypto';
import { deflateSync, inflateSync } from 'node:zlib';

/**
 * In-memory "tensors" and the byte encoders the fake's nodes write.
 *
 * Real and decodable: PNG (SaveImage / PreviewImage / VHS workflow PNG), APNG (SaveAnimatedPNG),
 * safetensors (SaveLatent; zeros), the 1x1 GIF.
 * FAKE-BUT-PLAUSIBLE (correct magic/box structure, NOT decodable media): MP4 (SaveVideo, VHS video/*),
 * WEBP (SaveAnimatedWEBP, VHS image/webp), FLAC (SaveAudio: a STREAMINFO-only file with zero frames).
 */

/** One RGB frame (ComfyUI's IMAGE is [B,H,W,C] float RGB; we keep 8-bit RGB per frame). */
export interface Frame {
  width: number;
  height: number;
  rgb: Uint8Array; // width * height * 3
}
export interface ImageBatch {
  kind: 'IMAGE';
  frames: Frame[];
}
export interface Mask {
  width: number;
  height: number;
  values: Float32Array; // 0..1
}
export interface MaskBatch {
  kind: 'MASK';
  masks: Mask[];
}

export function solidFrame(width: number, height: number, color: number): Frame {
  const rgb = new Uint8Array(width * height * 3);
  const r = (color >> 16) & 0xff;
  const g = (color >> 8) & 0xff;
  const b = color & 0xff;
  for (let i = 0; i < width * height; i++) {
    rgb[i * 3] = r;
    rgb[i * 3 + 1] = g;
    rgb[i * 3 + 2] = b;
  }
  return { width, height, rgb };
}

/** A deterministic "generated" picture: a two-colour diagonal gradient picked from a hash of `seedText`. */
export function synthFrame(width: number, height: number, seedText: string): Frame {
  const h = createHash('sha256').update(seedText).digest();
  const rgb = new Uint8Array(width * height * 3);
  const denom = Math.max(1, width + height - 2);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x + y) / denom;
      const o = (y * width + x) * 3;
      for (let c = 0; c < 3; c++)
        rgb[o + c] = Math.round(h[c] * (1 - t) + h[c + 3] * t) ^ ((x * h[6] + y * h[7]) & 0x0f);
    }
  }
  return { width, height, rgb };
}

export function hashFrames(frames: Frame[]): string {
  const hash = createHash('sha256');
  for (const f of frames) hash.update(`${f.width}x${f.height}`).update(f.rgb);
  return hash.digest('hex');
}

// ---------------------------------------------------------------- PNG

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

export function crc32(buf: Uint8Array): number {
  let c = 0xffffffff;
  for (let i = 0; i < buf.length; i++) c = CRC_TABLE[(c ^ buf[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function chunk(type: string, data: Uint8Array): Buffer {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}

const PNG_SIG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function ihdr(width: number, height: number): Buffer {
  const b = Buffer.alloc(13);
  b.writeUInt32BE(width, 0);
  b.writeUInt32BE(height, 4);
  b[8] = 8; // bit depth
  b[9] = 2; // colour type RGB
  b[10] = 0;
  b[11] = 0;
  b[12] = 0;
  return b;
}

function idatPayload(f: Frame, level: number): Buffer {
  const stride = f.width * 3;
  const raw = Buffer.alloc((stride + 1) * f.height);
  for (let y = 0; y < f.height; y++) {
    raw[y * (stride + 1)] = 0; // filter: none
    raw.set(f.rgb.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  return deflateSync(raw, { level });
}

function textChunks(texts: Record<string, string>): Buffer[] {
  // ComfyUI (PIL PngInfo.add_text) writes tEXt chunks; keys like "prompt" and "workflow" hold JSON.
  return Object.entries(texts).map(([k, v]) => chunk('tEXt', Buffer.from(`${k}\0${v}`, 'latin1')));
}

/** A real, valid 8-bit RGB PNG. */
export function encodePng(f: Frame, texts: Record<string, string> = {}, level = 6): Buffer {
  return Buffer.concat([
    PNG_SIG,
    chunk('IHDR', ihdr(f.width, f.height)),
    ...textChunks(texts),
    chunk('IDAT', idatPayload(f, level)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A real APNG (animated PNG): acTL + fcTL/IDAT + fcTL/fdAT per frame. All frames must share the first frame's size. */
export function encodeApng(
  frames: Frame[],
  fps: number,
  texts: Record<string, string> = {},
  level = 4,
): Buffer {
  const first = frames[0];
  const parts: Buffer[] = [PNG_SIG, chunk('IHDR', ihdr(first.width, first.height))];
  const actl = Buffer.alloc(8);
  actl.writeUInt32BE(frames.length, 0);
  actl.writeUInt32BE(0, 4); // loop forever
  parts.push(chunk('acTL', actl), ...textChunks(texts));
  let seq = 0;
  const delayDen = 1000;
  const delayNum = Math.max(1, Math.round(1000 / Math.max(0.01, fps)));
  frames.forEach((fr, i) => {
    const f =
      fr.width === first.width && fr.height === first.height ? fr : solidFrame(first.width, first.height, 0);
    const fctl = Buffer.alloc(26);
    fctl.writeUInt32BE(seq++, 0);
    fctl.writeUInt32BE(f.width, 4);
    fctl.writeUInt32BE(f.height, 8);
    fctl.writeUInt32BE(0, 12);
    fctl.writeUInt32BE(0, 16);
    fctl.writeUInt16BE(Math.min(delayNum, 0xffff), 20);
    fctl.writeUInt16BE(delayDen, 22);
    fctl[24] = 0;
    fctl[25] = 0;
    parts.push(chunk('fcTL', fctl));
    const data = idatPayload(f, level);
    if (i === 0) parts.push(chunk('IDAT', data));
    else {
      const s = Buffer.alloc(4);
      s.writeUInt32BE(seq++);
      parts.push(chunk('fdAT', Buffer.concat([s, data])));
    }
  });
  parts.push(chunk('IEND', Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/**
 * Decodes a non-interlaced 8-bit PNG (grey, grey+alpha, RGB, RGBA, palette) to RGB + optional alpha.
 * Returns undefined for anything else (the LoadImage node then falls back to a deterministic picture).
 */
export function decodePng(buf: Buffer): { frame: Frame; alpha?: Float32Array } | undefined {
  if (buf.length < 8 || !buf.subarray(0, 8).equals(PNG_SIG)) return undefined;
  let off = 8;
  let width = 0;
  let height = 0;
  let depth = 0;
  let ctype = 0;
  let interlace = 0;
  let palette: Buffer | undefined;
  let trns: Buffer | undefined;
  const idat: Buffer[] = [];
  while (off + 8 <= buf.length) {
    const len = buf.readUInt32BE(off);
    const type = buf.toString('latin1', off + 4, off + 8);
    const data = buf.subarray(off + 8, off + 8 + len);
    off += 12 + len;
    if (type === 'IHDR') {
      width = data.readUInt32BE(0);
      height = data.readUInt32BE(4);
      depth = data[8];
      ctype = data[9];
      interlace = data[12];
    } else if (type === 'PLTE') palette = data;
    else if (type === 'tRNS') trns = data;
    else if (type === 'IDAT') idat.push(data);
    else if (type === 'IEND') break;
  }
  if (!width || !height || depth !== 8 || interlace !== 0) return undefined;
  const channels = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 }[ctype];
  if (!channels) return undefined;
  let raw: Buffer;
  try {
    raw = inflateSync(Buffer.concat(idat));
  } catch {
    return undefined;
  }
  const stride = width * channels;
  if (raw.length < (stride + 1) * height) return undefined;
  const px = new Uint8Array(stride * height);
  for (let y = 0; y < height; y++) {
    const ft = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    const cur = px.subarray(y * stride, (y + 1) * stride);
    const prev = y > 0 ? px.subarray((y - 1) * stride, y * stride) : new Uint8Array(stride);
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? cur[i - channels] : 0;
      const b = prev[i];
      const c = i >= channels ? prev[i - channels] : 0;
      let v = line[i];
      if (ft === 1) v += a;
      else if (ft === 2) v += b;
      else if (ft === 3) v += (a + b) >> 1;
      else if (ft === 4) {
        const p = a + b - c;
        const pa = Math.abs(p - a);
        const pb = Math.abs(p - b);
        const pc = Math.abs(p - c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      }
      cur[i] = v & 0xff;
    }
  }
  const rgb = new Uint8Array(width * height * 3);
  let alpha: Float32Array | undefined;
  if (ctype === 4 || ctype === 6 || (ctype === 3 && trns)) alpha = new Float32Array(width * height);
  for (let i = 0; i < width * height; i++) {
    if (ctype === 0 || ctype === 4) {
      rgb[i * 3] = rgb[i * 3 + 1] = rgb[i * 3 + 2] = px[i * channels];
      if (ctype === 4) alpha![i] = px[i * 2 + 1] / 255;
    } else if (ctype === 2 || ctype === 6) {
      rgb.set(px.subarray(i * channels, i * channels + 3), i * 3);
      if (ctype === 6) alpha![i] = px[i * 4 + 3] / 255;
    } else {
      const idx = px[i];
      if (palette) rgb.set(palette.subarray(idx * 3, idx * 3 + 3), i * 3);
      if (alpha) alpha[i] = (trns && idx < trns.length ? trns[idx] : 255) / 255;
    }
  }
  return { frame: { width, height, rgb }, alpha };
}

// ---------------------------------------------------------------- other containers

function box(type: string, payload: Buffer): Buffer {
  const size = Buffer.alloc(4);
  size.writeUInt32BE(8 + payload.length);
  return Buffer.concat([size, Buffer.from(type, 'latin1'), payload]);
}

/**
 * FAKE MP4: a well-formed ISO-BMFF box sequence (`ftyp` isom/avc1, a `free` box saying what this is, and an
 * `mdat` with a deterministic digest of the frames). `file`/magic sniffers see video/mp4; no player can decode it.
 */
export function fakeMp4(frames: Frame[], fps: number): Buffer {
  const ftyp = box(
    'ftyp',
    Buffer.concat([
      Buffer.from('isom', 'latin1'),
      Buffer.from([0, 0, 2, 0]),
      Buffer.from('isomiso2avc1mp41', 'latin1'),
    ]),
  );
  const note = box(
    'free',
    Buffer.from(`fake-comfyui mp4: ${frames.length} frames @ ${fps} fps, not decodable`, 'utf8'),
  );
  const digest = createHash('sha256').update(hashFrames(frames)).update(String(fps)).digest();
  return Buffer.concat([ftyp, note, box('mdat', Buffer.concat([digest, digest]))]);
}

/** FAKE WEBP: RIFF/WEBP with a VP8X header (animation flag) and ANIM chunk; frames are not encoded. */
export function fakeWebp(frames: Frame[]): Buffer {
  const w = frames[0]?.width ?? 1;
  const h = frames[0]?.height ?? 1;
  const vp8x = Buffer.alloc(10);
  vp8x[0] = frames.length > 1 ? 0x02 : 0;
  vp8x.writeUIntLE(w - 1, 4, 3);
  vp8x.writeUIntLE(h - 1, 7, 3);
  const rchunk = (t: string, d: Buffer) => {
    const l = Buffer.alloc(4);
    l.writeUInt32LE(d.length);
    return Buffer.concat([Buffer.from(t, 'latin1'), l, d, d.length % 2 ? Buffer.alloc(1) : Buffer.alloc(0)]);
  };
  const anim = Buffer.alloc(6);
  const body = Buffer.concat([Buffer.from('WEBP', 'latin1'), rchunk('VP8X', vp8x), rchunk('ANIM', anim)]);
  const size = Buffer.alloc(4);
  size.writeUInt32LE(body.length);
  return Buffer.concat([Buffer.from('RIFF', 'latin1'), size, body]);
}

/** A real 1x1 GIF (the classic transparent pixel). VHS image/gif output uses it; the frames are NOT encoded. */
export const TINY_GIF = Buffer.from('R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7', 'base64');

/** FAKE FLAC: `fLaC` + a last-block STREAMINFO (zero samples). Structurally valid, carries no audio. */
export function fakeFlac(sampleRate: number): Buffer {
  const si = Buffer.alloc(34);
  si.writeUInt16BE(4096, 0);
  si.writeUInt16BE(4096, 2);
  // 20 bits sample rate, 3 bits channels-1 (=1 → 2ch), 5 bits bps-1 (=15 → 16 bit), 36 bits total samples (0)
  const sr = Math.max(1, Math.min(sampleRate, 655350)) & 0xfffff;
  si[10] = (sr >> 12) & 0xff;
  si[11] = (sr >> 4) & 0xff;
  si[12] = ((sr & 0x0f) << 4) | (1 << 1) | 0;
  si[13] = 0xf0;
  const header = Buffer.from([0x80, 0, 0, 34]);
  return Buffer.concat([Buffer.from('fLaC', 'latin1'), header, si]);
}

/** A real safetensors file with one F32 tensor of zeros (SaveLatent writes `latent_tensor`). */
export function zeroSafetensors(name: string, shape: number[]): Buffer {
  const n = shape.reduce((a, b) => a * b, 1);
  const header = JSON.stringify({
    [name]: { dtype: 'F32', shape, data_offsets: [0, n * 4] },
    __metadata__: { format: 'pt' },
  });
  const hb = Buffer.from(header.padEnd(Math.ceil(header.length / 8) * 8, ' '), 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(hb.length));
  return Buffer.concat([len, hb, Buffer.alloc(n * 4)]);
}

/** Nearest-neighbour resize (the fake uses it for every `upscale_method`). */
export function resizeFrame(f: Frame, width: number, height: number): Frame {
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    const sy = Math.min(f.height - 1, Math.floor((y * f.height) / height));
    for (let x = 0; x < width; x++) {
      const sx = Math.min(f.width - 1, Math.floor((x * f.width) / width));
      rgb.set(f.rgb.subarray((sy * f.width + sx) * 3, (sy * f.width + sx) * 3 + 3), (y * width + x) * 3);
    }
  }
  return { width, height, rgb };
}

export function cropFrame(f: Frame, width: number, height: number, x: number, y: number): Frame {
  const x0 = Math.min(x, f.width - 1);
  const y0 = Math.min(y, f.height - 1);
  const w = Math.max(1, Math.min(width, f.width - x0));
  const h = Math.max(1, Math.min(height, f.height - y0));
  const rgb = new Uint8Array(w * h * 3);
  for (let yy = 0; yy < h; yy++)
    rgb.set(f.rgb.subarray(((y0 + yy) * f.width + x0) * 3, ((y0 + yy) * f.width + x0 + w) * 3), yy * w * 3);
  return { width: w, height: h, rgb };
}

/** A real 8-bit RGBA PNG (used by /upload/mask). */
export function encodePngRgba(f: Frame, alpha: Float32Array): Buffer {
  const h = ihdr(f.width, f.height);
  h[9] = 6;
  const stride = f.width * 4;
  const raw = Buffer.alloc((stride + 1) * f.height);
  for (let y = 0; y < f.height; y++) {
    for (let x = 0; x < f.width; x++) {
      const i = y * f.width + x;
      const o = y * (stride + 1) + 1 + x * 4;
      raw[o] = f.rgb[i * 3];
      raw[o + 1] = f.rgb[i * 3 + 1];
      raw[o + 2] = f.rgb[i * 3 + 2];
      raw[o + 3] = Math.round(Math.min(1, Math.max(0, alpha[i])) * 255);
    }
  }
  return Buffer.concat([
    PNG_SIG,
    chunk('IHDR', h),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}
