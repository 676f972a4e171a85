import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type DynamicModule, Injectable, Module, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ServeStaticModule } from '@nestjs/serve-static';
import type { Request, Response } from 'express';

/**
 * The only paths that get the app's index.html when no file matches: its own pages (`/`, `/jobs`, `/jobs/<id>`,
 * `/cost`, `/controls`), spelled plainly. An allowlist, not a list of what to leave alone: any other spelling
 * (`/api/...`, `//api/jobs`, `/%61pi/jobs`, `/health/x`, `/metrics`, `/api/docs`...) falls through to Nest and
 * gets the API's own answer (its JSON 404), so the app can never stand in for an API route however it is written.
 */
export const DASHBOARD_PAGE_PATHS = /^\/(?:(?:jobs|cost|controls)(?:\/[A-Za-z0-9._~-]+)?\/?)?$/;

/** serve-static's `exclude` (a RegExp is searched in the raw path): everything that is not one of the pages. */
const NOT_A_DASHBOARD_PAGE = new RegExp(`^(?!${DASHBOARD_PAGE_PATHS.source.slice(1, -1)}$)`);

/**
 * Where the built web app is: `web/dist` at the project root. This file sits two levels below the root both as
 * source (src/http/) and compiled (dist/http/); under Jest's native ESM there is no __dirname, and tests run from
 * the root.
 */
export function dashboardDistDir(): string {
  return typeof __dirname === 'string' ? resolve(__dirname, '..', '..', 'web', 'dist') : resolve(process.cwd(), 'web', 'dist');
}

/** Hashed bundles never change under their name; index.html must be revalidated so a deploy shows at once. */
function cacheHeaders(response: Response, path: string): void {
  const immutable = /[/\\]assets[/\\]/.test(path);
  response.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
}

const MISSING_PAGE = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dashboard not built</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 40rem; margin: 3rem auto; padding: 0 1rem">
<h1>The dashboard is not built</h1>
<p>This service serves its web dashboard from <code>web/dist</code>, which does not exist yet. Build it with</p>
<pre>npm run build:web</pre>
<p>(<code>npm run build</code> builds the service and the dashboard), then reload this page.
The API works without it: see <a href="/api/docs">/api/docs</a>.</p>
</body></html>`;

/** Without a build, `/` says how to make one instead of answering the API's JSON 404. */
@Injectable()
export class DashboardMissingPage implements OnModuleInit {
  constructor(private readonly adapterHost: HttpAdapterHost) {}

  onModuleInit(): void {
    const app = this.adapterHost.httpAdapter?.getInstance<{
      get: (path: string[], handler: (req: Request, res: Response) => void) => void;
    }>();
    app?.get(['/', '/index.html'], (_request, response) => {
      response.status(200).type('html').setHeader('Cache-Control', 'no-cache').send(MISSING_PAGE);
    });
  }
}

/**
 * The operator's dashboard (web/), served at `/` by the HTTP service only: the embeddable core
 * (CloudWorkersModule) serves no pages. Public, like any static site: the files carry no data, and every API
 * call the app makes carries the key the user typed. The app's own pages get index.html (it routes /jobs,
 * /cost... itself); every other path that is not a file goes on to Nest. Registered after Nest's routes (module
 * init runs after the router is set up), so no file can shadow an API route.
 */
@Module({})
export class DashboardModule {
  static forRoot(rootPath: string = dashboardDistDir()): DynamicModule {
    if (!existsSync(join(rootPath, 'index.html'))) {
      return { module: DashboardModule, providers: [DashboardMissingPage] };
    }
    return {
      module: DashboardModule,
      imports: [
        ServeStaticModule.forRoot({
          rootPath,
          exclude: NOT_A_DASHBOARD_PAGE,
          serveStaticOptions: { index: 'index.html', fallthrough: true, setHeaders: cacheHeaders, dotfiles: 'ignore' },
        }),
      ],
    };
  }
}
