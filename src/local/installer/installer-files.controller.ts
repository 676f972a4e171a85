import { Controller, Get, Res } from '@nestjs/common';
import { ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import type { Response } from 'express';
import { ApiErrorResponses } from '../../http/openapi/api-error-responses.decorator';
import { Public } from '../../http/route-access.decorators';
import { type InstallerFile, InstallerFiles } from './installer-files';

const MISSING = {
  404: {
    summary: 'Not in this build',
    message: 'The installer file install.sh is missing from this build',
  },
};

function send(response: Response, file: InstallerFile): void {
  // no-cache: a machine installing after a deploy must get the new installer (the ETag makes it a cheap check).
  response
    .status(200)
    .set('Content-Type', file.contentType)
    .set('Cache-Control', 'no-cache')
    .set('ETag', file.etag)
    .send(file.body);
}

/**
 * The installer, served by the control plane itself so studio machines need no other host. Public on purpose:
 * a machine fetches these before it has any credential (the one-line command pipes install.sh into bash), and
 * they hold no secret: the enrolment token travels in the machine's environment, never in these files or their
 * URLs, and everything they do with the service needs that token.
 */
@ApiTags('install')
@Controller('install')
@Public()
export class InstallerFilesController {
  constructor(private readonly files: InstallerFiles) {}

  @Get('install.sh')
  @ApiOperation({ summary: 'Bootstrap script for Linux and macOS (public: it holds no secret)' })
  @ApiOkResponse({
    description: 'The script, to pipe into bash with CW_ENROLMENT_TOKEN set',
    content: { 'text/x-shellscript': { schema: { type: 'string' } } },
  })
  @ApiErrorResponses(MISSING)
  async shell(@Res() response: Response): Promise<void> {
    send(response, await this.files.script('install.sh'));
  }

  @Get('install.ps1')
  @ApiOperation({ summary: 'Bootstrap script for Windows PowerShell (public: it holds no secret)' })
  @ApiOkResponse({
    description: 'The script, for `irm ... | iex` with $env:CW_ENROLMENT_TOKEN set',
    content: { 'text/plain': { schema: { type: 'string' } } },
  })
  @ApiErrorResponses(MISSING)
  async powershell(@Res() response: Response): Promise<void> {
    send(response, await this.files.script('install.ps1'));
  }

  @Get('cw-installer.pyz')
  @ApiOperation({
    summary: 'The installer core as a Python zipapp (public: it holds no secret)',
    description:
      'Built from installer/cw_install at the first request. Run: python3 cw-installer.pyz install --server <URL>',
  })
  @ApiOkResponse({
    description: 'A zip with __main__.py at its root',
    content: { 'application/zip': { schema: { type: 'string', format: 'binary' } } },
  })
  @ApiErrorResponses(MISSING)
  async zipapp(@Res() response: Response): Promise<void> {
    send(response, await this.files.zipapp());
  }
}
