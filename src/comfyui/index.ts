export * from './comfyui.errors';
export * from './comfyui.types';
export * from './comfyui-client';
export * from './comfyui-client.factory';
export * from './comfyui-health';
export * from './comfyui-outputs';
export * from './comfyui-workflow';
export * from './comfyui.module';
