import { Module } from '@nestjs/common';
import { FleetEventHub } from './fleet-events.service';

/**
 * The fleet event hub of the core: a host that embeds CloudWorkersModule can inject FleetEventHub to follow
 * the fleet (the HTTP service streams it at GET /api/events).
 */
@Module({
  providers: [FleetEventHub],
  exports: [FleetEventHub],
})
export class FleetEventsModule {}
