import { Controller, Get, Query, Res } from '@nestjs/common';
import {
  ApiExtraModels,
  ApiOkResponse,
  ApiOperation,
  ApiQuery,
  ApiTags,
  getSchemaPath,
} from '@nestjs/swagger';
import type { Response } from 'express';
import { InvalidInputError } from '../common/domain-errors';
import { ApiErrorResponses } from '../http/openapi/api-error-responses.decorator';
import { ReadAccess } from '../http/route-access.decorators';
import { COST_HISTORY_CSV_HEADER, costHistoryCsv } from './cost-history.csv';
import { COST_GRANULARITIES } from './cost-history.range';
import { CostHistoryService } from './cost-history.service';
import { CostHistoryDto } from './dto/cost-history.dto';

const FORMATS = ['json', 'csv'] as const;

@ApiTags('cloud')
@Controller('api/cloud/cost')
export class CostHistoryController {
  constructor(private readonly costs: CostHistoryService) {}

  @Get('history')
  @ReadAccess()
  @ApiOperation({
    summary: 'Spend over time by backend and by pod, jobs completed and cost per job (JSON or CSV)',
    description:
      'Buckets are whole UTC hours or days: `from` is rounded down and `to` up. Pods count as billed through ' +
      'the last ledger write (one control-loop tick behind a live pod); serverless spend counts when the job ' +
      'ended. Hourly: at most 93 days; daily: at most 2 years.',
  })
  @ApiQuery({
    name: 'from',
    required: false,
    description: 'ISO 8601; default: to - 48 h (hour) or 7 days (day)',
  })
  @ApiQuery({ name: 'to', required: false, description: 'ISO 8601; default: now' })
  @ApiQuery({ name: 'granularity', required: false, enum: COST_GRANULARITIES, description: 'default day' })
  @ApiQuery({ name: 'format', required: false, enum: FORMATS, description: 'csv: one row per bucket' })
  @ApiExtraModels(CostHistoryDto)
  @ApiOkResponse({
    description: 'JSON, or with format=csv a CSV file (text/csv) with one row per bucket',
    content: {
      'application/json': { schema: { $ref: getSchemaPath(CostHistoryDto) } },
      'text/csv': {
        schema: { type: 'string' },
        example: `${COST_HISTORY_CSV_HEADER}\r\n2026-11-28T00:00:00.000Z,0.7212,0,0.0412,0.68,12,0.0601\r\n`,
      },
    },
  })
  @ApiErrorResponses({
    400: [
      { summary: 'Unknown granularity', message: 'granularity must be one of hour, day' },
      {
        summary: 'Not a time',
        message: 'from must be an ISO 8601 time after 2000, e.g. 2026-11-28T00:00:00Z',
      },
      { summary: 'Empty range', message: 'from must be before to' },
      {
        summary: 'Range too long',
        message: 'The range is too long for granularity=hour: at most 93 days',
      },
      { summary: 'Unknown format', message: 'format must be one of json, csv' },
    ],
  })
  async history(
    @Query('from') from: string | undefined,
    @Query('to') to: string | undefined,
    @Query('granularity') granularity: string | undefined,
    @Query('format') format: string | undefined,
    @Res({ passthrough: true }) response: Response,
  ): Promise<CostHistoryDto | string> {
    if (format !== undefined && !FORMATS.includes(format as (typeof FORMATS)[number])) {
      throw new InvalidInputError(`format must be one of ${FORMATS.join(', ')}`);
    }
    const history = await this.costs.history({ from, to, granularity });
    if (format !== 'csv') return history;
    const name = `cost-${history.granularity}-${history.from.slice(0, 10)}-${history.to.slice(0, 10)}.csv`;
    response.set({
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': `attachment; filename="${name}"`,
    });
    return costHistoryCsv(history.buckets);
  }
}
