import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, listen } from './bootstrap';
import { ShutdownState } from './common/shutdown-state';
import { loadConfig } from './config/app-config';
import { loadEnvFile } from './config/env-file';
import { ConfigError } from './config/env-parsers';

async function main(): Promise<void> {
  // `.env` in the working directory (npm start); the real environment wins. Tests start this file with
  // NODE_ENV=test and their own environment: a developer's .env must not leak into them.
  const fromEnvFile = process.env.NODE_ENV === 'test' ? undefined : loadEnvFile(process.env);
  let config;
  try {
    config = loadConfig(process.env);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
  const logger = new Logger('Bootstrap');
  const app = await createApp({ config });
  if (fromEnvFile) logger.log(`Read ${fromEnvFile.length} variable(s) from .env (the environment wins)`);
  // SIGTERM/SIGINT: take no new jobs (503), let running jobs finish within SHUTDOWN_GRACE_PERIOD (or hand them
  // back), stop the loops, handle pods per CLOUD_TERMINATE_ON_SHUTDOWN, then exit 0. If anything hangs past
  // the bound, exit anyway (1) rather than linger.
  const shutdown = app.get(ShutdownState);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.once(signal, () => {
      shutdown.beginDraining();
      setTimeout(() => {
        logger.error(`Shutdown did not finish within ${config.jobs.shutdownGraceMs + 30000} ms; exiting`);
        process.exit(1);
      }, config.jobs.shutdownGraceMs + 30000).unref();
    });
  }
  app.enableShutdownHooks(['SIGTERM', 'SIGINT'], { useProcessExit: true });
  if (!config.apiKey) {
    logger.warn('API_KEY is not set: the API is unauthenticated, so it listens on 127.0.0.1 only');
  }
  await listen(app, config.port, config.host);
}

main().catch((error: unknown) => {
  console.error('Fatal:', error instanceof Error ? error.message : error);
  process.exit(1);
});
