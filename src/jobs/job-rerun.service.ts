import { Injectable } from '@nestjs/common';
import { ConflictError } from '../common/domain-errors';
import type { JobInputImage } from '../persistence/entities/job.entity';
import type { JobDto } from './dto/job.dto';
import { JobsService } from './jobs.service';
import { OutputStore } from './output-store';

/** Metadata key a re-run job carries: the id of the job it repeats. */
export const RERUN_OF_METADATA_KEY = 'rerunOf';

/**
 * Runs a stored job again as a new job: the same workflow, input images, requested backend, priority and
 * metadata (plus `rerunOf`). It goes through JobsService.create like any submit, so the same validation, the
 * shutdown refusal and (at dispatch) the daily budget apply. The original is not touched.
 */
@Injectable()
export class JobRerunService {
  constructor(
    private readonly jobs: JobsService,
    private readonly store: OutputStore,
  ) {}

  /** NotFoundError for an unknown job; ConflictError when an input image of it is no longer stored. */
  async rerun(id: string): Promise<JobDto> {
    const job = await this.jobs.find(id);
    const inputs = JSON.parse(job.inputImages) as JobInputImage[];
    const images: Array<{ name: string; image: string }> = [];
    for (const input of inputs) {
      let data: Buffer;
      try {
        data = await this.store.readInput(id, input.name);
      } catch {
        throw new ConflictError(`Job ${id} cannot be re-run: its input image ${input.name} is no longer stored`);
      }
      images.push({ name: input.name, image: data.toString('base64') });
    }
    const metadata = JSON.parse(job.metadata) as Record<string, unknown>;
    return this.jobs.create({
      workflow: JSON.parse(job.workflow) as Record<string, unknown>,
      images,
      priority: job.priority,
      backend: job.requestedBackend,
      metadata: { ...metadata, [RERUN_OF_METADATA_KEY]: id },
    });
  }
}
