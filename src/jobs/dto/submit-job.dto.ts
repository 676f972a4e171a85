import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { OptionalNotNull } from '../../common/validation/optional-not-null';
import { OpaqueJson } from '../../common/http/bounded-validation.pipe';
import { REQUESTED_BACKENDS, type RequestedBackend } from '../../persistence/entities/job.entity';
import { IsInputFileName } from './input-file-name';
import { MAX_WEBHOOK_URL_LENGTH } from '../../webhooks/webhook-url-rules';

/** Most input images one job may carry. */
export const MAX_INPUT_IMAGES = 100;

export class InputImageDto {
  @ApiProperty({ example: 'input_image_1.png', description: "File name the workflow's LoadImage refers to" })
  @IsInputFileName()
  name!: string;

  @ApiProperty({
    // A complete 1x1 PNG: Swagger UI pre-fills this, and a cut-off example would be rejected as bad base64.
    example:
      'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP438AAAAQBAYD718vxAAAAAElFTkSuQmCC',
    description: 'Base64, with or without a data URI prefix',
  })
  @IsString()
  @MinLength(4)
  image!: string;
}

export class SubmitJobDto {
  @ApiProperty({
    description:
      'ComfyUI workflow in API format (node id -> {class_type, inputs}), as exported with "Save (API)"',
    // Core nodes only, and it reads the example input image, so the pre-filled request runs as-is.
    example: {
      '1': { class_type: 'LoadImage', inputs: { image: 'input_image_1.png' } },
      '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
      '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'ComfyUI' } },
    },
    type: 'object',
    additionalProperties: true,
  })
  @IsObject()
  // Checked node by node, in linear time, by JobsService (validateApiWorkflow).
  @OpaqueJson()
  workflow!: Record<string, unknown>;

  @ApiPropertyOptional({ type: [InputImageDto], description: 'Uploaded to the worker before the prompt' })
  @OptionalNotNull()
  @IsArray()
  @ArrayMaxSize(MAX_INPUT_IMAGES)
  @ValidateNested({ each: true })
  @Type(() => InputImageDto)
  images?: InputImageDto[];

  @ApiPropertyOptional({ example: 0, description: 'Higher runs first' })
  @OptionalNotNull()
  @IsInt()
  @Min(-1000)
  @Max(1000)
  priority?: number;

  @ApiPropertyOptional({
    enum: REQUESTED_BACKENDS,
    example: 'auto',
    description:
      'auto: local first, then pod or serverless; cloud: serverless or pod; or force local / serverless / pod',
  })
  @OptionalNotNull()
  @IsIn(REQUESTED_BACKENDS)
  backend?: RequestedBackend;

  @ApiPropertyOptional({
    example: { user: 'alice', project: 'teaser' },
    type: 'object',
    additionalProperties: true,
    description: 'Your own labels, returned with the job: at most 64 KB as JSON and 8 levels deep',
  })
  @OptionalNotNull()
  @IsObject()
  // Bounded in size and depth by JobsService (job-metadata.ts).
  @OpaqueJson()
  metadata?: Record<string, unknown>;

  @ApiPropertyOptional({
    // null, not a URL: "Try it out" sends the example as-is, and a made-up receiver would be refused (400).
    example: null,
    nullable: true,
    type: String,
    maxLength: MAX_WEBHOOK_URL_LENGTH,
    description:
      'e.g. `https://hooks.example.com/comfyui`. ' +
      "Also send this job's jobCompleted / jobFailed webhook here (besides WEBHOOK_URLS), signed like every " +
      'delivery (X-CloudWorkers-Signature). http or https; the outbound address rules apply (400 when refused: ' +
      'link-local and cloud metadata addresses never, and only WEBHOOK_ALLOWED_NETWORKS when that is set). ' +
      'Needs WEBHOOK_SECRET on the service. Not shown in job views.',
  })
  // null is a documented value here (no per-job webhook), unlike the fields above.
  @IsOptional()
  @IsString()
  @MaxLength(MAX_WEBHOOK_URL_LENGTH)
  webhookUrl?: string | null;
}
