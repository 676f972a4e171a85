import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';

/**
 * Where one test's service keeps its data. Default: a fresh SQLite file in a temp DATA_DIR.
 * With DATABASE_URL set (the CI's PostgreSQL pass): a fresh schema on that database, dropped afterwards.
 * The same TestDatabase can back several app instances in turn, which is how restart tests work.
 */
export class TestDatabase {
  readonly dataDir = mkdtempSync(join(tmpdir(), 'cloud-workers-test-'));
  readonly databaseUrl = process.env.DATABASE_URL || undefined;
  readonly schema = this.databaseUrl
    ? `t_${process.pid}_${Math.random().toString(36).slice(2, 10)}`
    : undefined;

  env(): Record<string, string> {
    const env: Record<string, string> = { DATA_DIR: this.dataDir };
    if (this.databaseUrl && this.schema) {
      env.DATABASE_URL = this.databaseUrl;
      env.DATABASE_SCHEMA = this.schema;
    }
    return env;
  }

  async drop(): Promise<void> {
    rmSync(this.dataDir, { recursive: true, force: true });
    if (!this.databaseUrl || !this.schema) return;
    const client = new Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      await client.query(`DROP SCHEMA IF EXISTS "${this.schema}" CASCADE`);
    } finally {
      await client.end();
    }
  }
}
