import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { loadConfig } from './app-config';
import { loadEnvFile } from './env-file';

// Tests run from the repository root (npm test).
const ROOT = process.cwd();
const SRC = join(ROOT, 'src');
const EXAMPLE = join(ROOT, '.env.example');

/** Shipped source only: specs and test kits (`testing/`) read no configuration of the service. */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'testing' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts') ? [path] : [];
  });
}

/**
 * Every way the code names a variable it reads: the env parsers (`readInt(env, 'X', ...)`, any `read...(env,
 * 'X'`), and direct `process.env.X` / `process.env['X']` / `env.X`.
 */
const READ_PATTERNS = [
  /\bread\w*\(\s*env\s*,\s*['"`]([A-Z][A-Z0-9_]*)['"`]/g,
  /\b(?:process\.)?env\.([A-Z][A-Z0-9_]*)\b/g,
  /\b(?:process\.)?env\[\s*['"`]([A-Z][A-Z0-9_]*)['"`]\s*\]/g,
];

function variablesReadByCode(): Map<string, string[]> {
  const found = new Map<string, string[]>();
  for (const file of sourceFiles(SRC)) {
    const text = readFileSync(file, 'utf8');
    for (const pattern of READ_PATTERNS) {
      for (const match of text.matchAll(pattern)) {
        found.set(match[1], [...(found.get(match[1]) ?? []), relative(ROOT, file)]);
      }
    }
  }
  return found;
}

/** `NAME=value` and commented-out defaults `# NAME=value` both count as listed. */
function variablesListedInExample(): Set<string> {
  const names = readFileSync(EXAMPLE, 'utf8')
    .split('\n')
    .map((line) => /^#?\s*([A-Z][A-Z0-9_]*)=/.exec(line)?.[1])
    .filter((name): name is string => name !== undefined);
  return new Set(names);
}

describe('.env.example', () => {
  const read = variablesReadByCode();
  const listed = variablesListedInExample();

  it('the scan finds the variables the code reads (it is not looking at nothing)', () => {
    expect(read.size).toBeGreaterThan(40);
    expect(read.get('PORT')).toEqual(['src/config/app-config.ts']);
    expect(read.has('NODE_ENV')).toBe(true); // process.env.NODE_ENV in main.ts
  });

  it('lists every variable the code reads', () => {
    const missing = [...read.keys()].filter((name) => !listed.has(name));
    const where = missing.map((name) => `${name} (read in ${[...new Set(read.get(name))].join(', ')})`);
    expect(where).toEqual([]);
  });

  it('lists no variable that nothing reads', () => {
    expect([...listed].filter((name) => !read.has(name))).toEqual([]);
  });

  it('is a valid configuration as it stands (copied to .env unchanged, the service boots)', () => {
    const env: Record<string, string | undefined> = {};
    loadEnvFile(env, EXAMPLE);
    expect(() => loadConfig(env)).not.toThrow();
  });
});
