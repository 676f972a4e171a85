import type { ServerlessEndpointConfig } from '../config/serverless-endpoints';
import { describeMissing } from '../local/local-worker-capabilities';
import {
  missingFor,
  type MissingRequirements,
  type WorkerCapabilities,
} from '../workflows/worker-capabilities';
import type { WorkflowRequirements } from '../workflows/workflow-requirements';

/**
 * Which serverless endpoint takes a job: pure, shared by the dispatcher, the quote and the submit check.
 *
 * An endpoint's models are what its operator declared (RunPod cannot be asked what a worker-comfyui image holds);
 * node classes are never declared, so only models decide. An endpoint without a declaration may take any job,
 * as the one endpoint always could; so may any endpoint when the workflow cannot be read (`requirements` null).
 */

/** Each declaration as the capabilities `missingFor` compares with (built once: the config never changes). */
const DECLARED = new WeakMap<ServerlessEndpointConfig, WorkerCapabilities>();

function declaredCapabilities(endpoint: ServerlessEndpointConfig): WorkerCapabilities {
  let capabilities = DECLARED.get(endpoint);
  if (!capabilities) {
    const models: Record<string, string[]> = {};
    for (const { folder, name } of endpoint.models ?? []) (models[folder] ??= []).push(name);
    capabilities = { nodeClasses: [], models, fetchedAt: 0 };
    DECLARED.set(endpoint, capabilities);
  }
  return capabilities;
}

/** The job's models the endpoint does not declare (none when it declares nothing). */
export function modelsMissingOn(
  endpoint: ServerlessEndpointConfig,
  requirements: WorkflowRequirements | null,
): MissingRequirements {
  const none: MissingRequirements = { nodes: [], models: [], fileInputs: [] };
  if (!endpoint.models || !requirements) return none;
  // The same matching as for workers (canonical folders, either separator, embeddings without extension).
  return { ...none, models: missingFor(requirements, declaredCapabilities(endpoint)).models };
}

/** The endpoints that can run the job, cheapest first (ties: the configured order, the primary first). */
export function endpointsFor(
  endpoints: readonly ServerlessEndpointConfig[],
  requirements: WorkflowRequirements | null,
): ServerlessEndpointConfig[] {
  return endpoints
    .map((endpoint, order) => ({ endpoint, order }))
    .filter(({ endpoint }) => modelsMissingOn(endpoint, requirements).models.length === 0)
    .sort((a, b) => a.endpoint.pricePerSecond - b.endpoint.pricePerSecond || a.order - b.order)
    .map(({ endpoint }) => endpoint);
}

/**
 * `endpoints` (cheapest first) with those the job already failed on (`failedWorkers`: a serverless attempt's
 * worker is its endpoint) moved last: a retry goes to another endpoint that can run it before it tries one that
 * left it stuck in its queue or crashed its worker, and still has one when every endpoint failed it once.
 */
export function untriedEndpointsFirst<T extends { id: string }>(
  endpoints: readonly T[],
  failedWorkers: readonly string[],
): T[] {
  const failed = (endpoint: T) => failedWorkers.includes(endpoint.id);
  return [...endpoints.filter((endpoint) => !failed(endpoint)), ...endpoints.filter(failed)];
}

/**
 * When no endpoint can run the job: what the closest one (fewest missing models) lacks, for the error; undefined
 * when one can (or none is configured).
 */
export function missingOnEveryEndpoint(
  endpoints: readonly ServerlessEndpointConfig[],
  requirements: WorkflowRequirements | null,
): MissingRequirements | undefined {
  let closest: MissingRequirements | undefined;
  for (const endpoint of endpoints) {
    const missing = modelsMissingOn(endpoint, requirements);
    if (missing.models.length === 0) return undefined;
    if (!closest || missing.models.length < closest.models.length) closest = missing;
  }
  return closest;
}

/** The refusal of a job no endpoint can run (the submit check's 422 and the dispatcher's failure say the same). */
export const noEndpointMessage = (missing: MissingRequirements): string =>
  `No serverless endpoint declares this workflow's models: ${describeMissing(missing)}`;

/** Whether any endpoint declares its models: only then does routing need a job's requirements for serverless. */
export const anyEndpointDeclaresModels = (endpoints: readonly ServerlessEndpointConfig[]): boolean =>
  endpoints.some((endpoint) => endpoint.models !== null);
