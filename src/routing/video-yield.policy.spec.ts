import { imagesBehindEach, videoLeavesSlotToImages, type SlotYieldInput } from './video-yield.policy';

const video = (overrides: Partial<SlotYieldInput> = {}): SlotYieldInput => ({
  kind: 'video',
  waitedS: 60,
  runS: 240,
  freeSlots: 1,
  imagesBehind: 1,
  ...overrides,
});

describe('videoLeavesSlotToImages', () => {
  it('leaves the last free serverless worker to an image queued behind the video', () => {
    expect(videoLeavesSlotToImages(video())).toBe(true);
  });

  it('takes a worker when enough stay free for the images behind it', () => {
    expect(videoLeavesSlotToImages(video({ freeSlots: 2, imagesBehind: 1 }))).toBe(false);
    expect(videoLeavesSlotToImages(video({ freeSlots: 3, imagesBehind: 3 }))).toBe(true);
    expect(videoLeavesSlotToImages(video({ imagesBehind: 0 }))).toBe(false);
    // No limit on serverless workers: nothing to leave.
    expect(videoLeavesSlotToImages(video({ freeSlots: Infinity, imagesBehind: 100 }))).toBe(false);
  });

  it('stops yielding once the video has waited as long as its run (no starvation)', () => {
    expect(videoLeavesSlotToImages(video({ waitedS: 239 }))).toBe(true);
    expect(videoLeavesSlotToImages(video({ waitedS: 240 }))).toBe(false);
  });

  it('never makes an image, or a job of unknown kind, yield', () => {
    expect(videoLeavesSlotToImages(video({ kind: 'image' }))).toBe(false);
    expect(videoLeavesSlotToImages(video({ kind: null }))).toBe(false);
  });
});

describe('imagesBehindEach', () => {
  it('counts, for each position, the matching jobs after it', () => {
    const queue = ['video', 'image', 'video', 'image', 'image'];
    expect(imagesBehindEach(queue, (kind) => kind === 'image')).toEqual([3, 2, 2, 1, 0]);
    expect(imagesBehindEach([], () => true)).toEqual([]);
  });
});
