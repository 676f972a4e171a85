import { Injectable, Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import { Clock } from '../../common/clock';
import { EnrolmentTokenEntity } from '../../persistence/entities/enrolment-token.entity';
import { EnrolmentTokensRepository } from '../../persistence/enrolment-tokens.repository';
import { newEnrolmentToken, secretHash } from './enrolment-secrets';
import { type InstallCommands, installCommands } from './install-commands';
import { INSECURE_BASE_URL_WARNING, isInsecureBaseUrl } from './public-base-url';

export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

export interface IssuedToken {
  token: string;
  expiresAt: string;
  commands: InstallCommands;
  /** Present (true) only when the commands would send the token in clear text (http, not loopback). */
  insecure?: true;
  warning?: string;
}

/** Issues enrolment tokens. The token itself is returned once and never stored or logged; its hash is. */
@Injectable()
export class EnrolmentTokensService {
  private readonly logger = new Logger('Enrolment');

  constructor(
    private readonly tokens: EnrolmentTokensRepository,
    private readonly clock: Clock,
  ) {}

  async issue(server: string, ttlSeconds = DEFAULT_TOKEN_TTL_SECONDS, name?: string): Promise<IssuedToken> {
    const token = newEnrolmentToken();
    const now = this.clock.now();
    const row = Object.assign(new EnrolmentTokenEntity(), {
      id: `enrol-${randomBytes(8).toString('hex')}`,
      tokenHash: secretHash(token),
      name: name ?? null,
      createdAt: now,
      expiresAt: now + ttlSeconds * 1000,
      usedAt: null,
      workerId: null,
    });
    await this.tokens.insert(row);
    const expiresAt = new Date(row.expiresAt).toISOString();
    this.logger.log(`Enrolment token ${row.id}${name ? ` (${name})` : ''} issued; valid until ${expiresAt}`);
    const issued: IssuedToken = { token, expiresAt, commands: installCommands(server, token) };
    if (isInsecureBaseUrl(server))
      Object.assign(issued, { insecure: true, warning: INSECURE_BASE_URL_WARNING });
    return issued;
  }
}
