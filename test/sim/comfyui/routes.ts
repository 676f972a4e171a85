import { createHash, randomUUID } from 'node:crypto';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { posix } from 'node:path';
import { type Executor } from './executor';
import { decodePng, encodePngRgba } from './media';
import { annotatedPath, type CatalogueEnv, type NodeDef, nodeInfo } from './nodes';
import { pyJson } from './py-compat';
import { type PromptQueue, type QueueItem, SENSITIVE_EXTRA_DATA_KEYS, toTuple } from './queue';
import { type FileStore, type FolderType } from './storage';
import { type Flavor, validatePrompt } from './validation';

/**
 * HTTP routes of `server.py` (reference §1, §2, §5, §6), mounted at both `/x` and `/api/x`.
 * JSON bodies are written like aiohttp `json_response` (Python `json.dumps` formatting);
 * POST /queue, /history, /interrupt, /free answer 200 with an empty body.
 * Not implemented: /api/jobs*, /userdata, /settings, /users, /internal/*, /view `preview=`/`channel=`
 * transcoding (the raw file is served), /view_metadata.
 */
export interface ReceivedPrompt {
  at: number;
  body: unknown;
  status: number;
  response: unknown;
  promptId?: string;
}

export interface RouteContext {
  flavor: Flavor;
  store: FileStore;
  catalogue: Map<string, NodeDef>;
  env: CatalogueEnv;
  queue: PromptQueue;
  executor: Executor;
  prompts: ReceivedPrompt[];
  freeRequests: unknown[];
  maxUploadSize: number;
  nextNumber(): number;
  serverFeatures(): Record<string, unknown>;
}

class HttpError extends Error {
  constructor(readonly status: number) {
    super(String(status));
  }
}

const REASONS: Record<number, string> = {
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  413: 'Request Entity Too Large',
  500: 'Internal Server Error',
};

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = pyJson(body);
  res.writeHead(status, {
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}

function sendRaw(
  res: ServerResponse,
  status: number,
  body: string | Buffer = '',
  headers: Record<string, string> = {},
): void {
  const buf = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, {
    'Content-Type': 'application/octet-stream',
    'Content-Length': buf.length,
    ...headers,
  });
  res.end(buf);
}

export function sendStatus(res: ServerResponse, status: number): void {
  if (status === 200) return sendRaw(res, 200);
  const text =
    status === 500
      ? '500 Internal Server Error\n\nServer got itself in trouble'
      : `${status}: ${REASONS[status] ?? 'Error'}`;
  sendRaw(res, status, text, { 'Content-Type': 'text/plain; charset=utf-8' });
}

async function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of req) {
    size += (c as Buffer).length;
    if (size > limit) throw new HttpError(413);
    chunks.push(c as Buffer);
  }
  return Buffer.concat(chunks);
}

/** `await request.json()` — a body that is not JSON makes aiohttp raise → 500 (UNVERIFIED, reference open points). */
async function readJson(req: IncomingMessage, limit: number): Promise<unknown> {
  const body = await readBody(req, limit);
  try {
    return JSON.parse(body.toString('utf8')) as unknown;
  } catch {
    throw new HttpError(500);
  }
}

const MIME: Record<string, string> = {
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.bmp': 'image/bmp',
  '.mp4': 'video/mp4',
  '.webm': 'video/webm',
  '.mov': 'video/quicktime',
  '.flac': 'audio/flac',
  '.wav': 'audio/x-wav',
  '.mp3': 'audio/mpeg',
  '.ogg': 'audio/ogg',
  '.json': 'application/json',
  '.txt': 'text/plain',
};

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const FOLDER: Record<string, FolderType | undefined> = { input: 'input', output: 'output', temp: 'temp' };

/** Returns true if handled. `path` has the optional `/api` prefix already stripped. */
export async function route(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  query: URLSearchParams,
): Promise<boolean> {
  const m = req.method ?? 'GET';
  const lim = ctx.maxUploadSize;
  try {
    if (m === 'GET' && path === '/') {
      sendRaw(
        res,
        200,
        '<!DOCTYPE html><html><head><title>ComfyUI</title></head><body>fake-comfyui</body></html>',
        { 'Content-Type': 'text/html; charset=utf-8' },
      );
      return true;
    }
    if (m === 'GET' && path === '/prompt') {
      sendJson(res, 200, { exec_info: { queue_remaining: ctx.queue.remaining } });
      return true;
    }
    if (m === 'POST' && path === '/prompt') {
      await postPrompt(ctx, req, res);
      return true;
    }
    if (m === 'GET' && path === '/queue') {
      const strip = ctx.flavor === 'new';
      sendJson(res, 200, {
        queue_running: ctx.queue.runningItems.map((i) => toTuple(i, !strip)),
        queue_pending: ctx.queue.pending.map((i) => toTuple(i, !strip)),
      });
      return true;
    }
    if (m === 'POST' && path === '/queue') {
      const body = await readJson(req, lim);
      if (isObj(body) && 'clear' in body && body.clear) ctx.queue.wipe();
      if (isObj(body) && 'delete' in body && Array.isArray(body.delete)) {
        for (const id of body.delete) ctx.queue.deletePending((i) => i.promptId === id);
      }
      sendStatus(res, 200);
      return true;
    }
    if (m === 'POST' && path === '/interrupt') {
      let body: unknown = {};
      try {
        body = JSON.parse((await readBody(req, lim)).toString('utf8'));
      } catch {
        body = {};
      }
      const pid = isObj(body) ? body.prompt_id : undefined;
      ctx.executor.interrupt(typeof pid === 'string' && pid ? pid : undefined);
      sendStatus(res, 200);
      return true;
    }
    if (m === 'POST' && path === '/free') {
      ctx.freeRequests.push(await readJson(req, lim));
      sendStatus(res, 200);
      return true;
    }
    if (m === 'GET' && path === '/history') {
      const mi = query.get('max_items');
      const off = query.get('offset');
      const maxItems = mi !== null ? Number.parseInt(mi, 10) : undefined;
      const offset = off !== null ? Number.parseInt(off, 10) : -1;
      if ((maxItems !== undefined && Number.isNaN(maxItems)) || Number.isNaN(offset))
        throw new HttpError(500); // int() ValueError
      sendJson(res, 200, new Map(ctx.queue.historySlice(maxItems, offset)));
      return true;
    }
    if (m === 'GET' && path.startsWith('/history/')) {
      const id = decodeURIComponent(path.slice('/history/'.length));
      const entry = ctx.queue.history.get(id);
      sendJson(res, 200, entry ? { [id]: entry } : {});
      return true;
    }
    if (m === 'POST' && path === '/history') {
      const body = await readJson(req, lim);
      if (isObj(body) && 'clear' in body && body.clear) ctx.queue.history.clear();
      if (isObj(body) && Array.isArray(body.delete))
        for (const id of body.delete) ctx.queue.history.delete(String(id));
      sendStatus(res, 200);
      return true;
    }
    if (m === 'GET' && path === '/system_stats') {
      sendJson(res, 200, systemStats(ctx.flavor));
      return true;
    }
    if (m === 'GET' && path === '/features') {
      sendJson(res, 200, ctx.serverFeatures());
      return true;
    }
    if (m === 'GET' && path === '/object_info') {
      const out: Record<string, unknown> = {};
      for (const [name, def] of ctx.catalogue) out[name] = nodeInfo(def, ctx.env);
      sendJson(res, 200, out);
      return true;
    }
    if (m === 'GET' && path.startsWith('/object_info/')) {
      const name = decodeURIComponent(path.slice('/object_info/'.length));
      const def = ctx.catalogue.get(name);
      sendJson(res, 200, def ? { [name]: nodeInfo(def, ctx.env) } : {});
      return true;
    }
    if (m === 'GET' && path === '/view') {
      view(ctx, res, query);
      return true;
    }
    if (m === 'POST' && (path === '/upload/image' || path === '/upload/mask')) {
      await upload(ctx, req, res, path === '/upload/mask');
      return true;
    }
    if (m === 'GET' && path === '/embeddings') {
      sendJson(
        res,
        200,
        (ctx.env.models.embeddings ?? []).map((e) => e.replace(/\.[^.]+$/, '')),
      );
      return true;
    }
    if (m === 'GET' && path === '/models') {
      sendJson(res, 200, Object.keys(ctx.env.models));
      return true;
    }
    if (m === 'GET' && path.startsWith('/models/')) {
      const folder = decodeURIComponent(path.slice('/models/'.length));
      const list = ctx.env.models[folder];
      if (!list) sendStatus(res, 404);
      else sendJson(res, 200, list);
      return true;
    }
    if (m === 'GET' && path === '/extensions') {
      sendJson(res, 200, []);
      return true;
    }
    return false;
  } catch (ex) {
    if (ex instanceof HttpError) {
      sendStatus(res, ex.status);
      return true;
    }
    throw ex;
  }
}

async function postPrompt(ctx: RouteContext, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const record: ReceivedPrompt = { at: Date.now(), body: undefined, status: 0, response: undefined };
  ctx.prompts.push(record);
  const reply = (status: number, body: unknown) => {
    record.status = status;
    record.response = body;
    sendJson(res, status, body);
  };
  let json: unknown;
  try {
    json = await readJson(req, ctx.maxUploadSize);
  } catch (ex) {
    record.status = ex instanceof HttpError ? ex.status : 500;
    throw ex;
  }
  record.body = json;
  if (!isObj(json)) {
    record.status = 500; // `"number" in json_data` on a non-dict → TypeError → 500
    throw new HttpError(500);
  }
  let number: number;
  let numberIsFloat = false;
  if ('number' in json) {
    number = Number(json.number);
    numberIsFloat = true;
  } else {
    number = ctx.nextNumber();
    if (json.front) number = -number;
  }
  if (!('prompt' in json)) {
    const error = {
      type: 'no_prompt',
      message: 'No prompt provided',
      details: 'No prompt provided',
      extra_info: {},
    };
    reply(400, { error, node_errors: {} });
    return;
  }
  let promptId: string;
  const given = json.prompt_id;
  if (ctx.flavor === 'new') {
    if (given === undefined || given === null) promptId = randomUUID();
    else if (typeof given === 'string' && UUID_RE.test(given)) promptId = given;
    else {
      const error = {
        type: 'invalid_prompt_id',
        message: 'prompt_id must be a valid UUID',
        details:
          'prompt_id must be a UUID string in canonical lowercase hyphenated form; omit it to let the server generate one',
        extra_info: {},
      };
      reply(400, { error, node_errors: {} });
      return;
    }
  } else {
    promptId =
      given === undefined
        ? randomUUID()
        : given === null
          ? 'None'
          : typeof given === 'string'
            ? given
            : JSON.stringify(given);
  }
  record.promptId = promptId;
  let valid;
  try {
    valid = validatePrompt(json.prompt, json.partial_execution_targets, ctx.catalogue, ctx.env, ctx.flavor);
  } catch {
    record.status = 500;
    throw new HttpError(500);
  }
  const extraData: Record<string, unknown> = isObj(json.extra_data) ? { ...json.extra_data } : {};
  if ('client_id' in json) extraData.client_id = json.client_id;
  if (ctx.flavor === 'new') extraData.create_time = Date.now();
  if (!valid.ok) {
    reply(400, { error: valid.error, node_errors: valid.nodeErrors });
    return;
  }
  const sensitive: Record<string, unknown> = {};
  for (const k of SENSITIVE_EXTRA_DATA_KEYS) {
    if (k in extraData) {
      sensitive[k] = extraData[k];
      delete extraData[k];
    }
  }
  const item: QueueItem = {
    number,
    numberIsFloat,
    promptId,
    prompt: valid.prompt,
    extraData,
    outputs: valid.outputs,
    sensitive,
  };
  ctx.queue.put(item);
  reply(200, { prompt_id: promptId, number: toTuple(item)[0], node_errors: valid.nodeErrors });
  ctx.executor.pump();
}

function view(ctx: RouteContext, res: ServerResponse, query: URLSearchParams): void {
  const raw = query.get('filename');
  if (raw === null) return sendStatus(res, 404);
  // folder_paths.annotated_filepath: a "name [output]" / "[input]" / "[temp]" suffix overrides `type`.
  let filename = raw;
  let type: FolderType | undefined;
  for (const t of ['output', 'input', 'temp'] as FolderType[]) {
    if (raw.endsWith(` [${t}]`)) {
      filename = raw.slice(0, -(t.length + 3));
      type = t;
      break;
    }
  }
  if (!filename) return sendStatus(res, 400);
  if (filename.startsWith('/') || filename.includes('..')) return sendStatus(res, 400);
  if (!type) {
    type = FOLDER[query.get('type') ?? 'output'];
    if (!type) return sendStatus(res, 400);
  }
  const subfolder = query.get('subfolder');
  if (subfolder !== null && !ctx.store.resolve(type, subfolder, '.')) return sendStatus(res, 403);
  const base = posix.basename(filename);
  const bytes = ctx.store.read(type, subfolder ?? '', base);
  if (!bytes) return sendStatus(res, 404);
  const ext = posix.extname(base).toLowerCase();
  const mime = MIME[ext] ?? 'application/octet-stream';
  sendRaw(res, 200, bytes, { 'Content-Type': mime, 'Content-Disposition': `filename="${base}"` });
}

async function upload(
  ctx: RouteContext,
  req: IncomingMessage,
  res: ServerResponse,
  isMask: boolean,
): Promise<void> {
  const body = await readBody(req, ctx.maxUploadSize);
  let form: FormData;
  try {
    form = await new Response(body, {
      headers: { 'content-type': req.headers['content-type'] ?? '' },
    }).formData();
  } catch {
    return sendStatus(res, 400);
  }
  const image = form.get('image');
  const overwrite = form.get('overwrite');
  const typeField = form.get('type');
  const type: FolderType | undefined =
    typeField === null ? 'input' : FOLDER[typeof typeField === 'string' ? typeField : ''];
  if (!type) return sendStatus(res, 500); // unbound variable in ComfyUI's get_dir_by_type (inferred)
  if (image === null || typeof image === 'string') return sendStatus(res, 400);
  let filename = image.name;
  if (!filename) return sendStatus(res, 400);
  const sf = form.get('subfolder');
  const subfolder = typeof sf === 'string' ? sf : '';
  const subNorm = posix.normalize(subfolder || '.');
  if (!ctx.store.resolve(type, subNorm, filename)) return sendStatus(res, 400);
  const bytes = Buffer.from(await image.arrayBuffer());
  const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
  let duplicate = false;
  if (!(overwrite === 'true' || overwrite === '1')) {
    const ext = posix.extname(filename);
    const stem = filename.slice(0, filename.length - ext.length);
    let i = 1;
    for (;;) {
      const existing = ctx.store.read(type, subNorm, filename);
      if (!existing) break;
      if (sha(existing) === sha(bytes)) {
        duplicate = true;
        break;
      }
      filename = `${stem} (${i})${ext}`;
      i++;
    }
  }
  if (!duplicate) {
    let toWrite: Buffer = bytes;
    if (isMask) {
      toWrite = maskComposite(ctx, form.get('original_ref'), bytes) ?? bytes;
    }
    ctx.store.write(type, subNorm, filename, toWrite);
  }
  sendJson(res, 200, { name: filename, subfolder, type });
}

/** /upload/mask: the mask's alpha is put onto the original image; the result is an RGBA PNG. */
function maskComposite(ctx: RouteContext, refField: unknown, maskBytes: Buffer): Buffer | undefined {
  if (typeof refField !== 'string') return undefined;
  let ref: unknown;
  try {
    ref = JSON.parse(refField);
  } catch {
    return undefined;
  }
  if (!isObj(ref) || typeof ref.filename !== 'string') return undefined;
  const ann = annotatedPath(
    ref.filename,
    FOLDER[typeof ref.type === 'string' ? ref.type : 'output'] ?? 'output',
  );
  const original = ctx.store.read(
    ann.type,
    typeof ref.subfolder === 'string' ? ref.subfolder : '',
    ann.filename,
  );
  const o = original ? decodePng(original) : undefined;
  const mk = decodePng(maskBytes);
  if (!o || !mk) return undefined;
  const alpha = new Float32Array(o.frame.width * o.frame.height);
  for (let y = 0; y < o.frame.height; y++)
    for (let x = 0; x < o.frame.width; x++) {
      const mx = Math.min(mk.frame.width - 1, x);
      const my = Math.min(mk.frame.height - 1, y);
      alpha[y * o.frame.width + x] = mk.alpha ? mk.alpha[my * mk.frame.width + mx] : 1;
    }
  return encodePngRgba(o.frame, alpha);
}

function systemStats(flavor: Flavor): Record<string, unknown> {
  const old = flavor === 'old';
  return {
    system: {
      os: old ? 'posix' : 'linux',
      ram_total: 34359738368,
      ram_free: 30064771072,
      comfyui_version: old ? '0.3.64' : '0.26.0',
      required_frontend_version: old ? '1.27.10' : '1.40.0',
      installed_templates_version: old ? '0.1.95' : '0.3.0',
      required_templates_version: old ? '0.1.95' : '0.3.0',
      python_version: '3.12.3 (main, fake-comfyui) [GCC 13.2.0]',
      pytorch_version: '2.7.1+cu128',
      embedded_python: false,
      argv: ['main.py', '--listen', '127.0.0.1'],
    },
    devices: [
      {
        name: 'cuda:0 NVIDIA GeForce RTX 4090 : cudaMallocAsync',
        type: 'cuda',
        index: 0,
        vram_total: 25393692672,
        vram_free: 24000000000,
        torch_vram_total: 0,
        torch_vram_free: 0,
      },
    ],
  };
}
