import { Inject, Injectable } from '@nestjs/common';
import { InvalidInputError } from '../common/domain-errors';
import { NetworkAllowlist } from '../common/net/network-allowlist';
import { OutboundAddressError, OutboundAddressPolicy } from '../common/net/outbound-address-policy';
import type { AppConfig } from '../config/app-config';
import { APP_CONFIG } from '../config/config.module';

/** Longest receiver URL accepted (the column is varchar(2048)). */
export const MAX_WEBHOOK_URL_LENGTH = 2048;

/**
 * The address rules of webhook receivers: the outbound address rules every URL we fetch goes through (metadata
 * and link-local never), narrowed by WEBHOOK_ALLOWED_NETWORKS when set. A job's `webhookUrl` is checked (and
 * resolved) when the job is submitted; every connection resolves and checks again (`policy.lookup`), so a name
 * that later resolves somewhere refused (DNS rebinding) is refused at send time.
 */
@Injectable()
export class WebhookUrlRules {
  readonly policy: OutboundAddressPolicy;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.policy = new OutboundAddressPolicy({
      allowlist: new NetworkAllowlist(config.webhooks.allowedNetworks),
      allowlistName: 'WEBHOOK_ALLOWED_NETWORKS',
    });
  }

  /**
   * A job's own receiver, at submit.
   * @throws InvalidInputError (400) naming what is wrong, without repeating credentials or a query string.
   */
  async checkJobWebhookUrl(url: string): Promise<void> {
    if (url.length > MAX_WEBHOOK_URL_LENGTH) {
      throw new InvalidInputError(`webhookUrl: at most ${MAX_WEBHOOK_URL_LENGTH} characters`);
    }
    try {
      await this.policy.checkUrlResolved(url);
    } catch (error) {
      if (error instanceof OutboundAddressError) throw new InvalidInputError(`webhookUrl ${error.message}`);
      throw error;
    }
    if (!this.config.webhooks.secret) {
      throw new InvalidInputError(
        'webhookUrl: this service sends no webhooks (WEBHOOK_SECRET is not set, and every delivery is signed)',
      );
    }
  }
}
