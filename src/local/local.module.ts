import { Module } from '@nestjs/common';
import { ComfyUiModule } from '../comfyui/comfyui.module';
import { TimersModule } from '../common/timers.module';
import { EnrolmentTokensService } from './enrolment/enrolment-tokens.service';
import { InstallerFiles } from './installer/installer-files';
import { LocalWorkersService } from './local-workers.service';

@Module({
  imports: [ComfyUiModule, TimersModule],
  providers: [
    LocalWorkersService,
    EnrolmentTokensService,
    // The repository's installer/ folder (see installerDir).
    { provide: InstallerFiles, useFactory: () => new InstallerFiles() },
  ],
  exports: [LocalWorkersService, EnrolmentTokensService, InstallerFiles],
})
export class LocalModule {}
