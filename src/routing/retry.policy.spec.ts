import { afterFailedAttempt, replanScope, retryExclusions } from './retry.policy';

describe('afterFailedAttempt', () => {
  it('ends a cancelled job as cancelled, whatever its attempts', () => {
    expect(afterFailedAttempt({ kind: 'cancelled', message: 'aborted' }, 1, 3)).toEqual({
      action: 'cancel',
      error: { message: 'Cancelled by request', kind: 'cancelled' },
    });
  });

  it('fails a workflow failure at once, with its message and details', () => {
    expect(
      afterFailedAttempt({ kind: 'workflow', message: 'bad node', details: { node: '3' } }, 1, 3),
    ).toEqual({
      action: 'fail',
      error: { message: 'bad node', kind: 'workflow', details: { node: '3' } },
    });
  });

  it('retries an infrastructure failure while attempts remain', () => {
    expect(afterFailedAttempt({ kind: 'infrastructure', message: 'pod gone' }, 2, 3)).toEqual({
      action: 'retry',
    });
  });

  it('fails an infrastructure failure on the last attempt, naming the attempts and the last cause', () => {
    expect(afterFailedAttempt({ kind: 'infrastructure', message: 'pod gone' }, 3, 3)).toEqual({
      action: 'fail',
      error: {
        message: 'Failed after 3 attempt(s); last: pod gone',
        kind: 'infrastructure',
        details: undefined,
      },
    });
  });
});

describe('retryExclusions', () => {
  it('adds the worker that failed to those the job may not run on again, once', () => {
    expect(retryExclusions(['local-a'], false, { backend: 'local', workerId: 'local-b' })).toEqual({
      failedWorkers: ['local-a', 'local-b'],
      podOnly: false,
    });
    expect(
      retryExclusions(['local-a'], false, { backend: 'local', workerId: 'local-a' }).failedWorkers,
    ).toEqual(['local-a']);
  });

  it('sends a job that failed on serverless to pods only', () => {
    expect(retryExclusions([], false, { backend: 'serverless', workerId: 'endpoint' }).podOnly).toBe(true);
  });

  it('keeps a pod-only job pod-only', () => {
    expect(retryExclusions([], true, { backend: 'pod', workerId: 'pod-1' }).podOnly).toBe(true);
  });
});

describe('replanScope', () => {
  it('re-plans a job serverless failed over its local workers (an auto job) and pods, with serverless as a last resort', () => {
    expect(replanScope({ requestedBackend: 'auto', podOnly: true })).toEqual({
      backend: 'auto',
      afterServerlessFailure: true,
    });
    expect(replanScope({ requestedBackend: 'cloud', podOnly: true })).toEqual({
      backend: 'cloud',
      afterServerlessFailure: true,
    });
    expect(replanScope({ requestedBackend: 'serverless', podOnly: true })).toEqual({
      backend: 'cloud',
      afterServerlessFailure: true,
    });
  });

  it('keeps a backend: pod job on pods, and other jobs on their own backend', () => {
    expect(replanScope({ requestedBackend: 'pod', podOnly: true })).toEqual({
      backend: 'pod',
      afterServerlessFailure: false,
    });
    expect(replanScope({ requestedBackend: 'auto', podOnly: false })).toEqual({
      backend: 'auto',
      afterServerlessFailure: false,
    });
    expect(replanScope({ requestedBackend: 'serverless', podOnly: false })).toEqual({
      backend: 'serverless',
      afterServerlessFailure: false,
    });
  });
});
