import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ComfyUnsafePathError } from './comfyui.errors';
import type { ComfyHistoryEntry, ComfyOutputFile } from './comfyui.types';

const CONTENT_TYPES: Record<string, string> = {
  png: 'image/png',
  apng: 'image/apng',
  jpg: 'image/jpeg',
  jpeg: 'image/jpeg',
  webp: 'image/webp',
  gif: 'image/gif',
  bmp: 'image/bmp',
  tif: 'image/tiff',
  tiff: 'image/tiff',
  avif: 'image/avif',
  svg: 'image/svg+xml',
  mp4: 'video/mp4',
  m4v: 'video/mp4',
  webm: 'video/webm',
  mov: 'video/quicktime',
  mkv: 'video/x-matroska',
  avi: 'video/x-msvideo',
  flac: 'audio/flac',
  mp3: 'audio/mpeg',
  wav: 'audio/wav',
  ogg: 'audio/ogg',
  opus: 'audio/opus',
  m4a: 'audio/mp4',
  aac: 'audio/aac',
  json: 'application/json',
  txt: 'text/plain',
  glb: 'model/gltf-binary',
  gltf: 'model/gltf+json',
  obj: 'model/obj',
};

/** MIME type for a file name by its extension; `application/octet-stream` when unknown. */
export function contentTypeForFilename(filename: string): string {
  const dot = filename.lastIndexOf('.');
  if (dot < 0) return 'application/octet-stream';
  return CONTENT_TYPES[filename.slice(dot + 1).toLowerCase()] ?? 'application/octet-stream';
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The files of a finished prompt, from its `/history/{id}` entry, in node order then list order.
 *
 * Every `outputs[node][key]` list whose items carry a string `filename` is taken, whatever the key: `images`
 * (with `animated: [true]` for animated WEBP/PNG and core SaveVideo `.mp4`), `gifs` (VHS: `format`,
 * `frame_rate`), `audio`, `latents`, and custom nodes' keys (e.g. a `video`/`videos` key: UNVERIFIED, no core
 * node uses it). Non-file keys (`text`, `animated`, `unfinished_batch`...) are left in the raw history.
 * `animated` is one flag for the whole node (`(animated,)` in ComfyUI), or per item if the list is as long.
 */
export function extractOutputFiles(entry: ComfyHistoryEntry): ComfyOutputFile[] {
  const files: ComfyOutputFile[] = [];
  const outputs = isRecord(entry.outputs) ? entry.outputs : {};
  for (const [nodeId, nodeOutput] of Object.entries(outputs)) {
    if (!isRecord(nodeOutput)) continue;
    const animatedFlags = Array.isArray(nodeOutput.animated) ? nodeOutput.animated : undefined;
    for (const [kind, items] of Object.entries(nodeOutput)) {
      if (!Array.isArray(items)) continue;
      items.forEach((item, index) => {
        if (!isRecord(item) || typeof item.filename !== 'string' || item.filename === '') return;
        const type = typeof item.type === 'string' && item.type ? item.type : 'output';
        const file: ComfyOutputFile = {
          nodeId,
          kind,
          filename: item.filename,
          subfolder: typeof item.subfolder === 'string' ? item.subfolder : '',
          type,
          temp: type === 'temp',
          contentType: contentTypeForFilename(item.filename),
        };
        if (kind === 'images' && animatedFlags) {
          const flag = animatedFlags.length === items.length ? animatedFlags[index] : animatedFlags[0];
          if (flag === true) file.animated = true;
        }
        if (typeof item.format === 'string') file.format = item.format;
        if (typeof item.frame_rate === 'number') file.frameRate = item.frame_rate;
        files.push(file);
      });
    }
  }
  return files;
}

/**
 * The absolute path under `root` where an output named `(subfolder, filename)` by ComfyUI may be stored.
 * Pure: nothing is read or created. Names come from a remote server, so anything that could leave `root`
 * is refused rather than cleaned: `..` segments, absolute paths (`/x`, `C:...`), backslashes, NUL.
 *
 * @throws ComfyUnsafePathError naming the offending field.
 */
export function safeOutputPath(root: string, subfolder: string, filename: string): string {
  if (!root || root.includes('\0')) throw new ComfyUnsafePathError('root', root, 'empty or contains NUL');
  checkName('subfolder', subfolder, true);
  checkName('filename', filename, false);
  const base = resolve(root);
  const segments = subfolder.split('/').filter((s) => s !== '' && s !== '.');
  const target = resolve(base, ...segments, filename);
  const rel = relative(base, target);
  if (rel === '' || rel.startsWith('..') || isAbsolute(rel) || rel.split(sep).includes('..'))
    throw new ComfyUnsafePathError('filename', filename, `resolves outside ${base}`);
  return target;
}

function checkName(field: 'subfolder' | 'filename', value: string, isFolder: boolean): void {
  if (typeof value !== 'string') throw new ComfyUnsafePathError(field, String(value), 'not a string');
  if (value.includes('\0')) throw new ComfyUnsafePathError(field, value, 'contains NUL');
  if (value.includes('\\')) throw new ComfyUnsafePathError(field, value, 'contains a backslash');
  if (value.startsWith('/') || /^[A-Za-z]:/.test(value))
    throw new ComfyUnsafePathError(field, value, 'is an absolute path');
  if (value.split('/').includes('..')) throw new ComfyUnsafePathError(field, value, 'contains ".."');
  if (!isFolder) {
    if (value === '' || value === '.') throw new ComfyUnsafePathError(field, value, 'is empty');
    if (value.includes('/')) throw new ComfyUnsafePathError(field, value, 'contains "/"');
  }
}
