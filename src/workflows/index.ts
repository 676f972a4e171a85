export * from './fetch-capabilities';
export * from './model-loaders';
export * from './worker-capabilities';
export * from './workflow-graph';
export * from './workflow-requirements';
export * from './workflow-signature';
