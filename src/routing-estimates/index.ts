export * from './gpu-speed';
export * from './run-time-defaults';
export * from './run-time-estimator';
