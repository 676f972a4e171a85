import 'reflect-metadata';
import { Logger } from '@nestjs/common';
import { createApp, listen } from './bootstrap';
import { loadConfig } from './config/app-config';
import { ConfigError } from './config/env-parsers';

async function main(): Promise<void> {
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
  // SIGTERM/SIGINT: stop the loops, handle pods per CLOUD_TERMINATE_ON_SHUTDOWN, then exit 0.
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
