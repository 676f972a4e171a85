import {
  Body,
  Controller,
  DefaultValuePipe,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  type MessageEvent,
  Param,
  Post,
  Query,
  Res,
  UseFilters,
  Sse,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  ApiUnprocessableEntityResponse,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { Observable } from 'rxjs';
import { InvalidInputError } from '../common/domain-errors';
import { queryInt } from '../common/query-params';
import { ApiErrorResponses } from '../http/openapi/api-error-responses.decorator';
import { ApiServerSentEvents } from '../http/openapi/api-server-sent-events.decorator';
import { outputResponseHeaders } from '../http/output-response-headers';
import { CreateRateLimit, ReadAccess, SignedLinkAccess } from '../http/route-access.decorators';
import {
  JOB_BACKENDS,
  JOB_STATUSES,
  type JobBackend,
  type JobStatus,
} from '../persistence/entities/job.entity';
import { JobDto, JobListDto, JobProgressDto } from './dto/job.dto';
import { SUBMIT_JOB_EXAMPLES, SubmitJobDto } from './dto/submit-job.dto';
import { UnrunnableJobErrorDto } from './dto/unrunnable-job.dto';
import { InfeasibleJobErrorDto } from './dto/infeasible-job.dto';
import { UnrunnableJobFilter } from './unrunnable-job.filter';
import { JobEventStream } from './job-event-stream';
import { JobsService } from './jobs.service';

const NO_JOB = { summary: 'No such job', message: 'No job job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90' };

@ApiTags('jobs')
@Controller('api/jobs')
export class JobsController {
  constructor(
    private readonly jobs: JobsService,
    private readonly stream: JobEventStream,
  ) {}

  @Post()
  @CreateRateLimit()
  @HttpCode(HttpStatus.ACCEPTED)
  @ApiOperation({
    summary: 'Submit a ComfyUI workflow (API format); it runs on a local worker first, else in the cloud',
    description:
      'With `deadline` and/or `maxCostUsd`, the job is planned on the estimates (as POST /api/jobs/quote shows): ' +
      'the cheapest backend that completes by the deadline within maxCostUsd, else the fastest within maxCostUsd; ' +
      'the chosen backend is `plannedBackend`, and routing sends the job only there. 422 with `bestOption` when no ' +
      'backend can. Without them, ROUTING_PREFERENCE (cost, speed, or balanced: the fixed order) decides.',
  })
  @ApiExtraModels(UnrunnableJobErrorDto, InfeasibleJobErrorDto)
  @ApiAcceptedResponse({
    type: JobDto,
    description: 'Queued; follow it with GET /api/jobs/{id} or its events',
  })
  @ApiErrorResponses({
    400: [
      { summary: 'Not an API-format workflow', message: 'workflow: The workflow has no nodes.' },
      {
        summary: 'Image is not base64',
        message: 'images: "input_image_1.png" is not valid base64 (a data URI prefix is allowed)',
      },
      { summary: 'Invalid field', message: 'priority must not be greater than 1000' },
      {
        summary: 'Deadline passed',
        message: 'deadline: 2026-11-29T11:00:00Z has passed (now 2026-11-29T12:00:00.000Z)',
      },
    ],
    503: {
      summary: 'Instance shutting down',
      message:
        'This instance is shutting down and takes no new jobs; retry in a moment or on another instance',
    },
  })
  @ApiUnprocessableEntityResponse({
    schema: {
      oneOf: [{ $ref: getSchemaPath(UnrunnableJobErrorDto) }, { $ref: getSchemaPath(InfeasibleJobErrorDto) }],
    },
    examples: {
      'deadline-infeasible': {
        summary: 'No backend can complete by the deadline',
        value: {
          statusCode: 422,
          error: 'Unprocessable Entity',
          message:
            'No backend can complete by 2026-11-29T12:00:30.000Z; the best option is serverless completing at ' +
            '2026-11-29T12:01:10.000Z for $0.0123',
          bestOption: {
            backend: 'serverless',
            kind: 'serverless',
            workerClass: 'serverless:abc123xyz',
            completeAt: '2026-11-29T12:01:10.000Z',
            costUsd: 0.0123,
          },
        },
      },
      'missing-checkpoint': {
        summary: 'No local worker has the checkpoint (no cloud backend configured)',
        value: {
          statusCode: 422,
          error: 'Unprocessable Entity',
          message:
            'No local worker can run this workflow, and no cloud backend is configured: the closest one lacks ' +
            'checkpoints/flux1-dev.safetensors',
          missing: { nodes: [], models: [{ folder: 'checkpoints', name: 'flux1-dev.safetensors' }] },
        },
      },
    },
    description:
      'No configured worker can run it: only local workers could (backend "local", or no pods and no ' +
      'serverless endpoint configured), what each can run is known, and none has every node class and model ' +
      'file the workflow names. `missing` lists what the closest worker lacks. Pods and serverless are taken ' +
      'to run anything; a local worker whose capabilities are not read yet may too. Or no backend can meet ' +
      "the job's deadline or maxCostUsd: `bestOption` is the fastest backend, its completion time and cost.",
  })
  @ApiBody({ type: SubmitJobDto, examples: SUBMIT_JOB_EXAMPLES })
  @UseFilters(UnrunnableJobFilter)
  submit(@Body() body: SubmitJobDto): Promise<JobDto> {
    return this.jobs.create(body);
  }

  @Get()
  @ReadAccess()
  @ApiOperation({
    summary: 'Jobs, newest first, a page at a time',
    description:
      'Filter by status and by the backend a job ran on. Follow `nextCursor` for older pages: jobs submitted ' +
      'meanwhile never shift them (no job is repeated or skipped); they appear on a new first page.',
  })
  @ApiQuery({ name: 'status', required: false, enum: JOB_STATUSES })
  @ApiQuery({ name: 'backend', required: false, enum: JOB_BACKENDS, description: 'where the job ran' })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: 'default 50, max 500' })
  @ApiQuery({ name: 'cursor', required: false, description: "a previous page's nextCursor" })
  @ApiOkResponse({ type: JobListDto })
  @ApiErrorResponses({
    400: [
      {
        summary: 'Unknown status',
        message: 'status must be one of queued, running, completed, failed, cancelled',
      },
      { summary: 'Unknown backend', message: 'backend must be one of local, serverless, pod' },
      { summary: 'Not a whole number', message: 'limit must be a whole number' },
      { summary: 'Not a cursor', message: 'cursor is not a nextCursor this list returned' },
    ],
  })
  async list(
    @Query('status') status: string | undefined,
    @Query('backend') backend: string | undefined,
    @Query('limit', new DefaultValuePipe(50), queryInt('limit')) limit: number,
    @Query('cursor') cursor: string | undefined,
  ): Promise<JobListDto> {
    if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) {
      throw new InvalidInputError(`status must be one of ${JOB_STATUSES.join(', ')}`);
    }
    if (backend !== undefined && !JOB_BACKENDS.includes(backend as JobBackend)) {
      throw new InvalidInputError(`backend must be one of ${JOB_BACKENDS.join(', ')}`);
    }
    return this.jobs.list(
      { status: status as JobStatus | undefined, backend: backend as JobBackend | undefined },
      Math.min(Math.max(limit, 1), 500),
      cursor,
    );
  }

  @Get(':id')
  @ReadAccess()
  @ApiOperation({ summary: 'One job: status, progress, outputs, cost' })
  @ApiOkResponse({ type: JobDto })
  @ApiErrorResponses({ 404: NO_JOB })
  get(@Param('id') id: string): Promise<JobDto> {
    return this.jobs.get(id);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Cancel: a queued job at once; a running one is interrupted on its worker, then cancelled',
  })
  @ApiOkResponse({
    type: JobDto,
    description: 'The job after the request (an ended job is returned unchanged)',
  })
  @ApiErrorResponses({ 404: NO_JOB })
  cancel(@Param('id') id: string): Promise<JobDto> {
    return this.jobs.cancel(id);
  }

  @Get(':id/outputs/:filename')
  @ReadAccess()
  @SignedLinkAccess()
  @ApiOperation({
    summary: 'The bytes of one output file',
    description:
      'With a key, or without one through a signed link from POST /api/jobs/{id}/output-links ' +
      '(`expires` and `signature` below; 401 once expired or for another job or file).',
  })
  @ApiQuery({
    name: 'expires',
    required: false,
    type: Number,
    description: 'Signed link: expiry, unix seconds',
  })
  @ApiQuery({ name: 'signature', required: false, type: String, description: 'Signed link: hex HMAC-SHA256' })
  @ApiOkResponse({
    description: 'The file, with the content type recorded for it (Content-Disposition: inline)',
    content: Object.fromEntries(
      ['image/png', 'image/jpeg', 'image/webp', 'video/mp4', 'application/octet-stream'].map((type) => [
        type,
        { schema: { type: 'string', format: 'binary' } },
      ]),
    ),
  })
  @ApiErrorResponses({
    404: [
      NO_JOB,
      {
        summary: 'No such output',
        message: 'Job job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90 has no output nope.png',
      },
    ],
  })
  async output(
    @Param('id') id: string,
    @Param('filename') filename: string,
    @Res() response: Response,
  ): Promise<void> {
    const { stream, size, contentType } = await this.jobs.openOutput(id, filename);
    response.status(200).set(outputResponseHeaders(filename, contentType, size));
    stream.pipe(response);
  }

  @Sse(':id/events')
  @ReadAccess()
  @ApiOperation({ summary: "Server-Sent Events: the job's status and progress until it ends" })
  @ApiServerSentEvents({
    description:
      'First a `status` event with the job as it is now; then `status` after each change and `progress` while ' +
      'it runs. After the `status` event whose job has ended (completed, failed or cancelled) the server closes ' +
      'the stream; a job that has already ended gets that one event. Reconnecting starts again with a snapshot.',
    events: {
      status: { data: JobDto, description: 'the whole job, read after the change' },
      progress: { data: JobProgressDto, description: 'sampler steps of the node running now' },
    },
    example: [
      'event: status',
      'id: 1',
      'data: {"id":"job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90","status":"running", ...}',
      '',
      'event: progress',
      'id: 2',
      'data: {"value":12,"max":20,"percent":60,"nodeId":"3"}',
      '',
      'event: status',
      'id: 3',
      'data: {"id":"job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90","status":"completed", ...}',
      '',
      '',
    ].join('\n'),
  })
  @ApiErrorResponses({ 404: NO_JOB })
  async events(@Param('id') id: string): Promise<Observable<MessageEvent>> {
    const job = await this.jobs.get(id);
    return this.stream.follow(job);
  }
}
