import { CloudQueue } from './cloud-queue';

describe('CloudQueue', () => {
  const queue = new CloudQueue([
    { id: 'a', runS: 6 },
    { id: 'b', runS: 6 },
    { id: '', runS: 30 }, // counted, not named
    { id: 'c', runS: 240 },
  ]);

  it('puts a queued job behind the jobs ahead of it, at their mean run', () => {
    expect(queue.ahead('a')).toEqual({ podQueueAhead: 0 });
    expect(queue.ahead('b')).toEqual({ podQueueAhead: 1, podAheadJobS: 6 });
    expect(queue.ahead('c')).toEqual({ podQueueAhead: 3, podAheadJobS: 14 });
  });

  it('puts a job it does not list (a new one) behind the whole queue', () => {
    expect(queue.length).toBe(4);
    expect(queue.ahead(undefined)).toEqual({ podQueueAhead: 4, podAheadJobS: 70.5 });
    expect(queue.ahead('new')).toEqual({ podQueueAhead: 4, podAheadJobS: 70.5 });
    expect(queue.ahead('')).toEqual({ podQueueAhead: 4, podAheadJobS: 70.5 });
    expect(new CloudQueue([]).ahead('x')).toEqual({ podQueueAhead: 0 });
  });
});
