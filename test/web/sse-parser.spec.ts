import { type SseMessage, SseParser } from '../../web/src/sse-parser';

/** The dashboard's SSE parser, fed the stream in every way a network can cut it. */
describe('dashboard SseParser', () => {
  function parse(chunks: string[]): { messages: SseMessage[]; parser: SseParser } {
    const messages: SseMessage[] = [];
    const parser = new SseParser((message) => messages.push(message));
    for (const chunk of chunks) parser.push(chunk);
    return { messages, parser };
  }

  const stream =
    'event: hello\ndata: {"instanceId":"a"}\n\n' +
    ': ping\n\n' +
    'id: 7\nevent: jobQueued\ndata: {"id":7}\n\n' +
    'id: 8\r\nevent: jobProgress\r\ndata: line one\r\ndata: line two\r\n\r\n' +
    'data: no id or type\n\n';

  const expected: SseMessage[] = [
    { id: null, event: 'hello', data: '{"instanceId":"a"}' },
    { id: '7', event: 'jobQueued', data: '{"id":7}' },
    { id: '8', event: 'jobProgress', data: 'line one\nline two' },
    // An event without an id keeps the last id seen, as the spec's "last event ID buffer" does.
    { id: '8', event: 'message', data: 'no id or type' },
  ];

  it('parses events, multi-line data, comments and CRLF line ends', () => {
    const { messages, parser } = parse([stream]);
    expect(messages).toEqual(expected);
    expect(parser.lastEventId).toBe('8');
  });

  it('gives the same events whatever the chunk boundaries, one character at a time included', () => {
    expect(parse([...stream]).messages).toEqual(expected);
    for (const cut of [1, 5, 17, 40, 63, stream.indexOf('\r\n') + 1]) {
      expect(parse([stream.slice(0, cut), stream.slice(cut)]).messages).toEqual(expected);
    }
  });

  it('holds an event back until its blank line arrives, and drops a field-less id with a NUL', () => {
    const { messages, parser } = parse(['id: 9\ndata: x\n']);
    expect(messages).toEqual([]);
    parser.push('\n');
    expect(messages).toEqual([{ id: '9', event: 'message', data: 'x' }]);
    parser.push('id: bad\0id\ndata: y\n\n');
    expect(messages[1]).toEqual({ id: '9', event: 'message', data: 'y' });
  });
});
