/* eslint-disable @typescript-eslint/no-explicit-any -- untyped JSON bodies from the wire */
import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FakeRunPod } from './fake-runpod';

/**
 * Test helpers for the FakeRunPod specs. `fixtures/runpod-rest-v2.openapi.json` is a verbatim copy of
 * reference/runpod-rest-v2.openapi.json (RunPod docs `api-reference-v2/openapi.json`).
 */
// Works under both CommonJS and native-ESM jest: no __dirname / import.meta, the path is found from the cwd.
function findSpecFile(): string {
  const rel = join('test', 'sim', 'runpod', 'fixtures', 'runpod-rest-v2.openapi.json');
  let dir = process.cwd();
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, rel);
    if (existsSync(candidate)) return candidate;
    dir = dirname(dir);
  }
  throw new Error(`cannot find ${rel} above ${process.cwd()}`);
}
const spec = JSON.parse(readFileSync(findSpecFile(), 'utf8')) as { components: Record<string, unknown> };

const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
for (const f of ['float', 'double', 'int32', 'int64']) ajv.addFormat(f, true);
ajv.addSchema({ $id: 'runpod-v2', components: spec.components });

/** Validates `data` against `#/components/schemas/{name}` of the REST v2 OpenAPI file; returns the errors. */
export function schemaErrors(name: string, data: unknown): string[] {
  const validate = ajv.getSchema(`runpod-v2#/components/schemas/${name}`);
  if (!validate) throw new Error(`no schema ${name}`);
  if (validate(data)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''} ${JSON.stringify(e.params)}`);
}

export function expectSchema(name: string, data: unknown): void {
  const errors = schemaErrors(name, data);
  if (errors.length) throw new Error(`response does not validate against ${name}:\n${errors.join('\n')}\n${JSON.stringify(data, null, 1)}`);
}

export interface Res {
  status: number;
  headers: Headers;
  text: string;
  body: any;
}

export async function call(url: string, init: RequestInit = {}): Promise<Res> {
  const r = await fetch(url, init);
  const text = await r.text();
  let body: unknown;
  try {
    body = text ? JSON.parse(text) : undefined;
  } catch {
    body = undefined;
  }
  return { status: r.status, headers: r.headers, text, body };
}

export function rest(fake: FakeRunPod, method: string, path: string, body?: unknown, key: string | null = fake.apiKey): Promise<Res> {
  const headers: Record<string, string> = {};
  if (key !== null) headers.authorization = `Bearer ${key}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  return call(`${fake.url}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

export function gql(
  fake: FakeRunPod,
  query: string,
  variables?: Record<string, unknown>,
  auth: 'query' | 'bearer' | 'none' = 'query',
  key = fake.apiKey,
): Promise<Res> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (auth === 'bearer') headers.authorization = `Bearer ${key}`;
  const url = auth === 'query' ? `${fake.graphqlUrl}?api_key=${encodeURIComponent(key)}` : fake.graphqlUrl;
  return call(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
}

export function sls(fake: FakeRunPod, method: string, path: string, body?: unknown, authorization = `Bearer ${fake.apiKey}`): Promise<Res> {
  const headers: Record<string, string> = { authorization };
  if (body !== undefined) headers['content-type'] = 'application/json';
  return call(`${fake.serverlessBaseUrl}${path}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
}

export async function waitUntil<T>(fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 5000, stepMs = 20): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined && v !== false && v !== null) return v;
    if (Date.now() > deadline) throw new Error('waitUntil timed out');
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

export const CREATE_BODY = {
  name: 'cw-test-pod',
  image: 'runpod/worker-comfyui:5.8.5-base',
  gpu: { id: 'NVIDIA GeForce RTX 4090', count: 1 },
  cloud: 'SECURE',
  ports: ['8188/http', '22/tcp'],
  env: { COMFY_LOG_LEVEL: 'INFO' },
  disk: 50,
};
