import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadEnvFile } from './env-file';

describe('loadEnvFile (.env for npm start)', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'env-file-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('fills in unset variables from the file, and a variable of the real environment wins', () => {
    const path = join(dir, '.env');
    writeFileSync(path, '# comment\nPORT=9000\nAPI_KEY="from file"\nLOG_LEVEL=debug\nEMPTY=\n');
    const env: Record<string, string | undefined> = { PORT: '8123' };

    const taken = loadEnvFile(env, path);

    expect(env).toEqual({ PORT: '8123', API_KEY: 'from file', LOG_LEVEL: 'debug', EMPTY: '' });
    expect(taken?.sort()).toEqual(['API_KEY', 'EMPTY', 'LOG_LEVEL']);
  });

  it('changes nothing when there is no file', () => {
    const env = { PORT: '1' };
    expect(loadEnvFile(env, join(dir, 'missing.env'))).toBeUndefined();
    expect(env).toEqual({ PORT: '1' });
  });
});
