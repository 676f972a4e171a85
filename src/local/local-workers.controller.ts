import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Patch, Post } from '@nestjs/common';
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
  RegisterLocalWorkerDto,
  UpdateLocalWorkerDto,
} from './dto/local-worker.dto';
import { type LocalWorker, LocalWorkersService } from './local-workers.service';

function view(worker: LocalWorker): LocalWorkerDto {
  const { lastCheckedAt: _checked, ...rest } = worker;
  return rest;
}

@ApiTags('local')
@Controller('api/local/workers')
export class LocalWorkersController {
  constructor(private readonly workers: LocalWorkersService) {}

  @Get()
  @ReadAccess()
  @ApiOperation({ summary: 'Local ComfyUI workers with their health and load' })
  @ApiOkResponse({ type: LocalWorkerListDto })
  list(): LocalWorkerListDto {
    return { workers: this.workers.list().map(view) };
  }

  @Post()
  @CreateRateLimit()
  @ApiOperation({ summary: 'Register a local ComfyUI server (persisted)' })
  @ApiCreatedResponse({ type: LocalWorkerDto, description: 'Registered; health checked once already' })
  @ApiErrorResponses({
    400: {
      summary: 'Not an http(s) URL',
      message: 'url must be a URL address',
    },
    409: {
      summary: 'Already registered',
      message: 'A local worker with url http://127.0.0.1:8188 is already registered (local-3fa9c01b2e)',
    },
  })
  async register(@Body() body: RegisterLocalWorkerDto): Promise<LocalWorkerDto> {
    return view(await this.workers.register(body.url, body.name, body.maxConcurrent));
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
    return view(await this.workers.setControls(id, body));
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove a worker registered through the API' })
  @ApiNoContentResponse({ description: 'Removed' })
  @ApiErrorResponses({
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
