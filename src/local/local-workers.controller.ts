import {
  Body,
  Controller,
  Delete,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Patch,
  Post,
  Req,
  UnauthorizedException,
} from '@nestjs/common';
import type { Request } from 'express';
import {
  ApiCreatedResponse,
  ApiNoContentResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { ApiErrorResponses } from '../http/openapi/api-error-responses.decorator';
import { CreateRateLimit, ReadAccess } from '../http/route-access.decorators';
import {
  LocalWorkerDto,
  LocalWorkerListDto,
  RegisteredLocalWorkerDto,
  RegisterLocalWorkerDto,
  UpdateLocalWorkerDto,
} from './dto/local-worker.dto';
import {
  ENROLMENT_TOKEN_REFUSED,
  EnrolmentTokenAccess,
  enrolmentOf,
  WORKER_KEY_REFUSED,
  WorkerKeyAccess,
} from './enrolment/enrolment-access';
import { capabilitiesView } from './local-worker-capabilities';
import { EnrolmentTokenSpentError, type LocalWorker, LocalWorkersService } from './local-workers.service';
import type { WorkerCapabilities } from '../workflows';

/**
 * What the API shows of a worker. Not its machine id: with a token, a registration carrying a worker's machine id
 * needs that worker's key to replace it, yet the id is the one half of that claim a reader should not be handed.
 */
function view(worker: LocalWorker, capabilities: WorkerCapabilities | undefined): LocalWorkerDto {
  const { lastCheckedAt: _checked, machineId: _machine, ...rest } = worker;
  return { ...rest, capabilities: capabilities ? capabilitiesView(capabilities) : null };
}

@ApiTags('local')
@Controller('api/local/workers')
export class LocalWorkersController {
  constructor(private readonly workers: LocalWorkersService) {}

  private view(worker: LocalWorker): LocalWorkerDto {
    return view(worker, this.workers.capabilitiesOf(worker.id));
  }

  @Get()
  @ReadAccess()
  @ApiOperation({ summary: 'Local ComfyUI workers with their health and load' })
  @ApiOkResponse({ type: LocalWorkerListDto })
  list(): LocalWorkerListDto {
    return { workers: this.workers.list().map((w) => this.view(w)) };
  }

  @Post()
  @CreateRateLimit()
  @EnrolmentTokenAccess()
  @ApiOperation({
    summary: 'Register a local ComfyUI server (persisted)',
    description:
      'With the admin key, or with an enrolment token (`Authorization: Bearer cwe_...`, from POST ' +
      '/api/local/install-tokens), which this registration consumes: a token registers one worker, once. ' +
      'A registration with the machineId of a registered worker replaces it, keeping its id: with the admin key ' +
      "always; with a token only when `previousWorkerKey` is that worker's key (the installer keeps it from the " +
      'earlier install), else 409 and the token stays unused. Failing a machineId match, a worker at the same URL ' +
      "registered without a machineId is replaced likewise (never one of another machine). The answer carries the worker's own " +
      'key, which may only remove this worker.',
  })
  @ApiCreatedResponse({
    type: RegisteredLocalWorkerDto,
    description: 'Registered (or replaced); health checked once already',
  })
  @ApiErrorResponses({
    400: {
      summary: 'Not an http(s) URL',
      message: 'url must be a URL address',
    },
    401: { summary: 'Enrolment token used, expired or unknown', message: ENROLMENT_TOKEN_REFUSED },
    409: {
      summary: 'Already registered (its URL, or its machine id without the previous worker key)',
      message: 'A local worker with url http://127.0.0.1:8188 is already registered (local-3fa9c01b2e)',
    },
  })
  async register(
    @Body() body: RegisterLocalWorkerDto,
    @Req() request: Request,
  ): Promise<RegisteredLocalWorkerDto> {
    const reported =
      body.gpu !== undefined || body.models !== undefined
        ? { gpu: body.gpu ? { ...body.gpu } : null, models: body.models ?? [] }
        : undefined;
    try {
      const { worker, workerKey } = await this.workers.register({
        url: body.url,
        name: body.name,
        maxConcurrent: body.maxConcurrent,
        machineId: body.machineId,
        previousWorkerKey: body.previousWorkerKey,
        reported,
        enrolmentTokenHash: enrolmentOf(request)?.tokenHash,
      });
      return { ...this.view(worker), workerKey };
    } catch (error) {
      // Another registration took the token between the guard's check and this one.
      if (error instanceof EnrolmentTokenSpentError) throw new UnauthorizedException(ENROLMENT_TOKEN_REFUSED);
      throw error;
    }
  }

  @Patch(':id')
  @ApiOperation({
    summary: 'Enable, disable or drain a worker (env or registered); persisted',
    description:
      'Only the fields given change. Disabled and draining workers get no new jobs; jobs already running finish. ' +
      'A draining worker leaves once it runs no job: a registered one is removed, one from LOCAL_COMFYUI_URLS ' +
      'is disabled (only the environment can remove it). If it is idle already that happens before the answer, ' +
      'which then shows its last state. Other instances apply the change at their next health tick.',
  })
  @ApiOkResponse({ type: LocalWorkerDto, description: 'The worker after the change' })
  @ApiErrorResponses({
    400: { summary: 'Not a boolean', message: 'enabled must be a boolean value' },
    404: { summary: 'No such worker', message: 'No local worker local-3fa9c01b2e' },
  })
  async update(@Param('id') id: string, @Body() body: UpdateLocalWorkerDto): Promise<LocalWorkerDto> {
    return this.view(await this.workers.setControls(id, body));
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @WorkerKeyAccess()
  @ApiOperation({
    summary: 'Remove a worker registered through the API',
    description:
      "With the admin key, or with the worker's own key from its registration (`Authorization: Bearer " +
      "cww_...`: the installer's uninstall), which may remove that worker only.",
  })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrorResponses({
    401: { summary: "Not this worker's key", message: WORKER_KEY_REFUSED },
    404: { summary: 'No such worker', message: 'No local worker local-3fa9c01b2e' },
    409: {
      summary: 'Configured in LOCAL_COMFYUI_URLS',
      message: 'Local worker local-3fa9c01b2e comes from LOCAL_COMFYUI_URLS; remove it there and restart',
    },
  })
  async remove(@Param('id') id: string): Promise<void> {
    await this.workers.remove(id);
  }
}
