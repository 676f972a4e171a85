import { ApiProperty } from '@nestjs/swagger';

export class MissingModelDto {
  @ApiProperty({
    example: 'checkpoints',
    description: 'ComfyUI model folder (canonical: diffusion_models, not unet)',
  })
  folder!: string;

  @ApiProperty({ example: 'flux1-dev.safetensors' })
  name!: string;
}

export class MissingNamesDto {
  @ApiProperty({
    type: [String],
    example: ['KSamplerAdvancedCustom'],
    description: 'Node classes (first 50)',
  })
  nodes!: string[];

  @ApiProperty({ type: [MissingModelDto], description: 'Model files (first 50)' })
  models!: MissingModelDto[];
}

/** 422 of POST /api/jobs: no configured worker has every node and model the workflow names. */
export class UnrunnableJobErrorDto {
  @ApiProperty({ example: 422 })
  statusCode!: number;

  @ApiProperty({ example: 'Unprocessable Entity' })
  error!: string;

  @ApiProperty({
    example:
      'No local worker can run this workflow, and no cloud backend is configured: it lacks 1 model ' +
      '(checkpoints/flux1-dev.safetensors)',
  })
  message!: string;

  @ApiProperty({
    type: MissingNamesDto,
    description: 'What the closest local worker (the one lacking the fewest names) lacks',
  })
  missing!: MissingNamesDto;
}
