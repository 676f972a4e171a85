import type { OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import type { ComfySocketHubs } from './comfyui-socket-hub';
import type { ComfyCallObserver } from './comfyui-http';
import type { LoggerService } from '@nestjs/common';

/**
 * Public types of the ComfyUI client, and the few wire shapes it reads. Wire facts: reference/comfyui.md.
 */

/** An API-format ("Save (API)") workflow: `{ "<node id>": { class_type, inputs, _meta? } }` (reference §3). */
export type ComfyApiWorkflow = Record<string, ComfyApiNode>;

export interface ComfyApiNode {
  class_type: string;
  inputs: Record<string, unknown>;
  _meta?: { title?: string } & Record<string, unknown>;
}

/** Where a file lives on a ComfyUI server, as `/view` wants it. `type` is `output` | `input` | `temp`. */
export interface ComfyFileRef {
  filename: string;
  subfolder: string;
  type: string;
}

/**
 * Which key of a node's `ui` output listed the file: `images` (SaveImage, PreviewImage, SaveAnimated*, and core
 * SaveVideo/SaveWEBM videos with `animated`), `gifs` (VideoHelperSuite VHS_VideoCombine), `audio`, `latents`
 * (SaveLatent), or whatever other key a custom node used with `{filename, subfolder, type}` items.
 */
export type ComfyOutputKind = 'images' | 'gifs' | 'audio' | 'video' | 'videos' | 'latents' | (string & {});

/** One file a finished prompt produced, from `/history/{id}` `outputs`. Pass it to `download()`. */
export interface ComfyOutputFile extends ComfyFileRef {
  nodeId: string;
  kind: ComfyOutputKind;
  /** `type === 'temp'`: a preview (PreviewImage, VHS with save_output=false). Callers usually skip these. */
  temp: boolean;
  /** The node said `animated: [true]` (animated WEBP/PNG, core video). */
  animated?: boolean;
  /** VHS `format`, e.g. `video/h264-mp4` or `image/gif` (not always a MIME type). */
  format?: string;
  /** VHS `frame_rate`. */
  frameRate?: number;
  /** MIME type guessed from the extension (the server's header may differ; `download()` returns that). */
  contentType: string;
}

/** A downloaded output file. */
export interface ComfyDownload {
  data: Buffer;
  /** The server's Content-Type, or one guessed from the extension when it said application/octet-stream. */
  contentType: string;
}

/** An input image to upload before the prompt (`POST /upload/image`). */
export interface ComfyInputImage {
  /** File name ComfyUI stores it under; the workflow's LoadImage refers to it (`sub/name` with a subfolder). */
  name: string;
  data: Buffer;
  subfolder?: string;
  /** Default true: an existing file of that name is replaced (as worker-comfyui does). */
  overwrite?: boolean;
  /** Default `input`. */
  type?: 'input' | 'temp' | 'output';
  /** Default guessed from the name's extension. */
  contentType?: string;
}

/** ComfyUI's answer to an upload: the name it stored the file under (it renames on collisions without overwrite). */
export interface ComfyUploadedImage {
  name: string;
  subfolder: string;
  type: string;
}

/**
 * Progress of one prompt. `kind`:
 * - `executing`: node `nodeId` starts (value 0, max 1, percent 0);
 * - `progress`: a step inside node `nodeId` (e.g. sampler steps): value/max, percent = 100*value/max;
 * - `cached`: nodes served from ComfyUI's cache (`cachedNodeIds`; nodeId null, value/max = count, percent 100).
 * `percent` is per node: ComfyUI does not announce how many nodes will run.
 */
export interface ComfyProgress {
  promptId: string;
  kind: 'executing' | 'progress' | 'cached';
  nodeId: string | null;
  value: number;
  max: number;
  percent: number;
  cachedNodeIds?: string[];
}

/** One `/history/{id}` entry (only the parts we read are typed; reference §5). */
export interface ComfyHistoryEntry {
  prompt?: unknown[];
  outputs?: Record<string, Record<string, unknown>>;
  status?: {
    status_str?: string;
    completed?: boolean;
    messages?: [string, Record<string, unknown>][];
  } | null;
  meta?: Record<string, unknown>;
}

/** `GET /queue`, reduced to prompt ids. `pending` is sorted by queue number (the wire shows raw heap order). */
export interface ComfyQueueState {
  running: string[];
  pending: string[];
}

/** `GET /system_stats`, parsed. Absent fields are undefined (they vary between versions, reference §6). */
export interface ComfySystemStats {
  os?: string;
  comfyuiVersion?: string;
  pythonVersion?: string;
  pytorchVersion?: string;
  ramTotal?: number;
  ramFree?: number;
  devices: ComfyDevice[];
  /** The whole JSON answer. */
  raw: Record<string, unknown>;
}

export interface ComfyDevice {
  name?: string;
  type?: string;
  index?: number | null;
  vramTotal?: number;
  vramFree?: number;
  torchVramTotal?: number;
  torchVramFree?: number;
}

export type ComfyLogger = Pick<LoggerService, 'warn'> & Partial<Pick<LoggerService, 'debug'>>;

export interface ComfyUiClientOptions {
  /** Timeout of each HTTP call except downloads and uploads, ms. Default 10 000. */
  requestTimeoutMs?: number;
  /** Timeout of one `/view` download or `/upload/image` call, ms. Default 300 000. */
  transferTimeoutMs?: number;
  /**
   * Timeout of `GET /object_info`, ms. Default 60 000: it lists every node and model file (MBs with custom
   * nodes) and ComfyUI builds it on demand (SwarmUI allows 1 min, reference §9).
   */
  objectInfoTimeoutMs?: number;
  /** How often to poll `/history` + `/queue` while the websocket is down (and to re-check a missing prompt), ms. Default 1000. */
  pollIntervalMs?: number;
  /** Safety-net poll while the websocket is up (it may not carry our events, e.g. after a re-attach), ms. Default 5000. */
  connectedPollIntervalMs?: number;
  /** How long to wait for the websocket handshake before going on without it, ms. Default 5000. */
  websocketConnectTimeoutMs?: number;
  /** Reconnect attempts after the websocket drops (consecutive failures; 0 = poll only). Default 3. */
  websocketReconnectAttempts?: number;
  /** Delay before each websocket reconnect, ms. Default 1000. */
  websocketReconnectDelayMs?: number;
  /** Websocket base URL, when it differs from the HTTP one (a proxy). Default: baseUrl with ws(s)://. */
  websocketUrl?: string;
  /** Consecutive "in neither queue nor history" checks before `ComfyPromptLostError`. Default 3 (min 2). */
  lostPromptChecks?: number;
  /** Consecutive failed polls (server unreachable) before the wait gives up with `ComfyUnavailableError`. Default 3. */
  maxPollFailures?: number;
  /** Where warnings go. Default: Nest `Logger('ComfyUiClient')`. */
  logger?: ComfyLogger;
  /**
   * Share one websocket per server between runs (`ComfyUiClientFactory` passes its own): a `run()` without a
   * `clientId` then submits under the hub's client id and follows its prompt on the shared socket. Without
   * hubs every run opens a socket of its own.
   */
  socketHubs?: ComfySocketHubs;
  /**
   * Address rules every HTTP and websocket connection to this server goes through (src/common/net). Default:
   * the rules' defaults (cloud metadata and link-local refused; loopback and private networks allowed).
   */
  addressPolicy?: OutboundAddressPolicy;
  /** Told about every HTTP call to this server once it ended (metrics; `ComfyUiClientFactory` passes its own). */
  onHttpCall?: ComfyCallObserver;
}

export interface ComfyWaitOptions {
  onProgress?: (progress: ComfyProgress) => void;
  /** Stops the WAIT (rejects with `ComfyAbortedError`); the prompt goes on unless you `cancel()` it. */
  signal?: AbortSignal;
  /** Overall deadline of the wait, ms (rejects with `ComfyDeadlineError`). Default: none. */
  timeoutMs?: number;
}

export interface ComfyRunOptions extends ComfyWaitOptions {
  /** Uploaded (overwrite=true) before the prompt is submitted. */
  images?: ComfyInputImage[];
  /**
   * The websocket client id. Default: the shared socket's (with `socketHubs`), else a fresh UUID. A run with its
   * own id opens its own socket: ComfyUI routes events to the newest socket of an id, so use one id per job.
   */
  clientId?: string;
  /** Extra `extra_data` keys for `POST /prompt` (e.g. `extra_pnginfo`); `client_id` is set by the client. */
  extraData?: Record<string, unknown>;
  /**
   * Called once ComfyUI accepted the prompt, before waiting: persist the id here to re-attach after a restart.
   * If it throws, the prompt is cancelled (best effort) and `run()` rejects with that error.
   */
  onSubmitted?: (promptId: string, clientId: string) => void | Promise<void>;
}

export interface ComfySubmitted {
  promptId: string;
  /** Queue number (lower runs first). */
  number: number;
  /**
   * Non-empty when some output nodes failed validation but at least one passed: only the good ones run
   * (reference §2).
   */
  nodeErrors: Record<string, unknown>;
}

/** How a finished prompt was noticed: the websocket's final `executing {node:null}` or polling `/history`. */
export type ComfyCompletionSource = 'websocket' | 'history';

export interface ComfyPromptResult {
  promptId: string;
  /** Every file the prompt produced (including temp previews: filter on `temp`). */
  outputs: ComfyOutputFile[];
  /** The raw history entry (outputs incl. non-file keys like `text`, status, meta). */
  history: ComfyHistoryEntry;
  completedVia: ComfyCompletionSource;
}

export interface ComfyRunResult extends ComfyPromptResult {
  clientId: string;
  uploadedImages: ComfyUploadedImage[];
  /** Output nodes that failed validation while others ran (see `ComfySubmitted.nodeErrors`). */
  nodeErrors: Record<string, unknown>;
}

export type ComfyCancelOutcome =
  /** It was pending and is now removed from the queue. */
  | 'dequeued'
  /** It was running and `/interrupt` was sent for it. */
  | 'interrupted'
  /** Neither pending nor running: already finished, or unknown to this server. */
  | 'not-found';
