import { FakeClock, MINUTE } from '../../common/clock';
import { podsPastBootDeadline } from './boot.policy';

describe('podsPastBootDeadline', () => {
  const BOOT_TIMEOUT = 10 * MINUTE;

  it('returns booting pods once CLOUD_BOOT_TIMEOUT has passed since they were requested', () => {
    const clock = new FakeClock();
    const pods = [
      { name: 'slow', state: 'starting' as const, requestedAt: clock.now() },
      { name: 'stuck-create', state: 'requested' as const, requestedAt: clock.now() },
    ];
    clock.advance(BOOT_TIMEOUT - 1);
    expect(podsPastBootDeadline(pods, clock.now(), BOOT_TIMEOUT)).toEqual([]);
    clock.advance(1);
    expect(podsPastBootDeadline(pods, clock.now(), BOOT_TIMEOUT)).toEqual(['slow', 'stuck-create']);
  });

  it('never returns pods that are ready, busy or ended', () => {
    const clock = new FakeClock();
    const pods = (['ready', 'busy', 'terminated', 'failed', 'terminating'] as const).map((state) => ({
      name: state,
      state,
      requestedAt: clock.now(),
    }));
    clock.advance(10 * BOOT_TIMEOUT);
    expect(podsPastBootDeadline(pods, clock.now(), BOOT_TIMEOUT)).toEqual([]);
  });
});
