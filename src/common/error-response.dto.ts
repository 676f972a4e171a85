import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';

/** The one error shape (see HttpErrorFilter). */
export class ErrorResponseDto {
  @ApiProperty({ example: 409 })
  statusCode!: number;

  @ApiProperty({ example: 'Conflict' })
  error!: string;

  @ApiProperty({ example: 'CLOUD_MAX_PODS reached: 5 of 5 pods are live' })
  message!: string;

  @ApiPropertyOptional({ example: { livePods: 5, maxPods: 5 }, type: 'object', additionalProperties: true })
  details?: Record<string, unknown>;
}
