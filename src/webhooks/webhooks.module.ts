import { Module } from '@nestjs/common';
import { TimersModule } from '../common/timers.module';
import { WebhookDeliveries } from './webhook-deliveries.service';
import { WebhookEventsListener } from './webhook-events.listener';
import { WebhookUrlRules } from './webhook-url-rules';

/**
 * Signed webhooks (WEBHOOK_URLS, per-job webhookUrl), part of the core: a host embedding it gets the same
 * notifications. Exports `WebhookUrlRules` for the job submission check.
 */
@Module({
  imports: [TimersModule],
  providers: [WebhookUrlRules, WebhookDeliveries, WebhookEventsListener],
  exports: [WebhookUrlRules, WebhookDeliveries],
})
export class WebhooksModule {}
