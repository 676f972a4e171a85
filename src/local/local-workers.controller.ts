import { Body, Controller, Delete, Get, HttpCode, HttpStatus, Param, Post } from '@nestjs/common';
import {
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiTags,
} from '@nestjs/swagger';
import { CreateRateLimit, ReadAccess } from '../http/route-access.decorators';
import { ErrorResponseDto } from '../common/error-response.dto';
import { LocalWorkerDto, LocalWorkerListDto, RegisterLocalWorkerDto } from './dto/local-worker.dto';
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
  @ApiOkResponse({ type: LocalWorkerDto })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'Already registered' })
  async register(@Body() body: RegisterLocalWorkerDto): Promise<LocalWorkerDto> {
    return view(await this.workers.register(body.url, body.name, body.maxConcurrent));
  }

  @Delete(':id')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove a worker registered through the API' })
  @ApiNotFoundResponse({ type: ErrorResponseDto })
  async remove(@Param('id') id: string): Promise<void> {
    await this.workers.remove(id);
  }
}
