/**
 * The core's TypeORM data source is named, so a host app that embeds CloudWorkersModule may keep its own default
 * data source (an unnamed one of ours would clash with it). Inject it with
 * `@InjectDataSource(CLOUD_WORKERS_DATA_SOURCE)` / `@InjectRepository(Entity, CLOUD_WORKERS_DATA_SOURCE)`.
 */
export const CLOUD_WORKERS_DATA_SOURCE = 'comfyui-cloud-workers';
