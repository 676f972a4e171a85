import { IsDefined, ValidateIf } from 'class-validator';

/**
 * An optional request field that may be left out but not sent as `null`. `@IsOptional()` skips every other
 * check for null as well as for a missing field, and a default parameter (`ttl = 3600`) applies only to
 * undefined: a null `ttlSeconds` minted a token that expired at once, a null `enabled` answered 200. Use it in
 * place of `@IsOptional()` on every optional field whose type has no null; `hint` ends the 400 message.
 */
export function OptionalNotNull(hint = 'leave it out for the default'): PropertyDecorator {
  return (target, property) => {
    ValidateIf((_object, value) => value !== undefined)(target, property);
    IsDefined({ message: `$property must not be null: ${hint}` })(target, property);
  };
}
