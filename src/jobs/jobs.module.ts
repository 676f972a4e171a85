import { Module } from '@nestjs/common';
import { JobEventStream } from './job-event-stream';
import { JobsController } from './jobs.controller';
import { JobsService } from './jobs.service';
import { OutputStore } from './output-store';

@Module({
  controllers: [JobsController],
  providers: [JobsService, OutputStore, JobEventStream],
  exports: [JobsService, OutputStore],
})
export class JobsModule {}
