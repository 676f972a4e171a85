import { applyDecorators, type Type } from '@nestjs/common';
import { ApiExtension, ApiExtraModels, ApiOkResponse, getSchemaPath } from '@nestjs/swagger';

export interface ServerSentEventDoc {
  /** The schema of the event's `data:` line (JSON). */
  data: Type<unknown>;
  description: string;
}

/**
 * Documents a `text/event-stream` route. OpenAPI 3.0 cannot describe the events inside a stream, so: the event
 * names and the schema of each one's JSON `data` go in `x-server-sent-events` (schemas in components), the wire
 * format in the response description and an example transcript.
 */
export function ApiServerSentEvents(options: {
  description: string;
  events: Record<string, ServerSentEventDoc>;
  example: string;
}): MethodDecorator {
  const eventList = Object.entries(options.events)
    .map(([name, event]) => `- \`event: ${name}\`: ${event.description}`)
    .join('\n');
  return applyDecorators(
    ApiExtraModels(...Object.values(options.events).map((event) => event.data)),
    ApiExtension(
      'x-server-sent-events',
      Object.fromEntries(
        Object.entries(options.events).map(([name, event]) => [
          name,
          { description: event.description, data: { $ref: getSchemaPath(event.data) } },
        ]),
      ),
    ),
    ApiOkResponse({
      description: `${options.description}\n\nEach message is \`event: <name>\`, \`id: <n>\` and one \`data:\` line of JSON:\n${eventList}`,
      content: { 'text/event-stream': { schema: { type: 'string' }, example: options.example } },
    }),
  );
}
