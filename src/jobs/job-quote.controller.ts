import { Body, Controller, HttpCode, HttpStatus, Post, UseFilters } from '@nestjs/common';
import {
  ApiBody,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
  ApiUnprocessableEntityResponse,
} from '@nestjs/swagger';
import { ApiErrorResponses } from '../http/openapi/api-error-responses.decorator';
import { CreateRateLimit, ReadAccess } from '../http/route-access.decorators';
import { JobQuoteDto } from './dto/job-quote.dto';
import { SUBMIT_JOB_EXAMPLES, SubmitJobDto } from './dto/submit-job.dto';
import { UnrunnableJobErrorDto } from './dto/unrunnable-job.dto';
import { toQuoteDto } from './job-quote-view';
import { JobsService } from './jobs.service';
import { UnrunnableJobFilter } from './unrunnable-job.filter';

/** POST /api/jobs/quote: where a job would run, when it would complete and what it would cost; queues nothing. */
@ApiTags('jobs')
@Controller('api/jobs')
export class JobQuoteController {
  constructor(private readonly jobs: JobsService) {}

  @Post('quote')
  // A quote spends nothing and changes nothing: the read-only key may ask. It parses a whole workflow and reads
  // the fleet, so it is rate-limited like the routes that create things.
  @ReadAccess()
  @CreateRateLimit()
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: 'Quote a job (same body as POST /api/jobs): every backend it could use, when and at what cost',
    description:
      'Validated exactly like a submit (400 and 422 where a submit would answer them); nothing is queued. For ' +
      'each local worker that can run it, each ready or booting pod, a new pod and serverless: when it would ' +
      'start (queue ahead, remaining boot, warm or cold start), complete (start + median run time learned per ' +
      'workflow signature and worker class) and what it would cost; and `pick`, the one the router would use ' +
      'now and why: with `deadline` or `maxCostUsd`, or ROUTING_PREFERENCE cost or speed, the planner picks ' +
      'from these estimates (an infeasible job answers 200 here with decision `reject` and why, 422 at submit); ' +
      'with ROUTING_PREFERENCE=balanced and no constraint, the fixed order decides.',
  })
  @ApiOkResponse({ type: JobQuoteDto })
  @ApiErrorResponses({
    400: [
      { summary: 'Not an API-format workflow', message: 'workflow: The workflow has no nodes.' },
      { summary: 'Invalid field', message: 'priority must not be greater than 1000' },
    ],
  })
  @ApiUnprocessableEntityResponse({
    type: UnrunnableJobErrorDto,
    examples: {
      'missing-checkpoint': {
        summary: 'No local worker has the checkpoint (backend "local")',
        value: {
          statusCode: 422,
          error: 'Unprocessable Entity',
          message:
            'No local worker can run this workflow, and backend "local" was asked for: the closest one lacks ' +
            'checkpoints/flux1-dev.safetensors',
          missing: { nodes: [], models: [{ folder: 'checkpoints', name: 'flux1-dev.safetensors' }] },
        },
      },
    },
    description: 'No configured worker can run it (as POST /api/jobs answers it)',
  })
  @ApiBody({ type: SubmitJobDto, examples: SUBMIT_JOB_EXAMPLES })
  @UseFilters(UnrunnableJobFilter)
  async quote(@Body() body: SubmitJobDto): Promise<JobQuoteDto> {
    return toQuoteDto(await this.jobs.quote(body));
  }
}
