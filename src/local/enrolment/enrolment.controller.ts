import { Body, Controller, Get, HttpCode, HttpStatus, Inject, Post, Req } from '@nestjs/common';
import { ApiCreatedResponse, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Request } from 'express';
import type { AppConfig } from '../../config/app-config';
import { APP_CONFIG } from '../../config/config.module';
import { ApiErrorResponses } from '../../http/openapi/api-error-responses.decorator';
import { CreateRateLimit, ReadAccess } from '../../http/route-access.decorators';
import { ENROLMENT_TOKEN_REFUSED, EnrolmentTokenAccess } from './enrolment-access';
import { CreateInstallTokenDto, InstallManifestDto, InstallTokenDto } from './enrolment.dto';
import { EnrolmentTokensService } from './enrolment-tokens.service';
import type { InstallManifest } from './install-manifest';
import { publicBaseUrl } from './public-base-url';

/** Enrolling studio machines: one-time tokens and the manifest the installer follows. */
@ApiTags('local')
@Controller('api/local')
export class EnrolmentController {
  constructor(
    @Inject(APP_CONFIG) private readonly config: AppConfig,
    private readonly tokens: EnrolmentTokensService,
  ) {}

  @Post('install-tokens')
  @HttpCode(HttpStatus.CREATED)
  @CreateRateLimit()
  @ApiOperation({
    summary: 'Create a one-time enrolment token and the install command for each platform',
    description:
      'The token registers one local worker (POST /api/local/workers with `Authorization: Bearer <token>`), once, ' +
      'before it expires, and reads the install manifest until then; nothing else. The commands name this ' +
      "server by PUBLIC_URL, else by the request's protocol and host (X-Forwarded-* only from TRUST_PROXY).",
  })
  @ApiCreatedResponse({
    type: InstallTokenDto,
    description: 'Issued; the token is shown only in this answer',
  })
  @ApiErrorResponses({
    400: { summary: 'Lifetime out of range', message: 'ttlSeconds must not be greater than 86400' },
  })
  async create(@Body() body: CreateInstallTokenDto, @Req() request: Request): Promise<InstallTokenDto> {
    return this.tokens.issue(
      publicBaseUrl(this.config.install.publicUrl, request),
      body.ttlSeconds,
      body.name,
    );
  }

  @Get('install-manifest')
  @ReadAccess()
  @EnrolmentTokenAccess()
  @ApiOperation({
    summary: 'The models and custom nodes the installer puts on a studio machine',
    description:
      'From INSTALL_MANIFEST_FILE (validated at startup); without it, no models or nodes and the pinned ' +
      'comfy-cli version. Also readable with an unused, unexpired enrolment token (the installer, before it ' +
      'registers).',
  })
  @ApiOkResponse({ type: InstallManifestDto })
  @ApiErrorResponses({
    401: { summary: 'Enrolment token used, expired or unknown', message: ENROLMENT_TOKEN_REFUSED },
  })
  manifest(): InstallManifest {
    return this.config.install.manifest;
  }
}
