import {
  type ArgumentMetadata,
  BadRequestException,
  ValidationPipe,
  type ValidationPipeOptions,
} from '@nestjs/common';

/**
 * Free-form JSON properties of each request DTO class. class-transformer visits every key of every object it
 * is given, at a cost that grows with the square of an object's keys (a 1.8 MB body of 160,000 keys held
 * the event loop for about 10 s), and class-validator has nothing to check inside free-form JSON anyway.
 */
const opaqueProperties = new WeakMap<object, string[]>();

/**
 * Marks a free-form JSON property (a ComfyUI workflow, caller metadata) that class-transformer and
 * class-validator must not walk. They see a stand-in of the same kind (`{}` for an object, `[]` for an
 * array, a primitive as it is), so type checks such as `@IsObject()` still apply; the real value is put
 * back afterwards, unchanged. Whoever consumes the value checks its content, in linear time.
 */
export function OpaqueJson(): PropertyDecorator {
  return (prototype, property) => {
    const owner = prototype.constructor;
    const inherited = opaqueProperties.get(Object.getPrototypeOf(owner) as object) ?? [];
    const own = opaqueProperties.get(owner) ?? inherited;
    opaqueProperties.set(owner, [...own, String(property)]);
  };
}

const isPlainObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const standIn = (value: unknown): unknown => (Array.isArray(value) ? [] : isPlainObject(value) ? {} : value);

/** Keys plus array items in `value`, counting no further than `limit + 1`. Iterative: depth is no risk. */
function countMembers(value: unknown, limit: number): number {
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0 && count <= limit) {
    const current = pending.pop();
    if (typeof current !== 'object' || current === null) continue;
    for (const key in current) {
      if (!Object.hasOwn(current, key)) continue;
      count++;
      if (count > limit) break;
      pending.push((current as Record<string, unknown>)[key]);
    }
  }
  return count;
}

/**
 * The global ValidationPipe, given only bounded input: free-form properties marked `@OpaqueJson()` are
 * hidden from it, and the rest may hold at most `maxMembers` keys and array items (every DTO here has a
 * handful of fields; an image list is the longest legitimate part). The JSON parser has already bounded the
 * whole body's depth and size (bounded-json.ts).
 */
export class BoundedValidationPipe extends ValidationPipe {
  constructor(
    options: ValidationPipeOptions,
    private readonly maxMembers = 1000,
  ) {
    super(options);
  }

  override async transform(value: unknown, metadata: ArgumentMetadata): Promise<unknown> {
    if (typeof value !== 'object' || value === null) return super.transform(value, metadata);
    const opaque = (metadata.metatype && opaqueProperties.get(metadata.metatype)) || [];
    const held = new Map<string, unknown>();
    let visible = value;
    if (opaque.length > 0 && isPlainObject(value)) {
      const copy: Record<string, unknown> = { ...value };
      for (const property of opaque) {
        if (!Object.hasOwn(value, property)) continue;
        held.set(property, value[property]);
        copy[property] = standIn(value[property]);
      }
      visible = copy;
    }
    if (countMembers(visible, this.maxMembers) > this.maxMembers) {
      const besides = held.size > 0 ? ` besides ${[...held.keys()].join(' and ')}` : '';
      throw new BadRequestException(
        `Request has more than ${this.maxMembers.toLocaleString('en-US')} fields and list items${besides}`,
      );
    }
    const result = await super.transform(visible, metadata);
    if (isPlainObject(result)) for (const [property, original] of held) result[property] = original;
    return result;
  }

  /**
   * Query and path values reach the route's own parse pipes (ParseBoolPipe, ParseIntPipe) as the client sent
   * them. Nest's default converts them first by the parameter's declared type, so any text became a boolean
   * (`?wait=perhaps` -> false: a spawn that did not wait) or a number (`?limit=ten` -> NaN) and the parse pipe
   * never saw the bad value. Every boolean or numeric query/path parameter here has its own parse pipe.
   */
  protected override transformPrimitive(value: unknown): unknown {
    return value;
  }
}
