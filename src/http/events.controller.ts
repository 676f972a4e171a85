import { Controller, DefaultValuePipe, Get, Headers, Query, Req, Res } from '@nestjs/common';
import { ApiHeader, ApiOkResponse, ApiOperation, ApiQuery, ApiTags } from '@nestjs/swagger';
import type { Request, Response } from 'express';
import { queryInt } from '../common/query-params';
import {
  EventStreamHelloDto,
  EventStreamResetDto,
  FLEET_EVENT_DTOS,
  RecentFleetEventsDto,
} from '../events/dto/fleet-event.dto';
import { FleetEventHub, RECENT_EVENTS_MAX } from '../events/fleet-events.service';
import { ApiErrorResponses } from './openapi/api-error-responses.decorator';
import { ApiServerSentEvents, type ServerSentEventDoc } from './openapi/api-server-sent-events.decorator';
import { FleetEventStreams } from './fleet-event-streams';
import { ReadAccess } from './route-access.decorators';

const FLEET_EVENT_DOCS: Record<string, ServerSentEventDoc> = {
  hello: {
    data: EventStreamHelloDto,
    description: "first on every connection (no `id:` line, so it does not move the client's Last-Event-ID)",
  },
  reset: {
    data: EventStreamResetDto,
    description:
      'after hello, when the Last-Event-ID sent cannot be caught up (older than the buffer, another instance ' +
      'or run): re-read the snapshots; live events follow',
  },
  ...Object.fromEntries(
    Object.entries(FLEET_EVENT_DTOS).map(([type, dto]) => [
      type,
      { data: dto, description: `the \`${type}\` fleet event` },
    ]),
  ),
};

@ApiTags('events')
@Controller('api/events')
@ReadAccess()
export class EventsController {
  constructor(
    private readonly hub: FleetEventHub,
    private readonly streams: FleetEventStreams,
  ) {}

  @Get()
  @ApiOperation({
    summary: 'Server-Sent Events: the fleet live (jobs, pods, cost, budget, local workers)',
    description:
      "One stream for a whole dashboard. Browsers' EventSource cannot send the key: read it with fetch() and " +
      'parse the messages. Reconnect with the `Last-Event-ID` header to get exactly the events missed.',
  })
  @ApiHeader({
    name: 'Last-Event-ID',
    required: false,
    description:
      'the `id:` of the last event received: the events after it are replayed (or `reset` is sent)',
  })
  @ApiServerSentEvents({
    description:
      '`hello` first; with Last-Event-ID, the events missed since (or `reset`); then every fleet event as it ' +
      'happens, until the client or the server (on shutdown) closes the stream. Ids are monotonic per instance. ' +
      'A `: ping` comment line every EVENTS_HEARTBEAT_INTERVAL ms (15 s) keeps proxies from closing a quiet ' +
      'stream. Every `data:` is `{id, type, at, ...fields of that type}`.',
    events: FLEET_EVENT_DOCS,
    example: [
      'event: hello',
      'data: {"instanceId":"5d0c8f5e-2b1a-4c6e-9f3d-7a8b9c0d1e2f","lastEventId":1767268800000041}',
      '',
      'id: 1767268800000042',
      'event: jobQueued',
      'data: {"id":1767268800000042,"type":"jobQueued","at":"2026-12-01T12:00:00.000Z","jobId":"job-7f0c2e9a-1b4d-4c3e-9a51-0d2f6b7c8e90","priority":0,"backend":"auto"}',
      '',
      ': ping',
      '',
      'id: 1767268800000043',
      'event: podReady',
      'data: {"id":1767268800000043,"type":"podReady","at":"2026-12-01T12:02:22.000Z","podId":"x7k2m9p4q1w8e5","url":"https://x7k2m9p4q1w8e5-8188.proxy.runpod.net","bootMs":142000}',
      '',
      '',
    ].join('\n'),
  })
  @ApiErrorResponses({})
  stream(
    @Req() request: Request,
    @Res() response: Response,
    @Headers('last-event-id') lastEventId: string | undefined,
  ): void {
    this.streams.open(request, response, lastEventId);
  }

  @Get('recent')
  @ApiOperation({
    summary: 'The latest fleet events of this instance, newest first (job progress left out)',
  })
  @ApiQuery({
    name: 'limit',
    required: false,
    type: Number,
    description: `default 50, at most ${RECENT_EVENTS_MAX}`,
  })
  @ApiOkResponse({ type: RecentFleetEventsDto })
  @ApiErrorResponses({ 400: { summary: 'Not a whole number', message: 'limit must be a whole number' } })
  recent(@Query('limit', new DefaultValuePipe(50), queryInt('limit')) limit: number): RecentFleetEventsDto {
    return { events: this.hub.recent(limit).map((event) => event.data) };
  }
}
