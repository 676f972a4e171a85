import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, Max, Min } from 'class-validator';
import { OptionalNotNull } from '../../common/validation/optional-not-null';
import {
  OUTPUT_LINK_DEFAULT_TTL_S,
  OUTPUT_LINK_MAX_TTL_S,
  OUTPUT_LINK_MIN_TTL_S,
} from '../../http/output-link-signer';

export class CreateOutputLinksDto {
  @ApiPropertyOptional({
    example: OUTPUT_LINK_DEFAULT_TTL_S,
    minimum: OUTPUT_LINK_MIN_TTL_S,
    maximum: OUTPUT_LINK_MAX_TTL_S,
    description: `How long the links work, in seconds (default ${OUTPUT_LINK_DEFAULT_TTL_S})`,
  })
  @OptionalNotNull()
  @IsInt()
  @Min(OUTPUT_LINK_MIN_TTL_S)
  @Max(OUTPUT_LINK_MAX_TTL_S)
  expiresInSeconds?: number;
}

export class OutputLinkDto {
  @ApiProperty({ example: 'ComfyUI_00001_.png' })
  filename!: string;

  @ApiProperty({
    example:
      '/api/jobs/job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90/outputs/ComfyUI_00001_.png?expires=1795867200&signature=' +
      '3f1c0e9d7a5b2c4e6f8a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e',
    description:
      'Same-origin path to the output with ?expires=<unix s>&signature=<hex HMAC>; works without the API key ' +
      'until it expires, for this job and file only',
  })
  url!: string;

  @ApiProperty({ example: '2026-11-28T12:10:00.000Z' })
  expiresAt!: string;
}

export class OutputLinksDto {
  @ApiProperty({ type: [OutputLinkDto], description: "One per output the job has now (none yet: empty)" })
  links!: OutputLinkDto[];
}
