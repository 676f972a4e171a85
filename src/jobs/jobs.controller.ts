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
  ParseIntPipe,
  Post,
  Query,
  Res,
  Sse,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBadRequestResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiPayloadTooLargeResponse,
  ApiProduces,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import type { Observable } from 'rxjs';
import { outputResponseHeaders } from '../http/output-response-headers';
import { CreateRateLimit, ReadAccess } from '../http/route-access.decorators';
import { InvalidInputError } from '../common/domain-errors';
import { ErrorResponseDto } from '../common/error-response.dto';
import { JOB_STATUSES, type JobStatus } from '../persistence/entities/job.entity';
import { JobDto, JobListDto } from './dto/job.dto';
import { SubmitJobDto } from './dto/submit-job.dto';
import { JobEventStream } from './job-event-stream';
import { JobsService } from './jobs.service';

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
  })
  @ApiAcceptedResponse({ type: JobDto })
  @ApiBadRequestResponse({
    type: ErrorResponseDto,
    description: 'Not an API-format workflow, bad images, ...',
  })
  @ApiPayloadTooLargeResponse({ type: ErrorResponseDto, description: 'Body over MAX_REQUEST_BODY_MB' })
  submit(@Body() body: SubmitJobDto): Promise<JobDto> {
    return this.jobs.create(body);
  }

  @Get()
  @ReadAccess()
  @ApiOperation({ summary: 'Jobs, newest first' })
  @ApiQuery({ name: 'status', required: false, enum: JOB_STATUSES })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: 'default 50, max 500' })
  @ApiOkResponse({ type: JobListDto })
  async list(
    @Query('status') status: string | undefined,
    @Query('limit', new DefaultValuePipe(50), ParseIntPipe) limit: number,
  ): Promise<JobListDto> {
    if (status !== undefined && !JOB_STATUSES.includes(status as JobStatus)) {
      throw new InvalidInputError(`status must be one of ${JOB_STATUSES.join(', ')}`);
    }
    const jobs = await this.jobs.list(status as JobStatus | undefined, Math.min(Math.max(limit, 1), 500));
    return { count: jobs.length, jobs };
  }

  @Get(':id')
  @ReadAccess()
  @ApiOkResponse({ type: JobDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  get(@Param('id') id: string): Promise<JobDto> {
    return this.jobs.get(id);
  }

  @Delete(':id')
  @ApiOperation({
    summary: 'Cancel: a queued job at once; a running one is interrupted on its worker, then cancelled',
  })
  @ApiOkResponse({ type: JobDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  cancel(@Param('id') id: string): Promise<JobDto> {
    return this.jobs.cancel(id);
  }

  @Get(':id/outputs/:filename')
  @ReadAccess()
  @ApiOperation({ summary: 'The bytes of one output file' })
  @ApiProduces('image/png', 'video/mp4', 'application/octet-stream')
  @ApiNotFoundResponse({ type: ErrorResponseDto })
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
  @ApiProduces('text/event-stream')
  async events(@Param('id') id: string): Promise<Observable<MessageEvent>> {
    const job = await this.jobs.get(id);
    return this.stream.follow(job);
  }
}
