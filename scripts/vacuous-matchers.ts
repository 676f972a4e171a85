import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Regular-expression literals inside `toMatchObject(...)`: Jest's subset match walks the expected object's own
 * keys, and a RegExp has none, so `toMatchObject({ why: /late/ })` passes whatever `why` holds. Such a check
 * must be `expect.stringMatching(/late/)`. Five such checks once stood in the plan and deadline tests.
 */
export function regexInToMatchObject(source: string): number[] {
  const lines: number[] = [];
  for (const call of source.matchAll(/toMatchObject\(/g)) {
    const start = call.index + call[0].length;
    let depth = 1;
    let end = start;
    while (depth > 0 && end < source.length) {
      const ch = source[end++];
      if (ch === '(') depth++;
      else if (ch === ')') depth--;
    }
    const block = source
      .slice(start, end - 1)
      // What stringMatching / toMatch / new RegExp are given is matched properly; comments are no code.
      .replace(/stringMatching\(\s*\/(?:[^/\\\n]|\\.)+\/[gimsuy]*\s*,?\s*\)/g, (m) => ' '.repeat(m.length))
      .replace(/\/\/[^\n]*/g, (m) => ' '.repeat(m.length));
    for (const literal of block.matchAll(
      /[:[,(]\s*(\/(?:[^/\\\n*]|\\.)(?:[^/\\\n]|\\.)*\/[gimsuy]*)\s*[,}\])\n]/g,
    )) {
      const at = start + literal.index + literal[0].indexOf(literal[1]);
      lines.push(source.slice(0, at).split('\n').length);
    }
  }
  return lines;
}

/** Every `*.spec.ts` and `*.e2e-spec.ts` under the given directories, with the lines where `regexInToMatchObject` finds one. */
export function vacuousMatchers(root: string, dirs: readonly string[]): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('spec.ts'))
        for (const line of regexInToMatchObject(readFileSync(path, 'utf8')))
          found.push(`${relative(root, path)}:${line}`);
    }
  };
  for (const dir of dirs) walk(join(root, dir));
  return found;
}
