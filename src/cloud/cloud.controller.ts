import {
  Body,
  Controller,
  DefaultValuePipe,
  Get,
  HttpCode,
  HttpStatus,
  Param,
  Post,
  Put,
  Query,
  Res,
} from '@nestjs/common';
import {
  ApiAcceptedResponse,
  ApiBody,
  ApiCreatedResponse,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { queryFlag, queryInt } from '../common/query-params';
import { CreateRateLimit, ReadAccess } from '../http/route-access.decorators';
import { ApiErrorResponses } from '../http/openapi/api-error-responses.decorator';
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
  @ApiErrorResponses({
    400: { summary: 'Not a boolean or a whole number', message: 'all must be true or false' },
  })
  pods(
    @Query('all', new DefaultValuePipe(false), queryFlag('all')) all: boolean,
    @Query('limit', new DefaultValuePipe(100), queryInt('limit')) limit: number,
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
  @ApiQuery({ name: 'wait', required: false, type: Boolean, description: 'default true' })
  @ApiBody({
    type: SpawnPodDto,
    required: false,
    description: 'Optional: without it, the configured gpuType',
  })
  @ApiCreatedResponse({ type: SpawnResultDto, description: 'Pod created and ready' })
  @ApiAcceptedResponse({ type: SpawnResultDto, description: 'Pod requested, still booting (wait=false)' })
  @ApiErrorResponses({
    400: [
      { summary: 'wait is not a boolean', message: 'wait must be true or false' },
      {
        summary: 'Unknown GPU type',
        message: 'gpuType: Unknown RunPod GPU type "NVIDIA Quantum 9000". Did you mean: "NVIDIA RTX A4000"?',
      },
    ],
    409: [
      {
        summary: 'CLOUD_MAX_PODS reached',
        message: 'CLOUD_MAX_PODS reached: 5 of 5 pods are live',
        details: { livePods: 5, maxPods: 5 },
      },
      {
        summary: 'Daily budget would be crossed',
        message:
          'Daily budget (CLOUD_DAILY_BUDGET_USD $10.00): a new pod (~$0.0583) would cross it; $9.9712 spent today',
        details: { limitUsd: 10, spentTodayUsd: 9.9712, estimatedCostUsd: 0.0583 },
      },
    ],
    502: [
      {
        summary: 'RunPod rejected the key',
        message: 'RunPod rejected the API key (check RUNPOD_API_KEY): RunPod answered 401 Unauthorized',
      },
      { summary: 'RunPod failing', message: 'RunPod answered 500 after 4 attempts' },
    ],
    503: [
      {
        summary: 'No GPU capacity',
        message: 'No GPU capacity at RunPod for: NVIDIA GeForce RTX 3090',
        details: { gpuTypesTried: ['NVIDIA GeForce RTX 3090'] },
      },
      { summary: 'Cloud off', message: 'Cloud workers are not available: RUNPOD_API_KEY is not set' },
      {
        summary: 'No price known under a budget',
        message:
          'Daily budget (CLOUD_DAILY_BUDGET_USD $10.00): a new pod cannot be admitted: no price known for ' +
          "NVIDIA GeForce RTX 3090 (RunPod's GPU catalogue could not be read, and no pod of that type ran here); " +
          'try again when RunPod answers',
      },
      {
        summary: 'Pod failed to boot',
        message: 'Pod comfyui-worker-3fa9c01b2e did not come up: boot timed out after 600 s',
      },
    ],
    504: {
      summary: 'Not ready in time',
      message: 'Pod comfyui-worker-3fa9c01b2e was not ready within 720s',
    },
  })
  async spawn(
    @Body() body: SpawnPodDto,
    @Query('wait', new DefaultValuePipe(true), queryFlag('wait')) wait: boolean,
    @Res({ passthrough: true }) response: Response,
  ): Promise<SpawnResultDto> {
    if (!wait) response.status(HttpStatus.ACCEPTED);
    return this.admin.spawn(body.gpuType, wait);
  }

  @Post('terminate/:podId')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({ summary: 'Terminate one of our pods (RunPod id or our name)' })
  @ApiOkResponse({ type: TerminateResultDto })
  @ApiErrorResponses({
    404: {
      summary: 'Not a pod this service manages',
      message: 'No pod x9k2mq81vd0a3c is managed by this service',
    },
    502: {
      summary: 'RunPod did not terminate it',
      message: 'RunPod rejected the API key (check RUNPOD_API_KEY): RunPod answered 401 Unauthorized',
    },
  })
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
  @ApiOperation({
    summary: 'Change cloud settings (partial; validated; saved; used by the next tick)',
    description:
      "idleTimeout and autoScaleThreshold are the seed rule's (CLOUD_POLICY=seed). Under the default " +
      "CLOUD_POLICY=breakeven they are saved but neither reaps nor spawns: the policy measures each pod's " +
      'idle timeout (pods[].idleTimeout in GET /api/cloud/status) and spawns by break-even, and the service ' +
      "logs a warning. idleTimeout is still a pod's keep-alive in quotes, and a new pod's idle time in the " +
      'daily budget.',
  })
  @ApiBody({
    type: UpdateCloudConfigDto,
    examples: {
      maxPods: {
        summary: 'At most 2 pods at once (nothing else changes)',
        value: { maxPods: 2 },
      },
      idleTimeout: {
        summary: 'CLOUD_POLICY=seed: reap idle pods after 2 minutes',
        value: { idleTimeout: 120000 },
      },
    },
  })
  @ApiOkResponse({ type: CloudConfigDto, description: 'The settings now in force' })
  @ApiErrorResponses({
    400: [
      { summary: 'Out of range', message: 'maxPods must not be less than 0' },
      {
        summary: 'Unknown GPU type',
        message: 'gpuType: Unknown RunPod GPU type "NVIDIA Quantum 9000". Did you mean: "NVIDIA RTX A4000"?',
      },
    ],
  })
  updateConfig(@Body() body: UpdateCloudConfigDto): Promise<CloudConfigDto> {
    return this.admin.updateConfig(body);
  }
}
