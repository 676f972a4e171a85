import { CloudQueue, queuedJobRunS } from './cloud-queue';

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

  it("counts a queued job at its kind's measured mean, its kind's published default before any, else the typical job", () => {
    const measured = { image: 9, job: 50 };
    expect(queuedJobRunS('image', measured, 60)).toBe(9);
    // No video has run: the published 240 s, not the 60 s typical job (nor an image's 6 s).
    expect(queuedJobRunS('video', measured, 60)).toBe(240);
    expect(queuedJobRunS('image', undefined, 60)).toBe(6);
    expect(queuedJobRunS('image', { image: 0 }, 60)).toBe(6);
    // A job of unknown kind: its class's measured mean, else the typical job.
    expect(queuedJobRunS('job', measured, 60)).toBe(50);
    expect(queuedJobRunS('job', {}, 60)).toBe(60);
    expect(queuedJobRunS(null, measured, 60)).toBe(60);
  });
});
