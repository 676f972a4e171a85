import { RunPodServerlessClient } from './serverless-client';
import type { RunPodHttp } from './runpod-http';

/**
 * One queue-endpoint client per configured serverless endpoint (RUNPOD_SERVERLESS_ENDPOINT_ID and
 * RUNPOD_SERVERLESS_ENDPOINTS), by endpoint id. Only configured ids have a client: a job row names the endpoint
 * it was sent to, and a row is never a reason to call an endpoint the operator did not configure.
 */
export class ServerlessClients {
  private readonly byId = new Map<string, RunPodServerlessClient>();

  constructor(options: { baseUrl: string; endpointIds: readonly string[]; http: RunPodHttp }) {
    for (const endpointId of options.endpointIds)
      this.byId.set(
        endpointId,
        new RunPodServerlessClient({ baseUrl: options.baseUrl, endpointId, http: options.http }),
      );
  }

  /** The client of this endpoint; undefined when it is not configured (any more). */
  get(endpointId: string): RunPodServerlessClient | undefined {
    return this.byId.get(endpointId);
  }
}
