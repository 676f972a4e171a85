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
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { OpaqueJson } from '../../common/http/bounded-validation.pipe';
import { REQUESTED_BACKENDS, type RequestedBackend } from '../../persistence/entities/job.entity';
import { IsInputFileName } from './input-file-name';

/** Most input images one job may carry. */
export const MAX_INPUT_IMAGES = 100;

export class InputImageDto {
  @ApiProperty({ example: 'input_image_1.png', description: "File name the workflow's LoadImage refers to" })
  @IsInputFileName()
  name!: string;

  @ApiProperty({
    example: 'data:image/png;base64,iVBORw0KGgo...',
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
    example: {
      '1': { class_type: 'EmptyImage', inputs: { width: 512, height: 512, batch_size: 1, color: 0 } },
      '2': { class_type: 'SaveImage', inputs: { images: ['1', 0], filename_prefix: 'ComfyUI' } },
    },
    type: 'object',
    additionalProperties: true,
  })
  @IsObject()
  // Checked node by node, in linear time, by JobsService (validateApiWorkflow).
  @OpaqueJson()
  workflow!: Record<string, unknown>;

  @ApiPropertyOptional({ type: [InputImageDto], description: 'Uploaded to the worker before the prompt' })
  @IsOptional()
  @IsArray()
  @ArrayMaxSize(MAX_INPUT_IMAGES)
  @ValidateNested({ each: true })
  @Type(() => InputImageDto)
  images?: InputImageDto[];

  @ApiPropertyOptional({ example: 0, description: 'Higher runs first' })
  @IsOptional()
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
  @IsOptional()
  @IsIn(REQUESTED_BACKENDS)
  backend?: RequestedBackend;

  @ApiPropertyOptional({
    example: { user: 'alice', project: 'teaser' },
    type: 'object',
    additionalProperties: true,
    description: 'Your own labels, returned with the job: at most 64 KB as JSON and 8 levels deep',
  })
  @IsOptional()
  @IsObject()
  // Bounded in size and depth by JobsService (job-metadata.ts).
  @OpaqueJson()
  metadata?: Record<string, unknown>;
}
