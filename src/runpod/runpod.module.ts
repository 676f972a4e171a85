import { Global, Logger, Module } from '@nestjs/common';
import { UnavailableError } from '../common/domain-errors';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { GraphqlPodsApi } from './graphql-pods-api';
import { PODS_API, type PodsApi } from './pods-api';
import { RestV2PodsApi } from './rest-v2-pods-api';
import { type RunPodAttemptObservation, RunPodHttp } from './runpod-http';
import { ServerlessClients } from './serverless-clients';
import { SERVERLESS_ENDPOINT_API, ServerlessEndpointApi } from './serverless-endpoint-api';

/** Without RUNPOD_API_KEY nothing may call RunPod; callers check availability first, this is the backstop. */
class DisabledPodsApi implements PodsApi {
  readonly kind = 'rest' as const;
  private fail(): never {
    throw new UnavailableError('Cloud workers are not available: RUNPOD_API_KEY is not set');
  }
  create = () => this.fail();
  get = () => this.fail();
  listByNamePrefix = () => this.fail();
  terminate = () => this.fail();
  listGpuTypes = () => this.fail();
  getNetworkVolume = () => this.fail();
}

/** `ServerlessClients` (a client per configured endpoint), or null without RUNPOD_API_KEY or an endpoint. */
export const SERVERLESS_CLIENTS = Symbol('SERVERLESS_CLIENTS');

/** Defined beside its class; re-exported so callers can take every RunPod token from the module. */
export { SERVERLESS_ENDPOINT_API } from './serverless-endpoint-api';

/** Optional provider: told about every RunPod HTTP attempt (the core's metrics). */
export const RUNPOD_CALL_OBSERVER = Symbol('RUNPOD_CALL_OBSERVER');

type RunPodCallObserver = (attempt: RunPodAttemptObservation) => void;

function httpFor(config: AppConfig, onAttempt?: RunPodCallObserver): RunPodHttp {
  return new RunPodHttp({
    onAttempt,
    apiKey: config.runpod.apiKey!,
    secrets: Object.values(config.runpod.pod.env),
    timeoutMs: config.runpod.requestTimeoutMs,
    maxRetries: config.runpod.maxRetries,
    retryBaseDelayMs: config.runpod.retryBaseDelayMs,
    logger: new Logger('RunPod'),
  });
}

@Global()
@Module({
  providers: [
    {
      provide: RunPodHttp,
      inject: [APP_CONFIG, { token: RUNPOD_CALL_OBSERVER, optional: true }],
      useFactory: (config: AppConfig, observer?: RunPodCallObserver) =>
        config.runpod.apiKey ? httpFor(config, observer) : null,
    },
    {
      provide: PODS_API,
      inject: [APP_CONFIG, RunPodHttp],
      useFactory: (config: AppConfig, http: RunPodHttp | null): PodsApi => {
        if (!http) return new DisabledPodsApi();
        return config.runpod.podApi === 'graphql'
          ? new GraphqlPodsApi({ url: config.runpod.graphqlUrl, http })
          : new RestV2PodsApi({ baseUrl: config.runpod.restUrl, http });
      },
    },
    {
      provide: SERVERLESS_CLIENTS,
      inject: [APP_CONFIG, RunPodHttp],
      useFactory: (config: AppConfig, http: RunPodHttp | null): ServerlessClients | null =>
        http && config.runpod.serverlessEndpoints.length > 0
          ? new ServerlessClients({
              baseUrl: config.runpod.serverlessUrl,
              endpointIds: config.runpod.serverlessEndpoints.map((endpoint) => endpoint.id),
              http,
            })
          : null,
    },
    {
      // Reads max workers / idle timeout of an endpoint (REST v2 getEndpoint). Null without a key; it does not
      // need RUNPOD_SERVERLESS_ENDPOINT_ID, since the caller names the endpoint it asks about.
      provide: SERVERLESS_ENDPOINT_API,
      inject: [APP_CONFIG, RunPodHttp],
      useFactory: (config: AppConfig, http: RunPodHttp | null): ServerlessEndpointApi | null =>
        http ? new ServerlessEndpointApi({ baseUrl: config.runpod.restUrl, http }) : null,
    },
  ],
  exports: [PODS_API, SERVERLESS_CLIENTS, SERVERLESS_ENDPOINT_API],
})
export class RunPodModule {}
