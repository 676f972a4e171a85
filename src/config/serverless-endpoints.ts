import { ConfigError, type Env, readList, readNumber, readOptionalString } from './env-parsers';

/**
 * The RunPod serverless endpoints jobs may go to (e.g. one per GPU class), each billed at its own price. The first
 * is the primary one (RUNPOD_SERVERLESS_ENDPOINT_ID): the scaling policy weighs pods against its price.
 */
export interface ServerlessEndpointConfig {
  /** RunPod endpoint id (the path segment of `{RUNPOD_SERVERLESS_URL}/{id}/run`). */
  id: string;
  /** USD per billed second of one worker of this endpoint (RunPod bills execution time, rounded up). */
  pricePerSecond: number;
  /** For people: e.g. the GPU class ("A100 80GB"); null when not given. */
  label: string | null;
  /**
   * Model files the endpoint's workers have, as `folder/name` (`checkpoints/sdxl.safetensors`; routing compares
   * folders by their canonical name, `unet` = `diffusion_models`), declared by the operator: RunPod cannot be asked what a worker-comfyui image holds. null when not
   * declared: the endpoint may be sent any job (as before), and ComfyUI fails one it cannot run.
   */
  models: ReadonlyArray<{ folder: string; name: string }> | null;
}

/** Ours, for sanity: a fleet has a handful of endpoints; a declaration lists the models of one image. */
export const SERVERLESS_ENDPOINT_LIMITS = {
  maxEndpoints: 16,
  maxModelsPerEndpoint: 2_000,
  maxLabelLength: 80,
} as const;

/** RunPod endpoint ids seen in reference/ (`sim-endpoint-01`, `abc123xyz`): a URL path segment. */
const ENDPOINT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/**
 * Reads the endpoints: the primary from RUNPOD_SERVERLESS_ENDPOINT_ID, RUNPOD_SERVERLESS_PRICE_PER_SECOND and
 * RUNPOD_SERVERLESS_MODELS (a comma list of `folder/name`); more from RUNPOD_SERVERLESS_ENDPOINTS, a JSON array of
 * `{"id", "pricePerSecond", "label"?, "models"?: ["folder/name", ...]}`. Without a primary id, the first of the
 * array is the primary. Empty when none is configured. Ids must be unique.
 */
export function readServerlessEndpoints(env: Env): ServerlessEndpointConfig[] {
  const endpoints: ServerlessEndpointConfig[] = [];
  const primaryId = readOptionalString(env, 'RUNPOD_SERVERLESS_ENDPOINT_ID');
  const primaryModels = readList(env, 'RUNPOD_SERVERLESS_MODELS');
  if (primaryId !== undefined) {
    endpoints.push({
      id: checkedId(primaryId, 'RUNPOD_SERVERLESS_ENDPOINT_ID'),
      pricePerSecond: readNumber(env, 'RUNPOD_SERVERLESS_PRICE_PER_SECOND', 0.00034, 0),
      label: null,
      models: primaryModels.length ? parseModels(primaryModels, 'RUNPOD_SERVERLESS_MODELS') : null,
    });
  } else if (primaryModels.length) {
    throw new ConfigError(
      'RUNPOD_SERVERLESS_MODELS',
      'needs RUNPOD_SERVERLESS_ENDPOINT_ID (the endpoint it describes)',
    );
  }
  endpoints.push(...readEndpointList(env));
  if (endpoints.length > SERVERLESS_ENDPOINT_LIMITS.maxEndpoints)
    throw new ConfigError(
      'RUNPOD_SERVERLESS_ENDPOINTS',
      `may list at most ${SERVERLESS_ENDPOINT_LIMITS.maxEndpoints} endpoints`,
    );
  const seen = new Set<string>();
  for (const endpoint of endpoints) {
    if (seen.has(endpoint.id))
      throw new ConfigError('RUNPOD_SERVERLESS_ENDPOINTS', `names endpoint "${endpoint.id}" twice`);
    seen.add(endpoint.id);
  }
  return endpoints;
}

function readEndpointList(env: Env): ServerlessEndpointConfig[] {
  const name = 'RUNPOD_SERVERLESS_ENDPOINTS';
  const text = readOptionalString(env, 'RUNPOD_SERVERLESS_ENDPOINTS');
  if (text === undefined) return [];
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(name, 'must be a JSON array of {"id", "pricePerSecond", "label"?, "models"?}');
  }
  if (!Array.isArray(parsed)) throw new ConfigError(name, 'must be a JSON array');
  if (parsed.length > SERVERLESS_ENDPOINT_LIMITS.maxEndpoints)
    throw new ConfigError(name, `may list at most ${SERVERLESS_ENDPOINT_LIMITS.maxEndpoints} endpoints`);
  return parsed.map((item: unknown, index) => {
    const where = `${name}[${index}]`;
    if (typeof item !== 'object' || item === null || Array.isArray(item))
      throw new ConfigError(where, 'must be an object');
    const entry = item as Record<string, unknown>;
    const unknownKeys = Object.keys(entry).filter(
      (key) => !['id', 'pricePerSecond', 'label', 'models'].includes(key),
    );
    if (unknownKeys.length)
      throw new ConfigError(where, `has unknown key(s): ${unknownKeys.slice(0, 5).join(', ')}`);
    if (typeof entry.id !== 'string') throw new ConfigError(`${where}.id`, 'must be a string');
    const price = entry.pricePerSecond;
    if (typeof price !== 'number' || !Number.isFinite(price) || price < 0)
      throw new ConfigError(`${where}.pricePerSecond`, 'must be a number of USD per second, at least 0');
    if (
      entry.label !== undefined &&
      (typeof entry.label !== 'string' || entry.label.length > SERVERLESS_ENDPOINT_LIMITS.maxLabelLength)
    )
      throw new ConfigError(
        `${where}.label`,
        `must be a string of at most ${SERVERLESS_ENDPOINT_LIMITS.maxLabelLength} characters`,
      );
    let models: ServerlessEndpointConfig['models'] = null;
    if (entry.models !== undefined) {
      if (!Array.isArray(entry.models) || entry.models.some((model) => typeof model !== 'string'))
        throw new ConfigError(`${where}.models`, 'must be an array of "folder/name" strings');
      models = parseModels(entry.models as string[], `${where}.models`);
    }
    return {
      id: checkedId(entry.id, `${where}.id`),
      pricePerSecond: price,
      label: typeof entry.label === 'string' && entry.label.trim() ? entry.label.trim() : null,
      models,
    };
  });
}

function checkedId(id: string, variable: string): string {
  if (!ENDPOINT_ID.test(id))
    throw new ConfigError(
      variable,
      `must be a RunPod endpoint id (letters, digits, "_" or "-"), got "${id.slice(0, 80)}"`,
    );
  return id;
}

/** `checkpoints/sdxl/a.safetensors` → folder `checkpoints`, name `sdxl/a.safetensors` (ComfyUI's own split). */
function parseModels(values: readonly string[], variable: string): Array<{ folder: string; name: string }> {
  if (values.length > SERVERLESS_ENDPOINT_LIMITS.maxModelsPerEndpoint)
    throw new ConfigError(
      variable,
      `may list at most ${SERVERLESS_ENDPOINT_LIMITS.maxModelsPerEndpoint} models`,
    );
  return values.map((value) => {
    const normalized = value.trim().replace(/\\/g, '/');
    const slash = normalized.indexOf('/');
    if (slash <= 0 || slash === normalized.length - 1)
      throw new ConfigError(
        variable,
        `must list models as "folder/name" (e.g. checkpoints/sdxl.safetensors), got "${value.slice(0, 120)}"`,
      );
    return { folder: normalized.slice(0, slash), name: normalized.slice(slash + 1) };
  });
}

/**
 * The dearest endpoint's price (USD per second; 0 without endpoints): what the budget counts for a serverless job
 * before it knows the endpoint, so admitting one can never pass the daily limit because it went to a dearer one.
 */
export const dearestPricePerSecond = (endpoints: readonly ServerlessEndpointConfig[]): number =>
  endpoints.reduce((dearest, endpoint) => Math.max(dearest, endpoint.pricePerSecond), 0);
