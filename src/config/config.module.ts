import type { AppConfig as AppConfigShape } from './app-config';

/**
 * Injection token for the validated configuration (an interface cannot be a token). CloudWorkersModule
 * provides it from its options (a config, an env to read, or process.env).
 */
export const APP_CONFIG = Symbol('APP_CONFIG');
export type AppConfig = AppConfigShape;
