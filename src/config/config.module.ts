import { DynamicModule, Global, Module } from '@nestjs/common';
import type { AppConfig as AppConfigShape } from './app-config';

/** Injection token for the validated configuration (an interface cannot be a token). */
export const APP_CONFIG = Symbol('APP_CONFIG');
export type AppConfig = AppConfigShape;

@Global()
@Module({})
export class ConfigModule {
  static forRoot(config: AppConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: APP_CONFIG, useValue: config }],
      exports: [APP_CONFIG],
    };
  }
}
