import { Module } from '@nestjs/common';
import { ComfyUiClientFactory } from './comfyui-client.factory';
import { ComfyUiHealthProbe } from './comfyui-health';

/** Provides `ComfyUiClientFactory` (one `ComfyUiClient` per server URL) and `ComfyUiHealthProbe`. */
@Module({
  providers: [ComfyUiClientFactory, ComfyUiHealthProbe],
  exports: [ComfyUiClientFactory, ComfyUiHealthProbe],
})
export class ComfyUiModule {}
