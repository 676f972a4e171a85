import { Module } from '@nestjs/common';
import { SchedulerRegistry } from '@nestjs/schedule';

/**
 * Our own SchedulerRegistry, imported by every module whose services register intervals (dispatcher, control
 * loop, sweeper, health ticks, leader election). It is not global and we do not import ScheduleModule.forRoot():
 * we register timers by hand (no @Interval/@Cron), and a second ScheduleModule in a host app would scan the
 * host's own @Cron/@Interval methods again and run each of them twice. A direct import wins over a host's
 * global ScheduleModule, so our timers never land in the host's registry, nor the host's in ours.
 */
@Module({
  providers: [SchedulerRegistry],
  exports: [SchedulerRegistry],
})
export class TimersModule {}
