import type { INestApplication } from '@nestjs/common';
import { DocumentBuilder, type OpenAPIObject, SwaggerModule } from '@nestjs/swagger';
import { addAccessResponses, addBodyParserResponses } from './document-responses';
import { operationHandlers } from './operation-handlers';
import { routeAccessOf } from '../route-access.decorators';

export const OPENAPI_UI_PATH = 'api/docs';
export const OPENAPI_JSON_PATH = 'api/docs-json';

/**
 * The OpenAPI document: what the controllers' decorators say, plus the responses every route shares because of
 * the global layers in front of it (body parser, API key guard, rate limits), derived from the same route
 * metadata those layers read.
 */
export function buildOpenApiDocument(
  app: INestApplication,
  options: { maxBodyBytes: number },
): OpenAPIObject {
  const document = SwaggerModule.createDocument(
    app,
    new DocumentBuilder()
      .setTitle('ComfyUI Cloud Workers')
      .setDescription(
        'Runs ComfyUI workflows on local ComfyUI servers first, then RunPod serverless and on-demand pods. ' +
          'Every cloud dollar is tracked. When API_KEY is set, send it as `Authorization: Bearer <key>` or ' +
          '`X-API-Key`. Every error answers in one shape: `{statusCode, error, message, details?}`.',
      )
      .setVersion('0.1.0')
      .addBearerAuth({ type: 'http', scheme: 'bearer', description: 'API_KEY (or API_READ_KEY for reads)' })
      .addApiKey({ type: 'apiKey', name: 'X-API-Key', in: 'header' }, 'api-key')
      .addSecurityRequirements('bearer')
      .addSecurityRequirements('api-key')
      .build(),
  );
  addBodyParserResponses(document, options.maxBodyBytes);
  const handlers = operationHandlers(app);
  addAccessResponses(document, (operation) => {
    const found = handlers.get(operation.operationId ?? '');
    if (!found) throw new Error(`OpenAPI operation ${operation.operationId} has no controller method`);
    return routeAccessOf(found.controller, found.handler);
  });
  return document;
}

/** Serves Swagger UI at /api/docs and the document at /api/docs-json. */
export function setupOpenApi(app: INestApplication, options: { maxBodyBytes: number }): void {
  SwaggerModule.setup(OPENAPI_UI_PATH, app, buildOpenApiDocument(app, options), {
    jsonDocumentUrl: OPENAPI_JSON_PATH,
  });
}
