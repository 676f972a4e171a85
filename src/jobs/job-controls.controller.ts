import { Body, Controller, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ApiErrorResponses } from '../http/openapi/api-error-responses.decorator';
import { CreateRateLimit, ReadAccess } from '../http/route-access.decorators';
import { JobDto } from './dto/job.dto';
import { CreateOutputLinksDto, OutputLinksDto } from './dto/output-links.dto';
import { JobRerunService } from './job-rerun.service';
import { OutputLinksService } from './output-links.service';

const NO_JOB = { summary: 'No such job', message: 'No job job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' };

/** What the dashboard does to one stored job besides reading and cancelling it. */
@ApiTags('jobs')
@Controller('api/jobs')
export class JobControlsController {
  constructor(
    private readonly reruns: JobRerunService,
    private readonly links: OutputLinksService,
  ) {}

  @Post(':id/rerun')
  @CreateRateLimit()
  @ApiOperation({
    summary: 'Run a stored job again as a new job',
    description:
      'Same workflow, input images, requested backend, priority and metadata, plus `metadata.rerunOf`. The ' +
      'checks of a new submit apply (validation, shutdown, and the daily budget when it is dispatched).',
  })
  @ApiCreatedResponse({ type: JobDto, description: 'The new job, queued' })
  @ApiErrorResponses({
    400: {
      summary: 'Metadata too large with rerunOf',
      message: 'metadata is 65540 bytes as JSON; at most 65536 are kept with a job',
    },
    404: NO_JOB,
    409: {
      summary: 'An input image is gone',
      message:
        'Job job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90 cannot be re-run: its input image input.png is no longer stored',
    },
    503: {
      summary: 'Instance shutting down',
      message: 'This instance is shutting down and takes no new jobs; retry in a moment or on another instance',
    },
  })
  rerun(@Param('id') id: string): Promise<JobDto> {
    return this.reruns.rerun(id);
  }

  @Post(':id/output-links')
  @ReadAccess()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "Short-lived signed links to a job's outputs (for <img>/<video> without the key in a URL)",
    description:
      'Each link is the output route with ?expires=&signature= and works without the API key until it expires ' +
      '(default 10 min), for that job and file only. A POST because each call mints new links; it changes ' +
      'nothing, so the read-only key may call it.',
  })
  @ApiOkResponse({ type: OutputLinksDto })
  @ApiErrorResponses({
    400: { summary: 'Lifetime out of range', message: 'expiresInSeconds must not be greater than 86400' },
    404: NO_JOB,
  })
  async outputLinks(@Param('id') id: string, @Body() body: CreateOutputLinksDto): Promise<OutputLinksDto> {
    return { links: await this.links.linksFor(id, body.expiresInSeconds) };
  }
}
