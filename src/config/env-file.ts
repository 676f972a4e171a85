import { existsSync, readFileSync } from 'node:fs';
import { parseEnv } from 'node:util';
import type { Env } from './env-parsers';

/**
 * `.env` for `npm start`: fills in the variables the environment does not set, from a dotenv-format file. A
 * variable set in the real environment always wins (as with @nestjs/config's `ConfigModule.forRoot()`), so
 * `PORT=9000 npm start` overrides the file. Node's own dotenv parser (20.12+), so no extra dependency.
 * Returns the names taken from the file (for a log line), or undefined when there is no file.
 */
export function loadEnvFile(env: Env, path = '.env'): string[] | undefined {
  if (!existsSync(path)) return undefined;
  const fromFile = parseEnv(readFileSync(path, 'utf8'));
  const taken: string[] = [];
  for (const [name, value] of Object.entries(fromFile)) {
    if (env[name] !== undefined) continue;
    env[name] = value;
    taken.push(name);
  }
  return taken;
}
