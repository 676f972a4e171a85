import { type INestApplication, Logger, type LoggerService, type LogLevel, ValidationPipe } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { DocumentBuilder, SwaggerModule } from '@nestjs/swagger';
import { AppModule, type AppModuleOptions } from './app.module';

/** Builds the configured Nest application (not yet listening). Shared by main.ts and the e2e tests. */
export async function createApp(
  options: AppModuleOptions & { logger?: false | LogLevel[] | LoggerService },
): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(options), {
    logger: options.logger ?? ['log', 'warn', 'error'],
    bodyParser: true,
  });
  app.useBodyParser('json', { limit: '25mb' });
  app.useGlobalPipes(new ValidationPipe({ whitelist: true, transform: true, forbidNonWhitelisted: true }));

  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('ComfyUI Cloud Workers')
      .setDescription(
        'Runs ComfyUI workflows on local ComfyUI servers first, then RunPod serverless and on-demand pods. ' +
          'Every cloud dollar is tracked. When API_KEY is set, send it as `Authorization: Bearer <key>` or `X-API-Key`.',
      )
      .setVersion('0.1.0')
      .addBearerAuth()
      .addApiKey({ type: 'apiKey', name: 'X-API-Key', in: 'header' }, 'api-key')
      .addSecurityRequirements('bearer')
      .addSecurityRequirements('api-key')
      .build(),
  );
  SwaggerModule.setup('api/docs', app, document, { jsonDocumentUrl: 'api/docs-json' });
  return app;
}

export async function listen(app: INestApplication, port: number, host: string): Promise<string> {
  await app.listen(port, host);
  const address = app.getHttpServer().address() as { port: number };
  const url = `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${address.port}`;
  new Logger('Bootstrap').log(`Listening on ${url} (Swagger UI: ${url}/api/docs)`);
  return url;
}
