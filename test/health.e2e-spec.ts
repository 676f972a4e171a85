import { getDataSourceToken } from '@nestjs/typeorm';
import { type DataSource } from 'typeorm';
import { CLOUD_WORKERS_DATA_SOURCE } from '../src/persistence/data-source-name';
import { ShutdownState } from '../src/common/shutdown-state';
import { CloudHarness } from './support/cloud-harness';

describe('health probes: /health, /health/live, /health/ready', () => {
  let h: CloudHarness;

  beforeEach(async () => {
    h = await CloudHarness.start();
  });

  afterEach(async () => {
    await h.close();
  });

  it('answers 200 on all three while the database answers and the instance is not draining', async () => {
    const summary = await h.get('/health');
    expect(summary.status).toBe(200);
    expect(summary.body).toEqual({ status: 'ok', database: 'ok', leader: true, draining: false });

    const ready = await h.get('/health/ready');
    expect(ready.status).toBe(200);
    expect(ready.body.status).toBe('ok');
    expect(ready.body.details.database.status).toBe('up');
    expect(ready.body.details.shutdown.status).toBe('up');

    const live = await h.get('/health/live');
    expect(live.status).toBe(200);
    expect(live.body.details.process.status).toBe('up');
  });

  it('answers 503 on /health and /health/ready once draining (SIGTERM), while /health/live stays 200', async () => {
    h.app!.get(ShutdownState).beginDraining();

    const summary = await h.get('/health');
    expect(summary.status).toBe(503);
    expect(summary.body).toMatchObject({ status: 'draining', database: 'ok', draining: true });

    const ready = await h.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.status).toBe('error');
    expect(ready.body.error.shutdown.message).toMatch(/draining/);
    expect(ready.body.details.database.status).toBe('up');

    expect((await h.get('/health/live')).status).toBe(200);
  });

  it('answers 503 on /health and /health/ready when the database is closed, while /health/live stays 200', async () => {
    // The real connection (SQLite file handle, or the PostgreSQL pool) goes away under the running service.
    await h.app!.get<DataSource>(getDataSourceToken(CLOUD_WORKERS_DATA_SOURCE)).destroy();

    const summary = await h.get('/health');
    expect(summary.status).toBe(503);
    expect(summary.body).toMatchObject({ status: 'degraded', database: 'unreachable', draining: false });

    const ready = await h.get('/health/ready');
    expect(ready.status).toBe(503);
    expect(ready.body.error.database.status).toBe('down');
    expect(ready.body.details.shutdown.status).toBe('up');

    expect((await h.get('/health/live')).status).toBe(200);
  });

  it('needs no key when API_KEY is set', async () => {
    await h.stopApp();
    await h.startApp({ API_KEY: 'health-test-admin-key' });
    for (const path of ['/health', '/health/live', '/health/ready']) {
      expect((await h.get(path)).status).toBe(200);
    }
    expect((await h.get('/api/stats')).status).toBe(401);
  });
});
