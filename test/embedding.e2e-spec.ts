import {
  Body,
  Controller,
  Get,
  Injectable,
  type INestApplication,
  type INestApplicationContext,
  Module,
  Post,
} from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { NestFactory } from '@nestjs/core';
import { EventEmitterModule, OnEvent } from '@nestjs/event-emitter';
import { Interval, ScheduleModule, SchedulerRegistry } from '@nestjs/schedule';
import { getDataSourceToken, InjectRepository, TypeOrmModule } from '@nestjs/typeorm';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Column, DataSource, Entity, PrimaryColumn, Repository } from 'typeorm';
// Everything a host uses comes from the package's public entry, as `import ... from 'comfyui-cloud-workers'`.
import {
  CLOUD_WORKERS_DATA_SOURCE,
  CloudWorkersModule,
  type JobCompletedEvent,
  JobEvents,
  loadConfig,
  SystemClock,
  WorkerRouter,
} from '../src/index';
// Only to look at the core's timers from outside; a host has no need of it.
import { TimersModule } from '../src/common/timers.module';
import { FakeComfyUI } from './sim/comfyui/fake-comfyui';
import { CapturedLogger } from './support/captured-logger';
import { TestDatabase } from './support/test-database';
import { pngWorkflow } from './support/workflows';

/** A host feature that renders through the fleet, as the README shows. */
@Injectable()
class TeaserService {
  constructor(private readonly router: WorkerRouter) {}

  render(prefix: string) {
    return this.router.processJobSmart({ workflow: pngWorkflow(prefix), metadata: { from: 'host' } });
  }
}

/** The host hears our events with its own EventEmitterModule; each event must reach it exactly once. */
@Injectable()
class CompletedJobsListener {
  readonly completed: JobCompletedEvent[] = [];

  @OnEvent(JobEvents.Completed)
  onCompleted(event: JobCompletedEvent): void {
    this.completed.push(event);
  }
}

/** The host's own scheduled work, which our core must not register a second time. */
@Injectable()
class HostHeartbeat {
  constructor(readonly scheduler: SchedulerRegistry) {}

  @Interval('host-heartbeat', 60000)
  beat(): void {}
}

class EchoBody {
  text?: string;
}

/** The host's own routes: no API key, no whitelist validation (our service's guard and pipe are not here). */
@Controller('host')
class HostController {
  @Get('ping')
  ping() {
    return { pong: true };
  }

  @Post('echo')
  echo(@Body() body: EchoBody) {
    return body;
  }
}

describe('embedding CloudWorkersModule in another Nest app', () => {
  let comfy: FakeComfyUI;
  let db: TestDatabase;
  let logger: CapturedLogger;
  let app: INestApplication | INestApplicationContext | undefined;

  /** The core's env: a fake local ComfyUI, no RunPod key, an API key (which a host must not inherit as a guard). */
  function coreEnv(): Record<string, string> {
    return {
      ...db.env(),
      LOCAL_COMFYUI_URLS: comfy.url,
      LOCAL_HEALTH_INTERVAL: '200',
      JOBS_DISPATCH_INTERVAL: '200',
      API_KEY: 'core-admin-key-0123456789abcdef',
    };
  }

  beforeEach(async () => {
    comfy = new FakeComfyUI();
    await comfy.listen();
    db = new TestDatabase();
    logger = new CapturedLogger();
  });

  afterEach(async () => {
    await app?.close();
    app = undefined;
    await comfy.close();
    await db.drop();
  });

  it('forRoot: a host HTTP app injects WorkerRouter, runs processJobSmart to completion, and gets none of our routes, guard or pipe', async () => {
    @Module({
      imports: [
        EventEmitterModule.forRoot(),
        ScheduleModule.forRoot(),
        CloudWorkersModule.forRoot({ env: coreEnv(), clock: new SystemClock() }),
      ],
      controllers: [HostController],
      providers: [TeaserService, CompletedJobsListener, HostHeartbeat],
    })
    class HostModule {}

    const host = await NestFactory.create(HostModule, { logger, abortOnError: false });
    app = host;
    await host.listen(0, '127.0.0.1');
    const url = `http://127.0.0.1:${(host.getHttpServer().address() as { port: number }).port}`;

    const job = await host.get(TeaserService).render('embedded');
    expect(job).toMatchObject({ status: 'completed', backend: 'local', metadata: { from: 'host' } });
    expect(job.outputs.map((output) => output.filename)).toEqual(['embedded_00001_.png']);
    const stored = readFileSync(join(db.dataDir, 'outputs', job.id, 'embedded_00001_.png'));
    expect(stored.equals(comfy.readFile('embedded_00001_.png')!)).toBe(true);

    // One @OnEvent handler, two emitters (the host's and the core's): it ran once for this job.
    const listener = host.get(CompletedJobsListener);
    expect(listener.completed.filter((event) => event.jobId === job.id)).toEqual([
      expect.objectContaining({ jobId: job.id, backend: 'local' }),
    ]);

    // The host's scheduler holds only the host's timers; the core's live in its own registry.
    expect(host.get(HostHeartbeat).scheduler.getIntervals()).toEqual(['host-heartbeat']);
    const coreTimers = host.select(TimersModule).get(SchedulerRegistry);
    expect(coreTimers.getIntervals()).toEqual(
      expect.arrayContaining(['job-dispatcher', 'local-workers-health']),
    );

    for (const path of ['/api/cloud/status', '/api/jobs', '/api/stats', '/api/local/workers', '/health']) {
      expect({ path, status: (await fetch(`${url}${path}`)).status }).toEqual({ path, status: 404 });
    }
    const spawn = await fetch(`${url}/api/cloud/spawn`, { method: 'POST' });
    expect(spawn.status).toBe(404);
    expect(await (await fetch(`${url}/host/ping`)).json()).toEqual({ pong: true });
    const echo = await fetch(`${url}/host/echo`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ text: 'hi', extra: 1 }),
    });
    expect({ status: echo.status, body: await echo.json() }).toEqual({
      status: 201,
      body: { text: 'hi', extra: 1 },
    });

    // app.close() stops the core's background work with the host.
    await host.close();
    app = undefined;
    expect(coreTimers.getIntervals()).toEqual([]);
  });

  it("forRootAsync: the core's settings come from the host's ConfigService (no HTTP at all)", async () => {
    const settings = { comfyUrl: comfy.url, dataDir: db.dataDir };

    @Module({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => settings] }),
        CloudWorkersModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({
            config: loadConfig({
              ...coreEnv(),
              LOCAL_COMFYUI_URLS: config.getOrThrow<string>('comfyUrl'),
              DATA_DIR: config.getOrThrow<string>('dataDir'),
            }),
          }),
        }),
      ],
      providers: [TeaserService],
    })
    class WorkerHostModule {}

    const context = await NestFactory.createApplicationContext(WorkerHostModule, {
      logger,
      abortOnError: false,
    });
    app = context;
    const job = await context.get(TeaserService).render('async');
    expect(job).toMatchObject({ status: 'completed', backend: 'local' });
    expect(job.outputs.map((output) => output.filename)).toEqual(['async_00001_.png']);
    expect(
      readFileSync(join(db.dataDir, 'outputs', job.id, 'async_00001_.png')).equals(
        comfy.readFile('async_00001_.png')!,
      ),
    ).toBe(true);
  });

  it('forRoot(): with no options it reads the same variables as the service from process.env', async () => {
    const saved = { ...process.env };
    Object.assign(process.env, coreEnv());
    try {
      @Module({ imports: [CloudWorkersModule.forRoot()], providers: [TeaserService] })
      class EnvHostModule {}
      const context = await NestFactory.createApplicationContext(EnvHostModule, {
        logger,
        abortOnError: false,
      });
      app = context;
      const job = await context.get(TeaserService).render('fromenv');
      expect(job).toMatchObject({ status: 'completed', backend: 'local' });
      expect(readFileSync(join(db.dataDir, 'outputs', job.id, 'fromenv_00001_.png')).length).toBeGreaterThan(
        0,
      );
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it('a host with its own default TypeORM data source keeps it: the core uses a named one of its own', async () => {
    @Entity('host_notes')
    class HostNote {
      @PrimaryColumn()
      id!: string;

      @Column()
      text!: string;
    }

    @Injectable()
    class HostNotes {
      constructor(@InjectRepository(HostNote) readonly notes: Repository<HostNote>) {}
    }

    @Module({
      imports: [
        TypeOrmModule.forRoot({
          type: 'better-sqlite3',
          database: ':memory:',
          entities: [HostNote],
          synchronize: true,
        }),
        TypeOrmModule.forFeature([HostNote]),
        CloudWorkersModule.forRoot({ env: coreEnv() }),
      ],
      providers: [TeaserService, HostNotes],
    })
    class DatabaseHostModule {}

    const context = await NestFactory.createApplicationContext(DatabaseHostModule, {
      logger,
      abortOnError: false,
    });
    app = context;
    // The host's default data source is its own (its table only), the core's is found under its name.
    const hostDataSource = context.get(DataSource);
    expect(hostDataSource.hasMetadata(HostNote)).toBe(true);
    expect(hostDataSource.entityMetadatas.map((metadata) => metadata.tableName)).toEqual(['host_notes']);
    expect(context.get<DataSource>(getDataSourceToken(CLOUD_WORKERS_DATA_SOURCE)).isInitialized).toBe(true);
    await context.get(HostNotes).notes.save({ id: 'n1', text: 'render a teaser' });
    const job = await context.get(TeaserService).render('twodb');
    expect(job).toMatchObject({ status: 'completed', backend: 'local' });
    expect(await context.get(HostNotes).notes.findOneBy({ id: 'n1' })).toMatchObject({
      text: 'render a teaser',
    });
  });

  it('a bad variable stops the host at boot with the message that names it', async () => {
    @Module({ imports: [CloudWorkersModule.forRoot({ env: { ...coreEnv(), CLOUD_MAX_PODS: 'many' } })] })
    class BrokenHostModule {}
    await expect(
      NestFactory.createApplicationContext(BrokenHostModule, { logger, abortOnError: false }),
    ).rejects.toThrow(/CLOUD_MAX_PODS/);
  });
});
