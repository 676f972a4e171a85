import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import {
  ArrayMaxSize,
  IsArray,
  IsIn,
  IsISO8601,
  IsInt,
  IsNumber,
  IsObject,
  IsOptional,
  IsString,
  Max,
  MaxLength,
  Min,
  MinLength,
  IsPositive,
  ValidateNested,
} from 'class-validator';
import { OptionalNotNull } from '../../common/validation/optional-not-null';
import { OpaqueJson } from '../../common/http/bounded-validation.pipe';
import { REQUESTED_BACKENDS, type RequestedBackend } from '../../persistence/entities/job.entity';
import { IsInputFileName } from './input-file-name';
import { MAX_WEBHOOK_URL_LENGTH } from '../../webhooks/webhook-url-rules';

/** Largest maxCostUsd accepted: a sanity bound, not a budget. */
export const MAX_JOB_COST_USD = 10_000;
/** Furthest deadline accepted: a week ahead. */
export const MAX_DEADLINE_AHEAD_MS = 7 * 24 * 60 * 60 * 1000;

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

/** The 1x1 PNG of the examples (complete: a cut-off example would be rejected as bad base64). */
const EXAMPLE_PNG =
  'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP438AAAAQBAYD718vxAAAAAElFTkSuQmCC';

/**
 * The request Swagger UI pre-fills for POST /api/jobs and the quote ("Try it out" sends it as-is): core nodes only,
 * reading the example input image, without a deadline (a fixed time would soon be in the past) or a cost cap.
 */
export const SUBMIT_JOB_EXAMPLES = {
  'image-job': {
    summary: 'Invert the example image (runs as-is)',
    value: {
      workflow: {
        '1': { class_type: 'LoadImage', inputs: { image: 'input_image_1.png' } },
        '2': { class_type: 'ImageInvert', inputs: { image: ['1', 0] } },
        '3': { class_type: 'SaveImage', inputs: { images: ['2', 0], filename_prefix: 'ComfyUI' } },
      },
      images: [{ name: 'input_image_1.png', image: EXAMPLE_PNG }],
      priority: 0,
      backend: 'auto',
      metadata: { user: 'alice', project: 'teaser' },
      webhookUrl: null,
    },
  },
};

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
    example: 0.05,
    maximum: MAX_JOB_COST_USD,
    description:
      'Above 0. Spend at most this (USD) on the job: routing uses only backends whose estimated cost is within it (local is ' +
      'free). With a deadline: the cheapest backend that makes the deadline within it, else the fastest within it ' +
      '(late, and the quote says so). 422 when no backend fits; the answer names the best option.',
  })
  @OptionalNotNull()
  @IsNumber({ allowNaN: false, allowInfinity: false })
  @IsPositive()
  @Max(MAX_JOB_COST_USD)
  maxCostUsd?: number;

  @ApiPropertyOptional({
    example: '2026-11-29T18:00:00Z',
    format: 'date-time',
    description:
      'Complete by this time (ISO 8601 with a time zone; in the future, at most 7 days ahead). Routing picks the ' +
      'cheapest backend estimated to complete by then (within maxCostUsd), whatever ROUTING_PREFERENCE says; 422 ' +
      'when none can, naming the best option (its completion time and cost). A queued job whose plan slips is ' +
      're-planned (serverless if that still makes it) or told in waitingReason that the deadline will be missed.',
  })
  @OptionalNotNull()
  @IsString()
  @IsISO8601({ strict: true, strictSeparator: true })
  deadline?: string;

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
