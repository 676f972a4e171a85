import { jest } from '@jest/globals';
import { FakeClock } from './clock';

describe('FakeClock', () => {
  afterEach(() => jest.restoreAllMocks());

  it('stands still by default and moves only with advance()', () => {
    const clock = new FakeClock(1000);
    clock.advance(500);
    expect(clock.now()).toBe(1500);
    expect(() => clock.advance(-1)).toThrow();
  });

  it('follows real time at rate 1, and k times faster with rate k (compressed time)', () => {
    let real = 50_000;
    jest.spyOn(Date, 'now').mockImplementation(() => real);
    const plain = new FakeClock(0, true);
    const fast = new FakeClock(0, true, 40);
    real += 250;
    expect(plain.now()).toBe(250);
    expect(fast.now()).toBe(10_000);
    fast.advance(1000);
    expect(fast.now()).toBe(11_000);
    expect(() => new FakeClock(0, true, 0)).toThrow();
  });
});
