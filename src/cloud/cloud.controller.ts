import {
  Body,
  Controller,
  DefaultValuePipe,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  ParseBoolPipe,
  ParseIntPipe,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiBadRequestResponse,
  ApiConflictResponse,
  ApiNotFoundResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiResponse,
  ApiServiceUnavailableResponse,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { CreateRateLimit, ReadAccess } from '../http/route-access.decorators';
import { ErrorResponseDto } from '../common/error-response.dto';
import { CloudAdminService } from './cloud-admin.service';
import { CloudViewService } from './cloud-view.service';
import { CloudConfigDto, UpdateCloudConfigDto } from './dto/cloud-config.dto';
import { CloudCostDto, CloudStatusDto } from './dto/cloud-status.dto';
import {
  PodListDto,
  ShutdownResultDto,
  SpawnPodDto,
  SpawnResultDto,
  TerminateResultDto,
} from './dto/pod.dto';

@ApiTags('cloud')
@Controller('api/cloud')
export class CloudController {
  constructor(
    private readonly view: CloudViewService,
    private readonly admin: CloudAdminService,
  ) {}

  @Get('status')
  @ReadAccess()
  @ApiOperation({ summary: 'Cloud worker status: pods, jobs processed, cost, settings' })
  @ApiOkResponse({ type: CloudStatusDto })
  status(): Promise<CloudStatusDto> {
    return this.view.status();
  }

  @Get('cost')
  @ReadAccess()
  @ApiOperation({ summary: 'Cost statistics from the persisted ledger' })
  @ApiOkResponse({ type: CloudCostDto })
  cost(): Promise<CloudCostDto> {
    return this.view.cost();
  }

  @Get('pods')
  @ReadAccess()
  @ApiOperation({ summary: 'Live pods (add all=true for terminated and failed ones too)' })
  @ApiQuery({ name: 'all', required: false, type: Boolean })
  @ApiQuery({ name: 'limit', required: false, type: Number, description: 'with all=true; default 100' })
  @ApiOkResponse({ type: PodListDto })
  pods(
    @Query('all', new DefaultValuePipe(false), ParseBoolPipe) all: boolean,
    @Query('limit', new DefaultValuePipe(100), ParseIntPipe) limit: number,
  ): Promise<PodListDto> {
    return this.view.listPods(all, Math.min(Math.max(limit, 1), 1000));
  }

  @Post('spawn')
  @CreateRateLimit()
  @ApiOperation({
    summary: 'Spawn a pod manually',
    description:
      'Waits until the pod is ready (RunPod runtime + ComfyUI answering). With ?wait=false answers 202 at once.',
  })
  @ApiQuery({ name: 'wait', required: false, type: Boolean })
  @ApiOkResponse({ type: SpawnResultDto, description: 'Pod ready' })
  @ApiResponse({ status: 202, type: SpawnResultDto, description: 'Pod requested (wait=false)' })
  @ApiConflictResponse({ type: ErrorResponseDto, description: 'CLOUD_MAX_PODS reached' })
  @ApiServiceUnavailableResponse({ type: ErrorResponseDto, description: 'Cloud off, or no GPU capacity' })
  @ApiBadRequestResponse({ type: ErrorResponseDto, description: 'Unknown GPU type' })
  async spawn(
    @Body() body: SpawnPodDto,
    @Query('wait', new DefaultValuePipe(true), ParseBoolPipe) wait: boolean,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SpawnResultDto> {
    if (!wait) response.status(HttpStatus.ACCEPTED);
    return this.admin.spawn(body.gpuType, wait);
  }

  @Post('terminate/:podId')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Terminate one of our pods (RunPod id or our name)' })
  @ApiOkResponse({ type: TerminateResultDto })
  @ApiNotFoundResponse({ type: ErrorResponseDto, description: 'Not a pod this service manages' })
  terminate(@Param('podId') podId: string): Promise<TerminateResultDto> {
    return this.admin.terminate(podId);
  }

  @Post('shutdown-all')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Emergency shutdown: terminate every pod we own' })
  @ApiOkResponse({ type: ShutdownResultDto })
  shutdownAll(): Promise<ShutdownResultDto> {
    return this.admin.shutdownAll();
  }

  @Put('config')
  @ApiOperation({ summary: 'Change cloud settings (partial; validated; saved; used by the next tick)' })
  @ApiOkResponse({ type: CloudConfigDto })
  @ApiBadRequestResponse({ type: ErrorResponseDto })
  updateConfig(@Body() body: UpdateCloudConfigDto): Promise<CloudConfigDto> {
    return this.admin.updateConfig(body);
  }
}
