import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';

/**
 * TEST DOUBLE for the RunPod fake's own specs: a tiny, deterministic ComfyUI that speaks just the routes
 * worker-comfyui uses (GET /, /system_stats, /object_info, POST /upload/image, POST /prompt, GET /history/{id},
 * GET /view, and a /ws that greets with a `status` message), with formats from reference/comfyui.md §1-§5.
 * The full fake lives in ../comfyui/fake-comfyui.ts (another module); this one exists so the serverless worker
 * can be tested against scripted outcomes:
 *   EmptyImage / LoadImage      -> no ui output (LoadImage fails validation unless the image was uploaded)
 *   SaveImage                   -> ui.images type "output"
 *   PreviewImage                -> ui.images type "temp"
 *   VHS_VideoCombine            -> ui.gifs (worker-comfyui ignores it)
 *   CheckpointLoaderSimple      -> 400 value_not_in_list unless ckpt_name is in `checkpoints`
 *   SimRaise                    -> execution_error at that node
 *   anything else               -> 400 invalid_prompt "Cannot execute because node X does not exist."
 */
export interface ScriptedComfyOptions {
  /** Real ms a prompt takes before its history entry appears. */
  executionMs?: number;
  checkpoints?: string[];
}

const OUTPUT_NODES = new Set(['SaveImage', 'PreviewImage', 'VHS_VideoCombine', 'SimRaise']);
const KNOWN = new Set([...OUTPUT_NODES, 'EmptyImage', 'LoadImage', 'CheckpointLoaderSimple']);

type Workflow = Record<string, { class_type?: string; inputs?: Record<string, unknown> }>;

export class ScriptedComfyUI {
  private server?: Server;
  private wss?: WebSocketServer;
  private baseUrl?: string;
  private readonly history = new Map<string, unknown>();
  private readonly files = new Map<string, Buffer>();
  readonly uploads: string[] = [];
  readonly prompts: Array<{ promptId: string; body: Record<string, unknown> }> = [];
  private counter = 0;
  private readonly timers = new Set<NodeJS.Timeout>();

  constructor(private readonly options: ScriptedComfyOptions = {}) {}

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    const server = createServer((req, res) => {
      void this.handle(req, res);
    });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      if (!req.url?.startsWith('/ws')) return socket.destroy();
      wss.handleUpgrade(req, socket, head, (ws) => {
        const sid = new URL(req.url ?? '/', 'http://x').searchParams.get('clientId') ?? randomUUID();
        ws.send(JSON.stringify({ type: 'status', data: { status: { exec_info: { queue_remaining: 0 } }, sid } }));
        ws.on('message', (m: Buffer) => ws.send(`echo:${m.toString()}`));
      });
    });
    this.server = server;
    this.wss = wss;
    await new Promise<void>((resolve) => server.listen(port, host, resolve));
    this.baseUrl = `http://${host}:${(server.address() as AddressInfo).port}`;
    return this.baseUrl;
  }

  get url(): string {
    if (!this.baseUrl) throw new Error('not listening');
    return this.baseUrl;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    const server = this.server;
    this.server = undefined;
    if (!server) return;
    for (const c of this.wss?.clients ?? []) c.terminate();
    this.wss?.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private json(res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
  }

  private async body(req: IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const p = url.pathname.replace(/^\/api(?=\/)/, '');
    if (req.method === 'GET' && p === '/') return void res.writeHead(200, { 'content-type': 'text/html' }).end('<html></html>');
    if (req.method === 'GET' && p === '/system_stats') {
      return this.json(res, 200, { system: { os: 'posix', comfyui_version: '0.3.64' }, devices: [] });
    }
    if (req.method === 'GET' && p === '/object_info') {
      return this.json(res, 200, { CheckpointLoaderSimple: { input: { required: { ckpt_name: [this.options.checkpoints ?? []] } } } });
    }
    if (req.method === 'POST' && p === '/upload/image') {
      const raw = (await this.body(req)).toString('latin1');
      const name = /filename="([^"]+)"/.exec(raw)?.[1];
      if (!name) return this.json(res, 400, {});
      this.uploads.push(name);
      return this.json(res, 200, { name, subfolder: '', type: 'input' });
    }
    if (req.method === 'POST' && p === '/prompt') return this.prompt(JSON.parse((await this.body(req)).toString()) as Record<string, unknown>, res);
    if (req.method === 'GET' && p.startsWith('/history/')) {
      const id = decodeURIComponent(p.slice('/history/'.length));
      const entry = this.history.get(id);
      return this.json(res, 200, entry ? { [id]: entry } : {});
    }
    if (req.method === 'GET' && p === '/view') {
      const f = this.files.get(`${url.searchParams.get('type') ?? 'output'}/${url.searchParams.get('filename') ?? ''}`);
      if (!f) return void res.writeHead(404).end();
      return void res.writeHead(200, { 'content-type': 'image/png' }).end(f);
    }
    res.writeHead(404).end();
  }

  private prompt(body: Record<string, unknown>, res: ServerResponse): void {
    const wf = body.prompt as Workflow | undefined;
    if (!wf) {
      return this.json(res, 400, { error: { type: 'no_prompt', message: 'No prompt provided', details: 'No prompt provided', extra_info: {} }, node_errors: {} });
    }
    for (const [id, node] of Object.entries(wf)) {
      if (!node.class_type || !KNOWN.has(node.class_type)) {
        return this.json(res, 400, {
          error: { type: 'invalid_prompt', message: `Cannot execute because node ${node.class_type ?? ''} does not exist.`, details: `Node ID '#${id}'`, extra_info: {} },
          node_errors: {},
        });
      }
    }
    const outputs = Object.entries(wf).filter(([, n]) => OUTPUT_NODES.has(n.class_type ?? ''));
    if (!outputs.length) {
      return this.json(res, 400, { error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} }, node_errors: {} });
    }
    const nodeErrors: Record<string, unknown> = {};
    for (const [id, node] of Object.entries(wf)) {
      const bad =
        node.class_type === 'CheckpointLoaderSimple'
          ? { input: 'ckpt_name', value: node.inputs?.ckpt_name, list: this.options.checkpoints ?? [] }
          : node.class_type === 'LoadImage'
            ? { input: 'image', value: node.inputs?.image, list: this.uploads }
            : undefined;
      if (bad && !bad.list.includes(bad.value as string)) {
        nodeErrors[id] = {
          errors: [
            {
              type: 'value_not_in_list',
              message: 'Value not in list',
              details: `${bad.input}: '${String(bad.value)}' not in [${bad.list.map((x) => `'${x}'`).join(', ')}]`,
              extra_info: { input_name: bad.input },
            },
          ],
          dependent_outputs: outputs.map(([oid]) => oid),
          class_type: node.class_type,
        };
      }
    }
    if (Object.keys(nodeErrors).length) {
      return this.json(res, 400, {
        error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
        node_errors: nodeErrors,
      });
    }
    const promptId = randomUUID();
    const number = this.counter++;
    this.prompts.push({ promptId, body });
    this.json(res, 200, { prompt_id: promptId, number, node_errors: {} });
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.finish(promptId, number, wf, body);
    }, this.options.executionMs ?? 20);
    this.timers.add(t);
  }

  private finish(promptId: string, number: number, wf: Workflow, body: Record<string, unknown>): void {
    const ui: Record<string, unknown> = {};
    const messages: Array<[string, Record<string, unknown>]> = [['execution_start', { prompt_id: promptId, timestamp: Date.now() }]];
    let failed = false;
    for (const [id, node] of Object.entries(wf)) {
      const prefix = (node.inputs?.filename_prefix as string | undefined) ?? 'ComfyUI';
      const n = String(this.files.size + 1).padStart(5, '0');
      if (node.class_type === 'SimRaise') {
        failed = true;
        messages.push([
          'execution_error',
          {
            prompt_id: promptId,
            node_id: id,
            node_type: 'SimRaise',
            executed: [],
            exception_message: (node.inputs?.message) ?? 'simulated failure',
            exception_type: 'RuntimeError',
            traceback: [],
            current_inputs: {},
            current_outputs: {},
            timestamp: Date.now(),
          },
        ]);
        break;
      }
      if (node.class_type === 'SaveImage' || node.class_type === 'PreviewImage') {
        const temp = node.class_type === 'PreviewImage';
        const filename = temp ? `ComfyUI_temp_abcde_${n}_.png` : `${prefix}_${n}_.png`;
        const type = temp ? 'temp' : 'output';
        this.files.set(`${type}/${filename}`, Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(filename)]));
        ui[id] = { images: [{ filename, subfolder: '', type }] };
      }
      if (node.class_type === 'VHS_VideoCombine') {
        const filename = `${prefix}_${n}.mp4`;
        this.files.set(`output/${filename}`, Buffer.from('mp4'));
        ui[id] = { gifs: [{ filename, subfolder: '', type: 'output', format: 'video/h264-mp4', frame_rate: 8 }] };
      }
    }
    messages.push([failed ? 'execution_error_done' : 'execution_success', { prompt_id: promptId, timestamp: Date.now() }]);
    this.history.set(promptId, {
      prompt: [number, promptId, wf, { client_id: body.client_id }, Object.keys(ui)],
      outputs: ui,
      status: { status_str: failed ? 'error' : 'success', completed: !failed, messages: messages.filter((m) => m[0] !== 'execution_error_done') },
      meta: {},
    });
  }
}
