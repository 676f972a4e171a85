import type { ComfyCallObservation } from '../comfyui/comfyui-http';
import type { RunPodAttemptObservation } from '../runpod/runpod-http';
import type { CloudWorkersMetrics } from './cloud-workers-metrics';

/** `ok` for 2xx/3xx; otherwise the class of failure. A 404 for a pod that is gone is an answer, not an outage. */
export function runpodResult(attempt: RunPodAttemptObservation): string {
  if (attempt.status === undefined) return attempt.networkCode === 'TIMEOUT' ? 'timeout' : 'network';
  if (attempt.status < 400) return 'ok';
  if (attempt.status === 429) return 'http_429';
  return attempt.status >= 500 ? 'http_5xx' : 'http_4xx';
}

/** The hook given to RunPodHttp (RUNPOD_CALL_OBSERVER). */
export function runpodCallObserver(metrics: CloudWorkersMetrics) {
  return (attempt: RunPodAttemptObservation): void => {
    metrics.runpodRequests.inc({ method: attempt.method, result: runpodResult(attempt) });
    metrics.runpodRequestSeconds.observe({ method: attempt.method }, attempt.durationMs / 1000);
  };
}

/** The hook given to every ComfyUI client the factory makes (COMFY_CALL_OBSERVER). */
export function comfyCallObserver(metrics: CloudWorkersMetrics) {
  return (call: ComfyCallObservation): void => {
    metrics.comfyRequests.inc({ method: call.method, endpoint: call.endpoint, result: call.result });
    metrics.comfyRequestSeconds.observe(
      { method: call.method, endpoint: call.endpoint },
      call.durationMs / 1000,
    );
  };
}
