import { createApp } from '../src/bootstrap';
import { loadConfig } from '../src/config/app-config';
import { TestDatabase } from './support/test-database';

const sqliteOnly = process.env.DATABASE_URL ? describe.skip : describe;

/** SQLite mode is one instance per DATA_DIR: a second one is refused with a clear message. */
sqliteOnly('SQLite single instance', () => {
  it('refuses a second instance on the same database file, and allows it once the first has stopped', async () => {
    const db = new TestDatabase();
    const config = loadConfig({ ...db.env(), PORT: '0' });
    const first = await createApp({ config, logger: false });
    await first.init();
    try {
      await expect(createApp({ config, logger: false }).then((app) => app.init())).rejects.toThrow(
        /Another instance is using .*cloud-workers\.sqlite\. SQLite mode runs one instance per DATA_DIR; for several instances set DATABASE_URL/,
      );
    } finally {
      await first.close();
    }
    const again = await createApp({ config, logger: false });
    await again.init();
    await again.close();
    await db.drop();
  });
});
