import { posix } from 'node:path';
import { PyException } from './py-compat';

/**
 * The fake's "disk": ComfyUI's `input/`, `output/` and `temp/` folders, held in memory.
 * Paths are posix and mirror `folder_paths` semantics (subfolders, escape checks, counters).
 * Files survive `die()` + `listen()` (they are "on disk"); history and queue do not.
 */
export type FolderType = 'input' | 'output' | 'temp';
export const FOLDER_TYPES: readonly FolderType[] = ['input', 'output', 'temp'];

export interface StoredFile {
  type: FolderType;
  subfolder: string;
  filename: string;
  bytes: Buffer;
  mtimeMs: number;
}

export class FileStore {
  /** Absolute root used when a node must report a full path (VHS `fullpath`). */
  readonly root = '/comfyui';
  private readonly files = new Map<string, StoredFile>();

  dir(type: FolderType): string {
    return `${this.root}/${type}`;
  }

  /** Resolves `subfolder/filename` under the folder; undefined if the result escapes it (like `os.path.commonpath`). */
  resolve(type: FolderType, subfolder: string, filename: string): string | undefined {
    const base = this.dir(type);
    const full = posix.resolve(base, subfolder || '.', filename);
    if (full !== base && !full.startsWith(base + '/')) return undefined;
    return full;
  }

  write(type: FolderType, subfolder: string, filename: string, bytes: Buffer): StoredFile {
    const full = this.resolve(type, subfolder, filename);
    if (!full)
      throw new PyException('Exception', `path escapes the ${type} folder: ${subfolder}/${filename}`);
    const rel = full.slice(this.dir(type).length + 1);
    const file: StoredFile = {
      type,
      subfolder: posix.dirname(rel) === '.' ? '' : posix.dirname(rel),
      filename: posix.basename(rel),
      bytes,
      mtimeMs: Date.now(),
    };
    this.files.set(full, file);
    return file;
  }

  /** By absolute path (as produced by `resolve`). */
  getByPath(full: string): StoredFile | undefined {
    return this.files.get(full);
  }

  read(type: FolderType, subfolder: string, filename: string): Buffer | undefined {
    const full = this.resolve(type, subfolder, filename);
    return full ? this.files.get(full)?.bytes : undefined;
  }

  exists(type: FolderType, subfolder: string, filename: string): boolean {
    return this.read(type, subfolder, filename) !== undefined;
  }

  /** Names of files directly inside `type/subfolder` (like `os.listdir`, files only), sorted. */
  list(type: FolderType, subfolder = ''): string[] {
    const dir = this.resolve(type, subfolder, '.');
    if (!dir) return [];
    const out: string[] = [];
    for (const [full, f] of this.files) if (posix.dirname(full) === dir) out.push(f.filename);
    return out.sort();
  }

  /** Every stored file (read-only inspection). */
  all(): StoredFile[] {
    return [...this.files.values()];
  }

  clear(type?: FolderType): void {
    for (const [k, f] of this.files) if (!type || f.type === type) this.files.delete(k);
  }
}

/**
 * `folder_paths.get_save_image_path`: splits a `filename_prefix` (which may contain `/` and `%width%`-style
 * tokens) into subfolder + base name and finds the next counter from files named `<base>_<digits>_...`.
 * Throws like ComfyUI when the prefix escapes the output folder.
 */
export function getSaveImagePath(
  store: FileStore,
  type: FolderType,
  filenamePrefix: string,
  width = 0,
  height = 0,
): { subfolder: string; filename: string; counter: number } {
  let prefix = filenamePrefix;
  if (prefix.includes('%')) {
    const now = new Date();
    const p2 = (n: number) => String(n).padStart(2, '0');
    prefix = prefix
      .replace(/%width%/g, String(width))
      .replace(/%height%/g, String(height))
      .replace(/%year%/g, String(now.getFullYear()))
      .replace(/%month%/g, p2(now.getMonth() + 1))
      .replace(/%day%/g, p2(now.getDate()))
      .replace(/%hour%/g, p2(now.getHours()))
      .replace(/%minute%/g, p2(now.getMinutes()))
      .replace(/%second%/g, p2(now.getSeconds()));
  }
  const norm = posix.normalize(prefix);
  const subfolder = posix.dirname(norm) === '.' ? '' : posix.dirname(norm);
  const filename = posix.basename(norm);
  const outDir = store.dir(type);
  if (!store.resolve(type, subfolder, '.')) {
    throw new PyException(
      'Exception',
      `**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: ${posix.resolve(outDir, subfolder)}\n         output_dir: ${outDir}`,
    );
  }
  const prefixLen = filename.length;
  let max = 0;
  for (const name of store.list(type, subfolder)) {
    const head = name.slice(0, prefixLen + 1);
    if (head.slice(0, -1).toLowerCase() !== filename.toLowerCase() || head.slice(-1) !== '_') continue;
    const digits = Number.parseInt(name.slice(prefixLen + 1).split('_')[0], 10);
    max = Math.max(max, /^\d+$/.test(name.slice(prefixLen + 1).split('_')[0]) ? digits : 0);
  }
  return { subfolder, filename, counter: max + 1 };
}
