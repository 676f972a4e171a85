import { BadRequestException, ParseBoolPipe, ParseIntPipe } from '@nestjs/common';

/** `?name=true|false`, or a 400 that names the parameter (Nest's own message does not). */
export function queryFlag(name: string): ParseBoolPipe {
  return new ParseBoolPipe({
    exceptionFactory: () => new BadRequestException(`${name} must be true or false`),
  });
}

/** `?name=<whole number>`, or a 400 that names the parameter. */
export function queryInt(name: string): ParseIntPipe {
  return new ParseIntPipe({
    exceptionFactory: () => new BadRequestException(`${name} must be a whole number`),
  });
}
