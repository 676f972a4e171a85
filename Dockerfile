# Production image: the compiled service and its production dependencies only (simulators and tests stay out).
# Base: Node 24, the Active LTS (Node 22 is in maintenance; Node 20 reached end of life in April 2026). The service
# also runs on Node 20.19+ and 22.12+ (package.json "engines"); see README "Node versions".
# Not built in CI (no Docker engine there); CI runs the same steps without Docker: `npm run smoke:prod`.
FROM node:24-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches this Node.
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
# The dashboard (web/) is built by the same `npm run build` (Vite) into web/dist, served by the service at /.
COPY web ./web
RUN npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
# JSON log lines (LOG_FORMAT=auto picks JSON when stdout is not a terminal, as under Docker).
ENV NODE_ENV=production PORT=8000 DATA_DIR=/data
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/web/dist ./web/dist
# The installer the service hands to studio machines (GET /install/*; the zipapp is built from cw_install at run
# time). Its tests stay out.
COPY installer/install.sh installer/install.ps1 ./installer/
COPY installer/cw_install ./installer/cw_install
COPY package.json ./
# The service runs as `node`: the mount point must exist and belong to it before VOLUME, because a new named volume
# is initialised from it (owner included). Otherwise /data is root's and the SQLite file cannot be created.
RUN mkdir -p /data && chown node:node /data
VOLUME ["/data"]
EXPOSE 8000
USER node
# Slim images have no curl: Node asks the readiness probe (database answers, not draining).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8000) + '/health/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/main.js"]
