import { inspect } from 'node:util';
import { ConfigError, type Env, readList, readOptionalString, readString } from './env-parsers';

/**
 * What new pods get besides their image and GPU, so they find their models: a network volume (it pins the pod to
 * the volume's data center), preferred data centers, a template, and extra environment variables (tokens and
 * options: the values are secrets).
 */
export interface RunPodPodSettings {
  /** RUNPOD_NETWORK_VOLUME_ID: a network volume holding the models, mounted in every pod. */
  networkVolumeId: string | undefined;
  /** RUNPOD_NETWORK_VOLUME_MOUNT_PATH: where it is mounted (REST v2 requires a path; default `/workspace`). */
  networkVolumeMountPath: string;
  /** RUNPOD_DATA_CENTER_IDS: preferred data centers; empty = RunPod chooses (or the volume's, once known). */
  dataCenterIds: string[];
  /** RUNPOD_TEMPLATE_ID: a RunPod pod template (RUNPOD_DOCKER_IMAGE still names the image and overrides it). */
  templateId: string | undefined;
  /** RUNPOD_POD_ENV: extra environment variables of every pod. Values are secrets; see `PodEnv`. */
  env: PodEnv;
}

/**
 * Environment variables for pods. A plain record (spread or iterate it to send it), whose values never show when
 * the object is serialised (`JSON.stringify`) or inspected (`console.log`, Nest's logger): only the names do.
 * That keeps a config dump or a debug line from carrying a token; callers still must never log the values.
 */
export type PodEnv = Readonly<Record<string, string>>;

export const REDACTED_VALUE = '[REDACTED]';

export function podEnv(entries: Record<string, string>): PodEnv {
  const env: Record<string, string> = { ...entries };
  const redacted = (): Record<string, string> =>
    Object.fromEntries(Object.keys(env).map((key) => [key, REDACTED_VALUE]));
  Object.defineProperty(env, 'toJSON', { value: redacted, enumerable: false });
  Object.defineProperty(env, inspect.custom, { value: () => redacted(), enumerable: false });
  return Object.freeze(env);
}

/** Limits of RUNPOD_POD_ENV: ours (RunPod documents none), generous for tokens and options. */
export const POD_ENV_LIMITS = {
  maxVariables: 64,
  maxNameLength: 128,
  maxValueLength: 16 * 1024,
  maxTotalChars: 64 * 1024,
} as const;

/** POSIX shell names: what a container's entrypoint can read as `$NAME`. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** RunPod ids seen in reference/ (volumes `agv6w2qcg7`, `vol_xyz`; templates `30zmvf89kd`, `runpod-ubuntu`). */
const RUNPOD_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
/** Data center ids seen in reference/: `US-TX-3`, `EU-RO-1`, `US-KS-2`. */
const DATA_CENTER_ID = /^[A-Za-z0-9][A-Za-z0-9-]{0,31}$/;

/**
 * Reads the pod settings. `podApi` matters for one documented difference: GraphQL's
 * `podFindAndDeployOnDemand` takes a single `dataCenterId` (reference/runpod.md §1.2), REST v2 a list.
 * Error messages name variables and keys, never a RUNPOD_POD_ENV value.
 */
export function readPodSettings(env: Env, podApi: 'rest' | 'graphql'): RunPodPodSettings {
  const networkVolumeId = readOptionalString(env, 'RUNPOD_NETWORK_VOLUME_ID');
  if (networkVolumeId !== undefined && !RUNPOD_ID.test(networkVolumeId)) {
    throw new ConfigError(
      'RUNPOD_NETWORK_VOLUME_ID',
      `must be a RunPod network volume id (letters, digits, "_" or "-"), got "${networkVolumeId}"`,
    );
  }
  const networkVolumeMountPath = readString(env, 'RUNPOD_NETWORK_VOLUME_MOUNT_PATH', '/workspace');
  if (!/^\/[^\s,]*[^\s,/]$/.test(networkVolumeMountPath)) {
    throw new ConfigError(
      'RUNPOD_NETWORK_VOLUME_MOUNT_PATH',
      `must be an absolute path other than "/" without spaces or commas, got "${networkVolumeMountPath}"`,
    );
  }
  const templateId = readOptionalString(env, 'RUNPOD_TEMPLATE_ID');
  if (templateId !== undefined && !RUNPOD_ID.test(templateId)) {
    throw new ConfigError(
      'RUNPOD_TEMPLATE_ID',
      `must be a RunPod template id (letters, digits, "_" or "-"), got "${templateId}"`,
    );
  }
  const dataCenterIds = readList(env, 'RUNPOD_DATA_CENTER_IDS');
  dataCenterIds.forEach((id, index) => {
    if (!DATA_CENTER_ID.test(id)) {
      throw new ConfigError(
        'RUNPOD_DATA_CENTER_IDS',
        `entry ${index + 1} must be a RunPod data center id such as US-TX-3, got "${id}"`,
      );
    }
    if (dataCenterIds.indexOf(id) !== index) {
      throw new ConfigError('RUNPOD_DATA_CENTER_IDS', `lists ${id} twice`);
    }
  });
  if (podApi === 'graphql' && dataCenterIds.length > 1) {
    throw new ConfigError(
      'RUNPOD_DATA_CENTER_IDS',
      `lists ${dataCenterIds.length} data centers, but the GraphQL API (RUNPOD_POD_API=graphql) takes one ` +
        'dataCenterId per pod: list one, or use RUNPOD_POD_API=rest',
    );
  }
  return {
    networkVolumeId,
    networkVolumeMountPath,
    dataCenterIds,
    templateId,
    env: readPodEnv(env),
  };
}

const POD_ENV_FORMAT = 'a JSON object of string values, e.g. {"HF_TOKEN":"...","COMFY_ARGS":"--lowvram"}';

/** RUNPOD_POD_ENV: a JSON object of name -> string value. Messages never quote the text (it holds secrets). */
export function readPodEnv(env: Env): PodEnv {
  const name = 'RUNPOD_POD_ENV';
  const text = readOptionalString(env, 'RUNPOD_POD_ENV');
  if (text === undefined) return podEnv({});
  if (text.length > POD_ENV_LIMITS.maxTotalChars) {
    throw new ConfigError(name, `is ${text.length} characters; at most ${POD_ENV_LIMITS.maxTotalChars}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    // V8's message quotes the text around the fault: keep only the position.
    const position = /position (\d+)/.exec((error as Error).message)?.[1];
    throw new ConfigError(
      name,
      `is not valid JSON${position ? ` (at character ${position})` : ''}: it must be ${POD_ENV_FORMAT}`,
    );
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError(name, `must be ${POD_ENV_FORMAT}`);
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  if (entries.length > POD_ENV_LIMITS.maxVariables) {
    throw new ConfigError(name, `has ${entries.length} variables; at most ${POD_ENV_LIMITS.maxVariables}`);
  }
  const out: Record<string, string> = {};
  entries.forEach(([key, value], index) => {
    // A malformed name may be a value pasted in the wrong place: say which entry, not what it holds.
    if (!ENV_NAME.test(key) || key.length > POD_ENV_LIMITS.maxNameLength) {
      throw new ConfigError(
        name,
        `entry ${index + 1}: the name must be letters, digits and "_", not starting with a digit, at most ` +
          `${POD_ENV_LIMITS.maxNameLength} characters`,
      );
    }
    if (typeof value !== 'string') {
      throw new ConfigError(name, `${key} must have a string value (numbers and booleans in quotes)`);
    }
    if (value.length > POD_ENV_LIMITS.maxValueLength) {
      throw new ConfigError(name, `${key} has a value longer than ${POD_ENV_LIMITS.maxValueLength} characters`);
    }
    if (value.includes('\0')) {
      throw new ConfigError(name, `${key} has a value with a NUL character, which an environment cannot hold`);
    }
    out[key] = value;
  });
  return podEnv(out);
}
