import { Module } from '@nestjs/common';
import { ComfyUiModule } from '../comfyui/comfyui.module';
import { TimersModule } from '../common/timers.module';
import { LocalWorkersService } from './local-workers.service';

@Module({
  imports: [ComfyUiModule, TimersModule],
  providers: [LocalWorkersService],
  exports: [LocalWorkersService],
})
export class LocalModule {}
