import { Module } from '@nestjs/common';
import { ComfyUiModule } from '../comfyui/comfyui.module';
import { LocalWorkersController } from './local-workers.controller';
import { LocalWorkersService } from './local-workers.service';

@Module({
  imports: [ComfyUiModule],
  controllers: [LocalWorkersController],
  providers: [LocalWorkersService],
  exports: [LocalWorkersService],
})
export class LocalModule {}
