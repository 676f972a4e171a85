import { Injectable } from '@nestjs/common';
import { InjectRepository } from '@nestjs/typeorm';
import { IsNull, MoreThan, Repository } from 'typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from './data-source-name';
import { EnrolmentTokenEntity } from './entities/enrolment-token.entity';

/** The only code that queries the enrolment_tokens table. Tokens are looked up by their hash only. */
@Injectable()
export class EnrolmentTokensRepository {
  constructor(
    @InjectRepository(EnrolmentTokenEntity, CLOUD_WORKERS_DATA_SOURCE)
    private readonly tokens: Repository<EnrolmentTokenEntity>,
  ) {}

  async insert(token: EnrolmentTokenEntity): Promise<void> {
    await this.tokens.insert(token);
  }

  /** The token with this hash if it is unused and not expired at `now`. */
  async findUsable(tokenHash: string, now: number): Promise<EnrolmentTokenEntity | null> {
    return this.tokens.findOneBy({ tokenHash, usedAt: IsNull(), expiresAt: MoreThan(now) });
  }

  /**
   * Marks the token used, in one conditional UPDATE: of two registrations racing with the same token exactly one
   * sees `true`, on SQLite and PostgreSQL alike, across instances.
   */
  async consume(tokenHash: string, now: number): Promise<boolean> {
    const result = await this.tokens.update(
      { tokenHash, usedAt: IsNull(), expiresAt: MoreThan(now) },
      { usedAt: now },
    );
    return (result.affected ?? 0) === 1;
  }

  /** The registration the token was consumed for failed (bad URL...): the installer may retry with it. */
  async release(tokenHash: string): Promise<void> {
    await this.tokens.update({ tokenHash }, { usedAt: null, workerId: null });
  }

  async recordWorker(tokenHash: string, workerId: string): Promise<void> {
    await this.tokens.update({ tokenHash }, { workerId });
  }
}
