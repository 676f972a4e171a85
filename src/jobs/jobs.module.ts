import { Module } from '@nestjs/common';
import { JobEventStream } from './job-event-stream';
import { JobsService } from './jobs.service';
import { OutputStore } from './output-store';

@Module({
  providers: [JobsService, OutputStore, JobEventStream],
  exports: [JobsService, OutputStore, JobEventStream],
})
export class JobsModule {}
