import { requestErrorFrom, type RunPodHttp, type RunPodHttpResponse } from './runpod-http';
import type { RunPodRequestError } from './runpod.errors';

export const SERVERLESS_ENDPOINT_API = Symbol('SERVERLESS_ENDPOINT_API');

/**
 * What RunPod says about a serverless endpoint's scaling limits. Each field is null when RunPod did not say it
 * (or said something unreadable), so a caller can fall back to its own configuration field by field.
 */
export interface ServerlessEndpointLimits {
  /** `workers.max`: the most workers RunPod will run for the endpoint at once. */
  workersMax: number | null;
  /** `workers.min`: active (always-on) workers. */
  workersMin: number | null;
  /** `workers.idleTimeout`, seconds an idle worker is kept before it scales down. */
  idleTimeoutS: number | null;
}

export interface ServerlessEndpointApiOptions {
  /** e.g. `https://api.runpod.io/v2` (the OpenAPI server is `https://api.runpod.io`, paths start `/v2`). */
  baseUrl: string;
  http: RunPodHttp;
}

/**
 * The subset of REST v2 `Endpoint` we read. The field names are from the OpenAPI document
 * (reference/runpod-rest-v2.openapi.json, `components.schemas.Endpoint` / `EndpointWorkers`); what a real
 * endpoint returns is UNVERIFIED here, hence everything optional and checked as we map. The schema says
 * `idleTimeout` is omitted for queue endpoints that scale on `REQUEST_COUNT`.
 */
interface WireEndpoint {
  workers?: { min?: unknown; max?: unknown; idleTimeout?: unknown } | null;
}

/** Reads a serverless endpoint's configuration over RunPod REST v2 (`GET /v2/serverless/{id}`, getEndpoint). */
export class ServerlessEndpointApi {
  private readonly baseUrl: string;
  private readonly http: RunPodHttp;

  constructor(options: ServerlessEndpointApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.http = options.http;
  }

  /**
   * `GET /serverless/{id}`. 404 (unknown, or not visible to this key) -> null. 401/403/429/5xx come from the
   * transport as `RunPodAuthError` / `RunPodRateLimitError` / `RunPodUnavailableError`; any other non-200 is a
   * `RunPodRequestError`. A 200 whose body is not an object gives all-null limits rather than an error: the
   * answer is advisory, and the caller has its own configured values.
   */
  async get(endpointId: string): Promise<ServerlessEndpointLimits | null> {
    const res = await this.http.request({
      method: 'GET',
      url: `${this.baseUrl}/serverless/${encodeURIComponent(endpointId)}`,
    });
    if (res.status === 404) return null;
    if (res.status !== 200) throw this.unexpected(`get serverless endpoint ${endpointId}`, res);
    return toLimits(res.body);
  }

  private unexpected(what: string, res: RunPodHttpResponse): RunPodRequestError {
    return requestErrorFrom(what, res);
  }
}

function toLimits(body: unknown): ServerlessEndpointLimits {
  const workers = isObject(body) ? (body as WireEndpoint).workers : undefined;
  const w = isObject(workers) ? workers : {};
  return {
    workersMax: nonNegative(w.max),
    workersMin: nonNegative(w.min),
    idleTimeoutS: nonNegative(w.idleTimeout),
  };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The schema says integer >= 0; a string, negative, NaN or infinite value is "RunPod did not say" (null). */
function nonNegative(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
}
