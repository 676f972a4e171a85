import { Inject, Injectable } from '@nestjs/common';
import { Clock } from '../common/clock';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';
import { OUTPUT_LINK_DEFAULT_TTL_S, OutputLinkSigner, outputPath } from '../http/output-link-signer';
import type { JobOutputRecord } from '../persistence/entities/job.entity';
import { JobsService } from './jobs.service';

export interface OutputLink {
  filename: string;
  /** Same-origin path with `?expires=&signature=`: works without the API key until `expiresAt`. */
  url: string;
  expiresAt: string;
}

/** Short-lived signed links to a job's outputs, for a browser that must not put the key in a URL. */
@Injectable()
export class OutputLinksService {
  private readonly signer: OutputLinkSigner;

  constructor(
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly jobs: JobsService,
    private readonly clock: Clock,
  ) {
    this.signer = new OutputLinkSigner(config.apiKey);
  }

  /** One link per output the job has now (none yet: an empty list). NotFoundError for an unknown job. */
  async linksFor(id: string, ttlSeconds = OUTPUT_LINK_DEFAULT_TTL_S): Promise<OutputLink[]> {
    const job = await this.jobs.find(id);
    const expires = Math.floor(this.clock.now() / 1000) + ttlSeconds;
    const expiresAt = new Date(expires * 1000).toISOString();
    return (JSON.parse(job.outputs) as JobOutputRecord[]).map((output) => ({
      filename: output.filename,
      url: this.signer.link(outputPath(job.id, output.filename), expires),
      expiresAt,
    }));
  }
}
