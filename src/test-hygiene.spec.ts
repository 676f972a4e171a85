import { regexInToMatchObject, vacuousMatchers } from '../scripts/vacuous-matchers';

describe('the test suites', () => {
  it('put no regular-expression literal inside toMatchObject, where it matches anything', () => {
    // This file's own examples below are the exception.
    const found = vacuousMatchers(process.cwd(), ['src', 'test']);
    expect(found.filter((at) => !at.startsWith('src/test-hygiene.spec.ts:'))).toEqual([]);
  });

  it('finds such a literal, and leaves stringMatching, toMatch and comments alone', () => {
    const source = [
      'expect(plan).toMatchObject({',
      "  kind: 'pick',",
      '  why: /^the cheapest/,',
      '});',
      'expect(p).toMatchObject({ why: expect.stringMatching(/late/) }); // why: /late/',
      'expect(p.why).toMatch(/late/);',
      'expect(list).toMatchObject([/a/]);',
    ].join('\n');
    expect(regexInToMatchObject(source)).toEqual([3, 7]);
  });

  it('is right about Jest: a RegExp inside toMatchObject matches any value', () => {
    expect({ why: 'on time' }).toMatchObject({ why: /late/ });
    expect(() => expect({ why: 'on time' }).toMatchObject({ why: expect.stringMatching(/late/) })).toThrow();
  });
});
