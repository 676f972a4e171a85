/**
 * The job a prompt received by a fake ComfyUI belongs to: the service tags every prompt it submits with
 * `extra_data.cloud_workers_job_id` (its client_id is the shared websocket's, the same for every job).
 */
export function jobIdOfPrompt(prompt: { body?: unknown }): string | undefined {
  const extraData = (prompt.body as { extra_data?: { cloud_workers_job_id?: unknown } } | undefined)
    ?.extra_data;
  return typeof extraData?.cloud_workers_job_id === 'string' ? extraData.cloud_workers_job_id : undefined;
}
