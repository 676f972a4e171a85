import type { INestApplication, Type } from '@nestjs/common';
import { ModulesContainer } from '@nestjs/core';

/** The controller method behind one OpenAPI operation, for reading the route's decorator metadata. */
export interface OperationHandler {
  controller: Type<unknown>;
  handler: (...args: unknown[]) => unknown;
}

/**
 * Controller methods by the operationId @nestjs/swagger gives them (`<ControllerClass>_<method>`, its default
 * operationIdFactory), so a document post-processor can read the same route metadata the guards read.
 */
export function operationHandlers(app: INestApplication): Map<string, OperationHandler> {
  const byOperationId = new Map<string, OperationHandler>();
  for (const module of app.get(ModulesContainer).values()) {
    for (const wrapper of module.controllers.values()) {
      const controller = wrapper.metatype as Type<unknown> | null;
      if (!controller) continue;
      const prototype = controller.prototype as Record<string, unknown>;
      for (const key of Object.getOwnPropertyNames(prototype)) {
        const handler = prototype[key];
        if (key === 'constructor' || typeof handler !== 'function') continue;
        byOperationId.set(`${controller.name}_${key}`, {
          controller,
          handler: handler as OperationHandler['handler'],
        });
      }
    }
  }
  return byOperationId;
}
