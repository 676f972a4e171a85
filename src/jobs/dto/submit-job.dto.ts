import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  IsArray,
  IsIn,
  IsInt,
  IsObject,
  IsOptional,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateNested,
} from 'class-validator';
import { REQUESTED_BACKENDS, type RequestedBackend } from '../../persistence/entities/job.entity';

export class InputImageDto {
  @ApiProperty({ example: 'input_image_1.png', description: "File name the workflow's LoadImage refers to" })
  @IsString()
  @MinLength(1)
  @MaxLength(200)
  @Matches(/^[^/\\\0]+$/, { message: 'images.name must be a plain file name (no slashes)' })
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
  workflow!: Record<string, unknown>;

  @ApiPropertyOptional({ type: [InputImageDto], description: 'Uploaded to the worker before the prompt' })
  @IsOptional()
  @IsArray()
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
  })
  @IsOptional()
  @IsObject()
  metadata?: Record<string, unknown>;
}
