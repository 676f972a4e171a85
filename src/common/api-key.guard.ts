import { CanActivate, ExecutionContext, Injectable, UnauthorizedException } from '@nestjs/common';
import { timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';

function safeEqual(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** When API_KEY is set, every /api route needs `Authorization: Bearer <key>` or `X-API-Key: <key>`. */
@Injectable()
export class ApiKeyGuard implements CanActivate {
  constructor(private readonly apiKey: string | undefined) {}

  canActivate(context: ExecutionContext): boolean {
    if (!this.apiKey) return true;
    const request = context.switchToHttp().getRequest<Request>();
    if (!request.path.startsWith('/api')) return true;
    const header = request.headers.authorization;
    const bearer = header?.startsWith('Bearer ') ? header.slice('Bearer '.length).trim() : undefined;
    const xApiKey = request.headers['x-api-key'];
    const presented = bearer ?? (typeof xApiKey === 'string' ? xApiKey : undefined);
    if (presented && safeEqual(presented, this.apiKey)) return true;
    throw new UnauthorizedException(
      'Missing or invalid API key: send Authorization: Bearer <API_KEY> or X-API-Key',
    );
  }
}
