import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { IsInt, IsString, Max, MaxLength, Min, MinLength } from 'class-validator';
import { OptionalNotNull } from '../../common/validation/optional-not-null';
import { MODEL_FOLDERS, PINNED_COMFY_CLI_VERSION } from './install-manifest';

export class CreateInstallTokenDto {
  @ApiPropertyOptional({ example: 3600, minimum: 60, maximum: 86400, description: 'Lifetime (default 3600)' })
  @OptionalNotNull()
  @IsInt()
  @Min(60)
  @Max(86400)
  ttlSeconds?: number;

  @ApiPropertyOptional({
    example: 'render-room PC 3',
    maxLength: 128,
    description: 'A note to tell tokens apart',
  })
  @OptionalNotNull()
  @IsString()
  @MinLength(1)
  @MaxLength(128)
  name?: string;
}

export class InstallCommandsDto {
  @ApiProperty({
    example:
      "curl -fsSL 'https://workers.example.com/install/install.sh' | CW_ENROLMENT_TOKEN='cwe_...' bash -s -- " +
      "--server 'https://workers.example.com'",
  })
  linux!: string;

  @ApiProperty({
    example:
      "curl -fsSL 'https://workers.example.com/install/install.sh' | CW_ENROLMENT_TOKEN='cwe_...' bash -s -- " +
      "--server 'https://workers.example.com'",
  })
  macos!: string;

  @ApiProperty({
    example:
      "$env:CW_ENROLMENT_TOKEN='cwe_...'; $env:CW_SERVER='https://workers.example.com'; " +
      "irm 'https://workers.example.com/install/install.ps1' | iex",
    description: 'PowerShell',
  })
  windows!: string;
}

export class InstallTokenDto {
  @ApiProperty({
    example: 'cwe_Vq3dY0m5oGZb1cC8Jt2wQx9aK7rN4sEu6hLfPiTz0Bk',
    description: 'Shown only now (stored as its SHA-256): registers one worker, once, before it expires',
  })
  token!: string;

  @ApiProperty({ example: '2026-11-29T13:00:00.000Z', format: 'date-time' })
  expiresAt!: string;

  @ApiProperty({
    type: InstallCommandsDto,
    description:
      'One line per platform to run on the studio machine (the token travels in an environment variable)',
  })
  commands!: InstallCommandsDto;

  @ApiPropertyOptional({
    type: Boolean,
    example: true,
    description:
      'Present only when the commands name this server over plain http on a non-loopback host: the token would ' +
      'cross the network in clear text (set PUBLIC_URL to an https address)',
  })
  insecure?: true;

  @ApiPropertyOptional({
    example:
      'These commands reach this server over plain http: the enrolment token (and the worker key the machine ' +
      'receives) cross the network unencrypted, and the installer script can be altered on the way. Set ' +
      'PUBLIC_URL to an https address (or open the dashboard over https), unless the network between them is ' +
      'trusted.',
    description: 'With `insecure`: what to show the admin',
  })
  warning?: string;
}

export class ManifestModelDto {
  @ApiProperty({ example: 'https://huggingface.co/stabilityai/sdxl/resolve/main/sd_xl_base_1.0.safetensors' })
  url!: string;

  @ApiProperty({
    example: '31e35c80fc4829d14f90153f4c74cd59c90b779f6afe05a74cd6120b893f7e5b',
    pattern: '^[0-9a-f]{64}$',
  })
  sha256!: string;

  @ApiProperty({ enum: MODEL_FOLDERS, example: 'checkpoints' })
  folder!: string;

  @ApiProperty({ example: 'sd_xl_base_1.0.safetensors' })
  filename!: string;

  @ApiPropertyOptional({
    example: 'HF_TOKEN',
    description: 'Environment variable on the machine whose value is sent as a bearer token to this URL only',
  })
  authEnv?: string;
}

export class ManifestCustomNodeDto {
  @ApiProperty({ example: 'https://github.com/example/ComfyUI-Example.git' })
  repo!: string;

  @ApiProperty({ example: '0123456789abcdef0123456789abcdef01234567', pattern: '^[0-9a-f]{40}$' })
  commit!: string;

  @ApiProperty({ example: 'ComfyUI-Example' })
  name!: string;
}

export class InstallManifestDto {
  @ApiProperty({ enum: [1], example: 1 })
  version!: 1;

  @ApiProperty({ example: PINNED_COMFY_CLI_VERSION, description: 'comfy-cli version the installer pins' })
  comfyCliVersion!: string;

  @ApiProperty({ type: [ManifestModelDto] })
  models!: ManifestModelDto[];

  @ApiProperty({ type: [ManifestCustomNodeDto] })
  customNodes!: ManifestCustomNodeDto[];
}
