import type { INestApplication } from '@nestjs/common';
import type { NestExpressApplication } from '@nestjs/platform-express';
import helmet from 'helmet';

/**
 * The Content-Security-Policy of every page and answer. It must let the Swagger UI (served by SwaggerModule
 * at /api/docs, outside Nest's router) work: its scripts and stylesheet come from this origin, it has inline
 * <style> blocks and style attributes, and data: images. No inline script, no eval, no plugins, no framing.
 * The dashboard (web/dist, served at /) fits the same policy: one module script and one stylesheet from this
 * origin, no inline script; it shows outputs from same-origin signed links, or from blob: URLs of files it
 * fetched with the key (hence blob: for images and media).
 * `upgrade-insecure-requests` (in helmet's default) is left out: the service is often reached over plain HTTP
 * on a LAN, where it would send the browser to https:// for the docs' own scripts and break the page.
 */
const CONTENT_SECURITY_POLICY = {
  useDefaults: false,
  directives: {
    defaultSrc: ["'self'"],
    baseUri: ["'self'"],
    scriptSrc: ["'self'"],
    scriptSrcAttr: ["'none'"],
    styleSrc: ["'self'", "'unsafe-inline'"],
    imgSrc: ["'self'", 'data:', 'blob:'],
    mediaSrc: ["'self'", 'blob:'],
    fontSrc: ["'self'", 'data:'],
    connectSrc: ["'self'"],
    objectSrc: ["'none'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
  },
};

/**
 * Standard security headers (helmet) on every response, and no `X-Powered-By` (Express 5 still sends it).
 * Call before anything else is mounted (body parsers, SwaggerModule.setup), so their answers carry the headers.
 */
export function applyHttpHardening(app: INestApplication): void {
  (app as NestExpressApplication).disable('x-powered-by');
  app.use(helmet({ contentSecurityPolicy: CONTENT_SECURITY_POLICY, frameguard: { action: 'deny' } }));
}
