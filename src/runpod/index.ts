export * from './pods-api';
export * from './runpod.errors';
export * from './runpod-http';
export * from './rest-v2-pods-api';
export * from './graphql-pods-api';
export * from './serverless-client';
export * from './gpu-catalog';
export * from './redact';
