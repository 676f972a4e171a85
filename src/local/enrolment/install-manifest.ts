import { readFileSync } from 'node:fs';

/**
 * The install manifest (GET /api/local/install-manifest): which models and custom nodes the installer puts on a
 * studio machine. Read from INSTALL_MANIFEST_FILE at startup and validated here, so a bad file stops the service
 * with a message naming the field instead of reaching every studio machine. The installer validates it again.
 */

/**
 * comfy-cli version the installer pins when the manifest names none of its own: the newest release whose flags
 * the installer was checked against (Comfy-Org/comfy-cli tag v1.17.0: install --nvidia/--amd/--m-series/--cpu,
 * --cuda-version, --rocm-version, --skip-prompt, --workspace, launch --; see installer/cw_install/install.py).
 */
export const PINNED_COMFY_CLI_VERSION = '1.17.0';

/**
 * ComfyUI's model folders (folder_paths.py), where a manifest may put files. Not `custom_nodes` (code, which
 * comes only from pinned repositories) nor anything outside `models/`.
 */
export const MODEL_FOLDERS = [
  'checkpoints',
  'configs',
  'loras',
  'vae',
  'vae_approx',
  'text_encoders',
  'clip',
  'diffusion_models',
  'unet',
  'clip_vision',
  'style_models',
  'embeddings',
  'diffusers',
  'controlnet',
  't2i_adapter',
  'gligen',
  'upscale_models',
  'latent_upscale_models',
  'hypernetworks',
  'photomaker',
  'classifiers',
  'model_patches',
  'audio_encoders',
] as const;

export interface ManifestModel {
  url: string;
  sha256: string;
  folder: string;
  filename: string;
  /** An environment variable on the worker machine whose value is sent as a bearer token to this URL only. */
  authEnv?: string;
}

export interface ManifestCustomNode {
  repo: string;
  commit: string;
  name: string;
}

export interface InstallManifest {
  version: 1;
  comfyCliVersion: string;
  models: ManifestModel[];
  customNodes: ManifestCustomNode[];
}

export const EMPTY_MANIFEST: InstallManifest = {
  version: 1,
  comfyCliVersion: PINNED_COMFY_CLI_VERSION,
  models: [],
  customNodes: [],
};

export class InvalidManifestError extends Error {}

const MAX_ENTRIES = 1000;
const SHA256 = /^[0-9a-f]{64}$/;
const COMMIT = /^[0-9a-f]{40}$/;
const ENV_NAME = /^[A-Z_][A-Z0-9_]*$/;
/** PEP 440 release versions as pip takes them after `==` (1.23.0, 1.3.8rc1, 1.4.0.post1). */
const VERSION = /^\d+(\.\d+){0,3}((a|b|rc)\d+)?(\.post\d+)?(\.dev\d+)?$/;
/** A directory name under custom_nodes/: no separators, no leading dot (so no `.` or `..`). */
const NODE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function onlyKeys(where: string, value: Json, allowed: readonly string[]): void {
  const unknown = Object.keys(value).filter((key) => !allowed.includes(key));
  if (unknown.length > 0) throw new InvalidManifestError(`${where}: unknown field(s) ${unknown.join(', ')}`);
}

function text(where: string, value: unknown, max: number): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > max)
    throw new InvalidManifestError(`${where} must be a non-empty string of at most ${max} characters`);
  return value;
}

function webUrl(where: string, value: unknown, allowHttp: boolean): string {
  const raw = text(where, value, 2048);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new InvalidManifestError(`${where} is not a URL`);
  }
  const schemes = allowHttp ? ['https:', 'http:'] : ['https:'];
  if (!schemes.includes(url.protocol))
    throw new InvalidManifestError(
      `${where} must be an ${allowHttp ? 'http(s)' : 'https'} URL` +
        (allowHttp ? '' : ' (INSTALL_MANIFEST_ALLOW_HTTP=true allows http)'),
    );
  if (url.username || url.password)
    throw new InvalidManifestError(`${where} must not carry credentials (use authEnv for a token)`);
  return raw;
}

function model(where: string, value: unknown, allowHttp: boolean): ManifestModel {
  if (!isObject(value)) throw new InvalidManifestError(`${where} must be an object`);
  onlyKeys(where, value, ['url', 'sha256', 'folder', 'filename', 'authEnv']);
  const sha256 = text(`${where}.sha256`, value.sha256, 64).toLowerCase();
  if (!SHA256.test(sha256)) throw new InvalidManifestError(`${where}.sha256 must be 64 hex digits`);
  const folder = text(`${where}.folder`, value.folder, 64);
  if (!(MODEL_FOLDERS as readonly string[]).includes(folder))
    throw new InvalidManifestError(`${where}.folder must be one of ${MODEL_FOLDERS.join(', ')}`);
  const filename = text(`${where}.filename`, value.filename, 255);
  if (/[/\\\0:]/.test(filename) || filename.startsWith('.'))
    throw new InvalidManifestError(
      `${where}.filename must be a plain file name (no path separators, no leading dot)`,
    );
  const entry: ManifestModel = {
    url: webUrl(`${where}.url`, value.url, allowHttp),
    sha256,
    folder,
    filename,
  };
  if (value.authEnv !== undefined) {
    const authEnv = text(`${where}.authEnv`, value.authEnv, 128);
    if (!ENV_NAME.test(authEnv))
      throw new InvalidManifestError(
        `${where}.authEnv must be an environment variable name ([A-Z_][A-Z0-9_]*)`,
      );
    entry.authEnv = authEnv;
  }
  return entry;
}

function customNode(where: string, value: unknown, allowHttp: boolean): ManifestCustomNode {
  if (!isObject(value)) throw new InvalidManifestError(`${where} must be an object`);
  onlyKeys(where, value, ['repo', 'commit', 'name']);
  const commit = text(`${where}.commit`, value.commit, 40).toLowerCase();
  if (!COMMIT.test(commit))
    throw new InvalidManifestError(`${where}.commit must be a full commit id (40 hex digits)`);
  const name = text(`${where}.name`, value.name, 100);
  if (!NODE_NAME.test(name))
    throw new InvalidManifestError(`${where}.name must be letters, digits, ".", "_" or "-" (not leading)`);
  return { repo: webUrl(`${where}.repo`, value.repo, allowHttp), commit, name };
}

function list<T>(where: string, value: unknown, item: (where: string, value: unknown) => T): T[] {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_ENTRIES)
    throw new InvalidManifestError(`${where} must be a list of at most ${MAX_ENTRIES} entries`);
  return value.map((entry, index) => item(`${where}[${index}]`, entry));
}

/** Checks a parsed manifest; throws InvalidManifestError naming the first bad field. */
export function validateManifest(value: unknown, options: { allowHttp?: boolean } = {}): InstallManifest {
  const allowHttp = options.allowHttp ?? false;
  if (!isObject(value)) throw new InvalidManifestError('the manifest must be a JSON object');
  onlyKeys('manifest', value, ['version', 'comfyCliVersion', 'models', 'customNodes']);
  if (value.version !== 1) throw new InvalidManifestError('version must be 1');
  const comfyCliVersion =
    value.comfyCliVersion === undefined
      ? PINNED_COMFY_CLI_VERSION
      : text('comfyCliVersion', value.comfyCliVersion, 32);
  if (!VERSION.test(comfyCliVersion))
    throw new InvalidManifestError('comfyCliVersion must be an exact release version such as 1.23.0');
  const models = list('models', value.models, (where, entry) => model(where, entry, allowHttp));
  const targets = new Set<string>();
  for (const [index, entry] of models.entries()) {
    const target = `${entry.folder}/${entry.filename}`;
    if (targets.has(target)) throw new InvalidManifestError(`models[${index}]: ${target} is listed twice`);
    targets.add(target);
  }
  const customNodes = list('customNodes', value.customNodes, (where, entry) =>
    customNode(where, entry, allowHttp),
  );
  const names = new Set<string>();
  for (const [index, entry] of customNodes.entries()) {
    if (names.has(entry.name.toLowerCase()))
      throw new InvalidManifestError(`customNodes[${index}]: ${entry.name} is listed twice`);
    names.add(entry.name.toLowerCase());
  }
  return { version: 1, comfyCliVersion, models, customNodes };
}

/** Parses and validates the text of INSTALL_MANIFEST_FILE. */
export function parseManifest(source: string, options: { allowHttp?: boolean } = {}): InstallManifest {
  let parsed: unknown;
  try {
    parsed = JSON.parse(source);
  } catch (error) {
    throw new InvalidManifestError(`not valid JSON: ${(error as Error).message}`);
  }
  return validateManifest(parsed, options);
}

/** Reads and validates INSTALL_MANIFEST_FILE (unset: the empty manifest). Throws InvalidManifestError. */
export function loadManifestFile(
  file: string | undefined,
  options: { allowHttp?: boolean } = {},
): InstallManifest {
  if (!file) return EMPTY_MANIFEST;
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (error) {
    throw new InvalidManifestError(
      `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    );
  }
  try {
    return parseManifest(source, options);
  } catch (error) {
    throw new InvalidManifestError(`${file}: ${(error as Error).message}`);
  }
}
