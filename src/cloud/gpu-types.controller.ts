import { Controller, Get } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { ReadAccess } from '../http/route-access.decorators';
import { GpuTypeCatalogDto } from './gpu-types.dto';
import { GpuTypesService } from './gpu-types.service';

@ApiTags('cloud')
@Controller('api/cloud/gpu-types')
export class GpuTypesController {
  constructor(private readonly gpuTypes: GpuTypesService) {}

  @Get()
  @ReadAccess()
  @ApiOperation({
    summary: "RunPod's GPU types with prices and stock, for the spawn picker",
    description:
      'Read from RunPod and cached for a minute. When RunPod cannot be asked (no RUNPOD_API_KEY, an error, or ' +
      'no answer within 5 s) the built-in table is answered with null prices and `source: static`.',
  })
  @ApiOkResponse({ type: GpuTypeCatalogDto })
  list(): Promise<GpuTypeCatalogDto> {
    return this.gpuTypes.list();
  }
}
