import {
  DEFAULT_ARRIVAL_WINDOW_S,
  DEFAULT_POD_WAIT_PER_RUN,
  DEFAULT_LOCAL_WAIT_PER_RUN,
  DEFAULT_LOCAL_WAIT_TARGET_S,
  DEFAULT_POD_WAIT_TARGET_S,
  DEFAULT_RELEASE_AFTER_S,
  DEFAULT_SPAWN_EVIDENCE_Z,
} from '../cloud/policy/breakeven.policy';
import { resolveGpuTypeId } from './gpu-catalog';
import { readTrustProxy } from './trust-proxy';
import { type RunPodPodSettings, readPodSettings } from './runpod-pod-settings';
import {
  ConfigError,
  type Env,
  readBoolean,
  readEnum,
  readInt,
  readList,
  readNumber,
  readOptionalInt,
  readOptionalString,
  readString,
  readUrl,
} from './env-parsers';
import { NetworkAllowlist } from '../common/net/network-allowlist';
import { OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import { redactedUrl } from '../common/net/redacted-url';
import { type InstallManifest, loadManifestFile } from '../local/enrolment/install-manifest';
import { readServerlessEndpoints, type ServerlessEndpointConfig } from './serverless-endpoints';

export type PodApiKind = 'rest' | 'graphql';
export type CloudType = 'SECURE' | 'COMMUNITY';

export interface RunPodConfig {
  /** Absent: cloud endpoints answer `available: false`; local work goes on. */
  apiKey: string | undefined;
  /** The primary serverless endpoint (the first of `serverlessEndpoints`); undefined when none is configured. */
  serverlessEndpointId: string | undefined;
  /** Every serverless endpoint jobs may go to, the primary first (RUNPOD_SERVERLESS_ENDPOINTS adds more). */
  serverlessEndpoints: ServerlessEndpointConfig[];
  /** Absent: pods cannot be spawned (serverless may still be used). */
  dockerImage: string | undefined;
  podApi: PodApiKind;
  restUrl: string;
  graphqlUrl: string;
  serverlessUrl: string;
  /** `{podId}` is replaced by the RunPod pod id. */
  podUrlTemplate: string;
  cloudType: CloudType;
  /** The primary serverless endpoint's price (USD per second); each endpoint's is in `serverlessEndpoints`. */
  serverlessPricePerSecond: number;
  requestTimeoutMs: number;
  maxRetries: number;
  retryBaseDelayMs: number;
  containerDiskInGb: number;
  /** Network volume, data centers, template and extra environment (secret values) of new pods. */
  pod: RunPodPodSettings;
  /** Serverless `s3_url` outputs: largest accepted file, and the deadline of one download (connect to last byte). */
  outputMaxBytes: number;
  outputTimeoutMs: number;
  /** Accept http:// output URLs (simulators); otherwise https only. */
  outputAllowHttp: boolean;
  /** Accept output URLs on loopback/private addresses (a self-hosted S3 on your network, the simulators). */
  outputAllowPrivateNetworks: boolean;
}

/** Defaults for the settings an operator may change at run time (PUT /api/cloud/config). */
export interface CloudDefaults {
  maxPods: number;
  idleTimeoutMs: number;
  autoScaleThreshold: number;
  preferServerless: boolean;
  /**
   * How routing weighs the estimates for jobs without a deadline or cost cap (src/routing-estimates/plan.ts):
   * `balanced` is the fixed order (local, idle pod, serverless when preferServerless, else wait for a pod).
   */
  routingPreference: RoutingPreference;
  /** Exact RunPod GPU type id. */
  gpuTypeId: string;
  /** Hard daily (UTC) cloud spend limit in USD; 0 = no limit. */
  dailyBudgetUsd: number;
}

/** ROUTING_PREFERENCE: cheapest, earliest completion, or the fixed order. */
export const ROUTING_PREFERENCES = ['cost', 'speed', 'balanced'] as const;
export type RoutingPreference = (typeof ROUTING_PREFERENCES)[number];

export type OrphanPolicy = 'terminate' | 'adopt';

/** The scaling policy: `breakeven` (src/cloud/policy/breakeven.policy.ts) or the seed's exact rule. */
export const CLOUD_POLICIES = ['breakeven', 'seed'] as const;
export type CloudPolicyName = (typeof CLOUD_POLICIES)[number];

/** Inputs of the break-even policy that the service cannot measure, or needs before it has measured anything. */
export interface BreakEvenConfig {
  /** Serverless seconds RunPod bills per job besides the run (cold start + idle timeout; not in the job's status). */
  serverlessOverheadS: number;
  /**
   * Concurrent jobs the serverless endpoint runs (its max workers): more only queue at RunPod. Unset: read from
   * RunPod (the endpoint's `workers.max`), and unlimited when RunPod cannot tell.
   */
  serverlessMaxWorkers: number | undefined;
  /** Pod boot assumed until one has been observed. */
  defaultBootS: number;
  /** Job run time assumed until one has been observed. */
  defaultJobS: number;
  /** A job waits for a pod (instead of serverless) when one starts it within max(this, waitPerRun × its run). */
  podWaitTargetS: number;
  podWaitPerRun: number;
  /**
   * A job waits for its own busy local worker (instead of the cloud) when it should start it within
   * max(this, localWaitPerRun × its run) of the job's arrival (0, 0: never).
   */
  localWaitTargetS: number;
  localWaitPerRun: number;
  /** How far back the spawn forecast replays the cloud arrivals. */
  arrivalWindowS: number;
  /** Idle pods beyond those the forecast keeps go after this (capped by τ*). */
  idleReleaseS: number;
  /** Standard errors of evidence a spawn needs beyond break-even. */
  spawnEvidenceZ: number;
}

export interface CloudConfig {
  defaults: CloudDefaults;
  /** Exact RunPod GPU type ids tried in order after the first has no capacity. */
  gpuFallbacks: string[];
  podNamePrefix: string;
  /** How long a job is assumed to keep a pod or serverless worker busy, when projecting spend against the budget. */
  budgetJobEstimateMs: number;
  bootTimeoutMs: number;
  tickIntervalMs: number;
  terminateOnShutdown: boolean;
  /** Period of the sweeper that diffs RunPod's pods (by name prefix) with our rows. */
  sweepIntervalMs: number;
  /** CLOUD_POD_CAPABILITIES_INTERVAL: how often each ready or busy pod's node classes and model lists are read again. */
  podCapabilitiesIntervalMs: number;
  /** What the sweeper does with a prefixed pod at RunPod that has no row of ours. */
  orphanPolicy: OrphanPolicy;
  /** A pod older than this (from its creation at RunPod) is drained and terminated; undefined: no limit. */
  maxPodLifetimeMs: number | undefined;
  policy: CloudPolicyName;
  breakEven: BreakEvenConfig;
  /** Seed-rule settings given in the environment (a break-even service warns that it ignores them). */
  seedSettingsSet: string[];
}

export interface LocalConfig {
  /** Local ComfyUI servers from LOCAL_COMFYUI_URLS (more can be registered at run time). */
  urls: string[];
  /** Jobs one local worker runs at once. */
  concurrency: number;
  healthIntervalMs: number;
  /** LOCAL_CAPABILITIES_INTERVAL: how often each worker's node classes and model lists are read again. */
  capabilitiesIntervalMs: number;
  /** LOCAL_WORKER_ALLOWED_NETWORKS: CIDRs/addresses/host names local workers must be in; empty = any but the refused ranges. */
  allowedNetworks: string[];
}

export interface JobsConfig {
  maxAttempts: number;
  /** Backstop period of the dispatcher; it also runs at once when a job arrives or a worker frees up. */
  dispatchIntervalMs: number;
  /** Largest accepted request body (workflow + base64 images). */
  maxBodyBytes: number;
  /** First and longest wait between serverless status polls (backoff doubles in between). */
  serverlessPollMs: number;
  serverlessPollMaxMs: number;
  /**
   * A serverless job still IN_QUEUE at RunPod this long after it was sent, while the endpoint runs no job at all
   * (its workers throttled, unhealthy or initializing for ever), is cancelled there and retried elsewhere, with
   * the endpoint's worker counts in the reason. 0: never. On the service's clock (not scaled in compressed time).
   */
  serverlessQueueTimeoutMs: number;
  /**
   * RunPod's `policy.executionTimeout` for each serverless job (5 s to 7 days, RunPod's bounds). Without it
   * RunPod stops a job after 600 s, which a video can outlast. On RunPod's clock (not scaled in compressed time).
   */
  serverlessExecutionTimeoutMs: number;
  comfyRequestTimeoutMs: number;
  /**
   * How long a job on a ComfyUI (local or pod) waits between /history polls: without a websocket, and with one
   * (a backstop for a lost message); and the delay before reopening a dropped websocket. They bound how late a
   * job's end is seen, so compressed-time tests scale them (README "Compressed time").
   */
  comfyPollMs: number;
  comfyConnectedPollMs: number;
  comfyReconnectDelayMs: number;
  /** A job still running after this long is stopped and failed. */
  executionTimeoutMs: number;
  /** On SIGTERM, how long running jobs may take to finish before they are handed back (re-attached later). */
  shutdownGraceMs: number;
}

/** The fleet event stream (GET /api/events). */
export interface EventsConfig {
  /** Events kept in memory for reconnecting clients (Last-Event-ID); older ones get a `reset`. */
  bufferSize: number;
  /** Period of the `: ping` comment on every open stream, so proxies keep idle streams open. */
  heartbeatIntervalMs: number;
}

/** Signed HTTP notifications (src/webhooks): job completed/failed, budget reached, pod failed, orphan found. */
export interface WebhooksConfig {
  /** WEBHOOK_URLS: receivers of every event (each job's own `webhookUrl` gets that job's events too). */
  urls: string[];
  /** WEBHOOK_SECRET: HMAC-SHA256 key of the signature header; without it no webhook is sent or accepted. */
  secret: string | undefined;
  /** WEBHOOK_ALLOWED_NETWORKS: CIDRs/addresses/host names receivers must be in; empty = any but the refused ranges. */
  allowedNetworks: string[];
  /** Attempts per delivery (first send included) before it is given up. */
  maxAttempts: number;
  /** Back-off: after attempt n wait c/2 + random(0, c/2), c = min(max, base * 2^(n-1)) ("equal jitter"). */
  retryBaseDelayMs: number;
  retryMaxDelayMs: number;
  /** Deadline of one attempt (connect to the end of the answer). */
  timeoutMs: number;
  /** Deliveries waiting in memory; past it new ones are dropped (and counted). */
  queueLimit: number;
  /** Deliveries in flight at once. */
  concurrency: number;
}

/** Per client address, per minute; 0 turns a limit off. Counted in memory, per instance. */
export interface RateLimitConfig {
  /** Requests to each route that creates things (jobs, pod spawns, worker registrations). */
  createPerMinute: number;
  /** Requests with a wrong API key; past it every authenticated request from that address answers 429. */
  authFailuresPerMinute: number;
}

/** Enrolment of studio machines (README "Installing a studio machine"). */
export interface InstallConfig {
  /** PUBLIC_URL: the base URL the install commands name; unset: the request's own protocol and host. */
  publicUrl: string | undefined;
  /** From INSTALL_MANIFEST_FILE, validated at startup; the empty manifest when unset. */
  manifest: InstallManifest;
}

export interface AppConfig {
  port: number;
  /** 127.0.0.1 unless API_KEY is set (or HOST says otherwise). */
  host: string;
  /** The admin key: every route but the public ones needs it (or the read-only key, where that is allowed). */
  apiKey: string | undefined;
  /** Optional read-only key: GET status, cost, pods, jobs, outputs, stats and event streams; nothing else. */
  apiReadKey: string | undefined;
  rateLimits: RateLimitConfig;
  /** Express's `trust proxy`: which proxies' X-Forwarded-For names the client (TRUST_PROXY); undefined: none. */
  trustProxy: number | string[] | undefined;
  dataDir: string;
  databaseUrl: string | undefined;
  /** PostgreSQL schema to use (tests give each run its own). */
  databaseSchema: string | undefined;
  /** How often a follower tries to become leader (and the leader checks its lock), PostgreSQL mode. */
  leaderElectionIntervalMs: number;
  runpod: RunPodConfig;
  cloud: CloudConfig;
  local: LocalConfig;
  jobs: JobsConfig;
  logging: LoggingConfig;
  events: EventsConfig;
  webhooks: WebhooksConfig;
  install: InstallConfig;
}

/** Nest's level names; `info` is accepted as another name for `log`. Each level includes the ones before it. */
export const LOG_LEVELS = ['error', 'warn', 'log', 'debug', 'verbose'] as const;
export type LogLevelName = (typeof LOG_LEVELS)[number];

export interface LoggingConfig {
  /** LOG_LEVEL: the most verbose level written (default `log`). */
  level: LogLevelName;
  /** LOG_FORMAT: `auto` = `pretty` when stdout is a terminal, `json` (one object per line) otherwise. */
  format: 'auto' | 'json' | 'pretty';
}

function readGpuType(env: Env, name: string, fallback: string): string {
  const value = readString(env, name, fallback);
  try {
    return resolveGpuTypeId(value);
  } catch (error) {
    throw new ConfigError(name, (error as Error).message);
  }
}

function readGpuList(env: Env, name: string): string[] {
  return readList(env, name).map((value) => {
    try {
      return resolveGpuTypeId(value);
    } catch (error) {
      throw new ConfigError(name, (error as Error).message);
    }
  });
}

function readLogLevel(env: Env): LogLevelName {
  const level = readEnum(env, 'LOG_LEVEL', [...LOG_LEVELS, 'info'] as const, 'log');
  return level === 'info' ? 'log' : level;
}

export const DEFAULT_GPU_TYPE = 'NVIDIA GeForce RTX 3090';

/** Builds the one typed configuration object from the environment. Throws ConfigError naming the variable. */
export function loadConfig(env: Env): AppConfig {
  const apiKey = readOptionalString(env, 'API_KEY');
  const apiReadKey = readOptionalString(env, 'API_READ_KEY');
  if (apiReadKey && !apiKey) {
    throw new ConfigError(
      'API_READ_KEY',
      'is set but API_KEY is not: a read-only key needs an admin key beside it',
    );
  }
  if (apiReadKey && apiReadKey === apiKey) {
    throw new ConfigError(
      'API_READ_KEY',
      'must differ from API_KEY (the read-only key would grant admin rights)',
    );
  }
  const databaseUrl = readOptionalString(env, 'DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    throw new ConfigError(
      'DATABASE_URL',
      'must be a postgres:// URL (leave it unset for the embedded SQLite)',
    );
  }
  const schema = readOptionalString(env, 'DATABASE_SCHEMA');
  if (schema && !/^[a-z_][a-z0-9_]*$/.test(schema)) {
    throw new ConfigError('DATABASE_SCHEMA', 'must be a lower-case SQL identifier');
  }
  const podNamePrefix = readString(env, 'CLOUD_POD_NAME_PREFIX', 'comfyui-worker');
  if (!/^[A-Za-z0-9][A-Za-z0-9_-]{0,40}$/.test(podNamePrefix)) {
    throw new ConfigError('CLOUD_POD_NAME_PREFIX', 'must be 1-41 letters, digits, "-" or "_"');
  }
  const podUrlTemplate = readUrl(env, 'RUNPOD_POD_URL_TEMPLATE', 'https://{podId}-8188.proxy.runpod.net');
  if (!podUrlTemplate.includes('{podId}')) {
    throw new ConfigError('RUNPOD_POD_URL_TEMPLATE', 'must contain {podId}');
  }

  const podApi = readEnum(env, 'RUNPOD_POD_API', ['rest', 'graphql'] as const, 'rest');
  const serverlessEndpoints = readServerlessEndpoints(env);

  const host = readString(env, 'HOST', apiKey ? '0.0.0.0' : '127.0.0.1');
  if (!apiKey && !['127.0.0.1', 'localhost', '::1'].includes(host)) {
    throw new ConfigError(
      'HOST',
      `is ${host}, but without API_KEY the unauthenticated API listens on 127.0.0.1 only`,
    );
  }

  const allowedNetworks = readList(env, 'LOCAL_WORKER_ALLOWED_NETWORKS');
  let localAddressRules: OutboundAddressPolicy;
  try {
    localAddressRules = new OutboundAddressPolicy({ allowlist: new NetworkAllowlist(allowedNetworks) });
  } catch (error) {
    throw new ConfigError('LOCAL_WORKER_ALLOWED_NETWORKS', (error as Error).message);
  }
  // The outbound address rules (src/common/net); host names are resolved when connecting, not here.
  const localUrls = readList(env, 'LOCAL_COMFYUI_URLS').map((url, index) => {
    try {
      localAddressRules.checkUrl(url);
    } catch (error) {
      throw new ConfigError(
        'LOCAL_COMFYUI_URLS',
        `entry ${index + 1} (${redactedUrl(url)}) ${(error as Error).message}`,
      );
    }
    return url.replace(/\/+$/, '');
  });

  return {
    port: readInt(env, 'PORT', 8000, 0, 65535),
    host,
    logging: {
      level: readLogLevel(env),
      format: readEnum(env, 'LOG_FORMAT', ['auto', 'json', 'pretty'] as const, 'auto'),
    },
    apiKey,
    apiReadKey,
    rateLimits: {
      createPerMinute: readInt(env, 'RATE_LIMIT_CREATE_PER_MINUTE', 600, 0),
      authFailuresPerMinute: readInt(env, 'RATE_LIMIT_AUTH_FAILURES_PER_MINUTE', 10, 0),
    },
    trustProxy: readTrustProxy(env),
    dataDir: readString(env, 'DATA_DIR', './data'),
    databaseUrl,
    databaseSchema: schema,
    leaderElectionIntervalMs: readInt(env, 'LEADER_ELECTION_INTERVAL', 5000, 100),
    runpod: {
      apiKey: readOptionalString(env, 'RUNPOD_API_KEY'),
      serverlessEndpointId: serverlessEndpoints[0]?.id,
      serverlessEndpoints,
      dockerImage: readOptionalString(env, 'RUNPOD_DOCKER_IMAGE'),
      podApi,
      restUrl: readUrl(env, 'RUNPOD_REST_URL', 'https://api.runpod.io/v2'),
      graphqlUrl: readUrl(env, 'RUNPOD_GRAPHQL_URL', 'https://api.runpod.io/graphql'),
      serverlessUrl: readUrl(env, 'RUNPOD_SERVERLESS_URL', 'https://api.runpod.ai/v2'),
      podUrlTemplate,
      cloudType: readEnum(env, 'RUNPOD_CLOUD_TYPE', ['SECURE', 'COMMUNITY'] as const, 'SECURE'),
      serverlessPricePerSecond:
        serverlessEndpoints[0]?.pricePerSecond ??
        readNumber(env, 'RUNPOD_SERVERLESS_PRICE_PER_SECOND', 0.00034, 0),
      requestTimeoutMs: readInt(env, 'RUNPOD_REQUEST_TIMEOUT', 30000, 100),
      maxRetries: readInt(env, 'RUNPOD_MAX_RETRIES', 4, 0, 20),
      retryBaseDelayMs: readInt(env, 'RUNPOD_RETRY_BASE_DELAY', 500, 1),
      containerDiskInGb: readInt(env, 'RUNPOD_CONTAINER_DISK_GB', 50, 10, 2000),
      pod: readPodSettings(env, podApi),
      outputMaxBytes: readInt(env, 'RUNPOD_OUTPUT_MAX_MB', 1024, 1, 65536) * 1024 * 1024,
      outputTimeoutMs: readInt(env, 'RUNPOD_OUTPUT_TIMEOUT', 300000, 100),
      outputAllowHttp: readBoolean(env, 'RUNPOD_OUTPUT_ALLOW_HTTP', false),
      outputAllowPrivateNetworks: readBoolean(env, 'RUNPOD_OUTPUT_ALLOW_PRIVATE_NETWORKS', false),
    },
    cloud: {
      defaults: {
        maxPods: readInt(env, 'CLOUD_MAX_PODS', 5, 0, 1000),
        idleTimeoutMs: readInt(env, 'CLOUD_IDLE_TIMEOUT', 300000, 1000),
        autoScaleThreshold: readInt(env, 'CLOUD_AUTOSCALE_THRESHOLD', 5, 1),
        preferServerless: readBoolean(env, 'CLOUD_PREFER_SERVERLESS', true),
        routingPreference: readEnum(env, 'ROUTING_PREFERENCE', ROUTING_PREFERENCES, 'balanced'),
        gpuTypeId: readGpuType(env, 'RUNPOD_GPU_TYPE', DEFAULT_GPU_TYPE),
        dailyBudgetUsd: readNumber(env, 'CLOUD_DAILY_BUDGET_USD', 10, 0),
      },
      budgetJobEstimateMs: readInt(env, 'CLOUD_BUDGET_JOB_ESTIMATE', 300000, 0),
      gpuFallbacks: readGpuList(env, 'CLOUD_GPU_FALLBACKS'),
      podNamePrefix,
      bootTimeoutMs: readInt(env, 'CLOUD_BOOT_TIMEOUT', 600000, 1000),
      tickIntervalMs: readInt(env, 'CLOUD_TICK_INTERVAL', 5000, 10),
      terminateOnShutdown: readBoolean(env, 'CLOUD_TERMINATE_ON_SHUTDOWN', true),
      sweepIntervalMs: readInt(env, 'CLOUD_SWEEP_INTERVAL', 60000, 10),
      podCapabilitiesIntervalMs: readInt(env, 'CLOUD_POD_CAPABILITIES_INTERVAL', 300_000, 10),
      orphanPolicy: readEnum(env, 'CLOUD_ORPHAN_POLICY', ['terminate', 'adopt'] as const, 'terminate'),
      maxPodLifetimeMs: readOptionalInt(env, 'CLOUD_MAX_POD_LIFETIME', 1000),
      policy: readEnum(env, 'CLOUD_POLICY', CLOUD_POLICIES, 'breakeven'),
      seedSettingsSet: ['CLOUD_IDLE_TIMEOUT', 'CLOUD_AUTOSCALE_THRESHOLD'].filter(
        (name) => env[name] !== undefined,
      ),
      breakEven: {
        serverlessOverheadS: readNumber(env, 'CLOUD_SERVERLESS_OVERHEAD_SECONDS', 5, 0),
        serverlessMaxWorkers: readOptionalInt(env, 'RUNPOD_SERVERLESS_MAX_WORKERS', 1),
        defaultBootS: readNumber(env, 'CLOUD_POLICY_DEFAULT_BOOT_SECONDS', 150, 1),
        defaultJobS: readNumber(env, 'CLOUD_POLICY_DEFAULT_JOB_SECONDS', 60, 1),
        podWaitTargetS: readNumber(env, 'CLOUD_POD_WAIT_TARGET_SECONDS', DEFAULT_POD_WAIT_TARGET_S, 0),
        podWaitPerRun: readNumber(env, 'CLOUD_POD_WAIT_PER_RUN', DEFAULT_POD_WAIT_PER_RUN, 0),
        localWaitTargetS: readNumber(env, 'LOCAL_WAIT_TARGET_SECONDS', DEFAULT_LOCAL_WAIT_TARGET_S, 0),
        localWaitPerRun: readNumber(env, 'LOCAL_WAIT_PER_RUN', DEFAULT_LOCAL_WAIT_PER_RUN, 0),
        arrivalWindowS: readNumber(env, 'CLOUD_POLICY_ARRIVAL_WINDOW_SECONDS', DEFAULT_ARRIVAL_WINDOW_S, 1),
        idleReleaseS: readNumber(env, 'CLOUD_IDLE_RELEASE_SECONDS', DEFAULT_RELEASE_AFTER_S, 0),
        spawnEvidenceZ: readNumber(env, 'CLOUD_SPAWN_EVIDENCE_Z', DEFAULT_SPAWN_EVIDENCE_Z, 0),
      },
    },
    local: {
      urls: localUrls,
      concurrency: readInt(env, 'LOCAL_WORKER_CONCURRENCY', 1, 1, 64),
      healthIntervalMs: readInt(env, 'LOCAL_HEALTH_INTERVAL', 5000, 10),
      capabilitiesIntervalMs: readInt(env, 'LOCAL_CAPABILITIES_INTERVAL', 300_000, 10),
      allowedNetworks,
    },
    jobs: {
      maxAttempts: readInt(env, 'JOBS_MAX_ATTEMPTS', 3, 1, 20),
      dispatchIntervalMs: readInt(env, 'JOBS_DISPATCH_INTERVAL', 1000, 10),
      maxBodyBytes: readInt(env, 'MAX_REQUEST_BODY_MB', 25, 1, 1024) * 1024 * 1024,
      serverlessPollMs: readInt(env, 'SERVERLESS_POLL_INTERVAL', 1000, 10),
      serverlessPollMaxMs: readInt(env, 'SERVERLESS_POLL_MAX_INTERVAL', 2000, 10),
      serverlessQueueTimeoutMs: readInt(env, 'SERVERLESS_QUEUE_TIMEOUT', 600_000, 0),
      serverlessExecutionTimeoutMs: readInt(
        env,
        'SERVERLESS_EXECUTION_TIMEOUT',
        3_600_000,
        5_000,
        7 * 24 * 3_600_000,
      ),
      comfyRequestTimeoutMs: readInt(env, 'COMFYUI_REQUEST_TIMEOUT', 30000, 100),
      comfyPollMs: readInt(env, 'COMFYUI_POLL_INTERVAL', 1000, 5),
      comfyConnectedPollMs: readInt(env, 'COMFYUI_CONNECTED_POLL_INTERVAL', 5000, 5),
      comfyReconnectDelayMs: readInt(env, 'COMFYUI_WS_RECONNECT_DELAY', 1000, 5),
      executionTimeoutMs: readInt(env, 'JOBS_EXECUTION_TIMEOUT', 3600000, 1000),
      shutdownGraceMs: readInt(env, 'SHUTDOWN_GRACE_PERIOD', 30000, 0),
    },
    events: {
      bufferSize: readInt(env, 'EVENTS_BUFFER_SIZE', 2000, 10, 1_000_000),
      heartbeatIntervalMs: readInt(env, 'EVENTS_HEARTBEAT_INTERVAL', 15000, 10),
    },
    webhooks: readWebhooksConfig(env),
    install: readInstallConfig(env),
  };
}

/** PUBLIC_URL and INSTALL_MANIFEST_FILE (read and validated now, so a bad manifest stops startup). */
function readInstallConfig(env: Env): InstallConfig {
  const publicUrl = readOptionalString(env, 'PUBLIC_URL') ? readUrl(env, 'PUBLIC_URL', '') : undefined;
  const allowHttp = readBoolean(env, 'INSTALL_MANIFEST_ALLOW_HTTP', false);
  try {
    return {
      publicUrl,
      manifest: loadManifestFile(readOptionalString(env, 'INSTALL_MANIFEST_FILE'), { allowHttp }),
    };
  } catch (error) {
    throw new ConfigError('INSTALL_MANIFEST_FILE', (error as Error).message);
  }
}

/** WEBHOOK_*: receivers are checked by the outbound address rules here, and again (resolved) when sending. */
function readWebhooksConfig(env: Env): WebhooksConfig {
  const secret = readOptionalString(env, 'WEBHOOK_SECRET');
  if (secret !== undefined && secret.length < 16) {
    throw new ConfigError('WEBHOOK_SECRET', 'must be at least 16 characters (receivers verify with it)');
  }
  const allowedNetworks = readList(env, 'WEBHOOK_ALLOWED_NETWORKS');
  let rules: OutboundAddressPolicy;
  try {
    rules = new OutboundAddressPolicy({ allowlist: new NetworkAllowlist(allowedNetworks) });
  } catch (error) {
    throw new ConfigError('WEBHOOK_ALLOWED_NETWORKS', (error as Error).message);
  }
  const urls = readList(env, 'WEBHOOK_URLS').map((url, index) => {
    try {
      rules.checkUrl(url);
    } catch (error) {
      throw new ConfigError(
        'WEBHOOK_URLS',
        `entry ${index + 1} (${redactedUrl(url)}) ${(error as Error).message}`,
      );
    }
    return url;
  });
  if (urls.length > 0 && !secret) {
    throw new ConfigError('WEBHOOK_URLS', 'is set but WEBHOOK_SECRET is not: deliveries are always signed');
  }
  const retryBaseDelayMs = readInt(env, 'WEBHOOK_RETRY_BASE_DELAY', 1000, 1);
  return {
    urls,
    secret,
    allowedNetworks,
    maxAttempts: readInt(env, 'WEBHOOK_MAX_ATTEMPTS', 8, 1, 50),
    retryBaseDelayMs,
    retryMaxDelayMs: Math.max(retryBaseDelayMs, readInt(env, 'WEBHOOK_RETRY_MAX_DELAY', 600000, 1)),
    timeoutMs: readInt(env, 'WEBHOOK_TIMEOUT', 10000, 100),
    queueLimit: readInt(env, 'WEBHOOK_QUEUE_LIMIT', 10000, 1),
    concurrency: readInt(env, 'WEBHOOK_CONCURRENCY', 4, 1, 64),
  };
}
