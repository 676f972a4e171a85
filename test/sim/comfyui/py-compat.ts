/**
 * Small helpers to make the fake's wire output look like a Python/aiohttp ComfyUI:
 * - `pyJson`: `json.dumps` with default separators (`", "` / `": "`) and `ensure_ascii=True`.
 *   WS frames therefore start with the bytes `{"type": ` (reference §4.1; SwarmUI sniffs them).
 * - `pyRepr`: `str()`/`repr()` of simple values, used inside validation error texts
 *   (e.g. `value_not_in_list` details are `f"{x}: '{val}' not in {list}"` with a Python list repr).
 * - `PyFloat`: marks a number that Python holds as a float (e.g. an explicit `number` on POST /prompt
 *   becomes `float(number)`), so it serialises as `5.0`, not `5`.
 * - `PyException`: an exception with a Python type name, used to reproduce validation/execution errors.
 */
export class PyFloat {
  constructor(readonly value: number) {}
  toJSON(): number {
    return this.value;
  }
}

export class PyException extends Error {
  constructor(
    readonly pyType: string,
    message: string,
  ) {
    super(message);
  }
}

function pyFloatStr(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Infinity) return 'Infinity';
  if (n === -Infinity) return '-Infinity';
  if (Number.isInteger(n) && Math.abs(n) < 1e16) return `${n}.0`;
  return String(n);
}

function pyNumber(n: number): string {
  if (!Number.isFinite(n)) return pyFloatStr(n);
  return String(n);
}

function asciiString(s: string): string {
  return JSON.stringify(s).replace(
    /[\u007f-\uffff]/g,
    (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'),
  );
}

/** `json.dumps(value)` as Python would print it (default separators, ensure_ascii). */
export function pyJson(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (value instanceof PyFloat) return pyFloatStr(value.value);
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return pyNumber(value);
    case 'bigint':
      return value.toString();
    case 'string':
      return asciiString(value);
    case 'object':
      break;
    case 'undefined':
    case 'function':
    case 'symbol':
      return 'null';
  }
  if (Array.isArray(value)) return '[' + value.map((v) => pyJson(v)).join(', ') + ']';
  if (value instanceof Map) {
    const parts: string[] = [];
    for (const [k, v] of value as Map<unknown, unknown>)
      parts.push(`${asciiString(String(k))}: ${pyJson(v)}`);
    return '{' + parts.join(', ') + '}';
  }
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) return 'null';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v === undefined) continue;
    parts.push(`${asciiString(k)}: ${pyJson(v)}`);
  }
  return '{' + parts.join(', ') + '}';
}

function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + quote;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else out += ch;
  }
  return quote + out + quote;
}

/** Python `repr(value)` for JSON-ish values. */
export function pyRepr(value: unknown, asFloat = false): string {
  if (value === null || value === undefined) return 'None';
  if (value instanceof PyFloat) return pyFloatStr(value.value);
  if (typeof value === 'boolean') return value ? 'True' : 'False';
  if (typeof value === 'number') return asFloat ? pyFloatStr(value) : pyNumber(value);
  if (typeof value === 'string') return pyStrRepr(value);
  if (Array.isArray(value)) return '[' + value.map((v) => pyRepr(v)).join(', ') + ']';
  if (typeof value === 'object') {
    return (
      '{' +
      Object.entries(value as Record<string, unknown>)
        .map(([k, v]) => `${pyStrRepr(k)}: ${pyRepr(v)}`)
        .join(', ') +
      '}'
    );
  }
  return typeof value === 'bigint' ? value.toString() : '?';
}

/** Python `str(value)`: like repr, except a top-level string is printed bare. */
export function pyStr(value: unknown, asFloat = false): string {
  return typeof value === 'string' ? value : pyRepr(value, asFloat);
}

/** Python `type(value).__name__` for JSON-ish values. */
export function pyTypeName(value: unknown): string {
  if (value === null || value === undefined) return 'NoneType';
  if (typeof value === 'boolean') return 'bool';
  if (typeof value === 'number') return Number.isInteger(value) ? 'int' : 'float';
  if (typeof value === 'string') return 'str';
  if (Array.isArray(value)) return 'list';
  return 'dict';
}

/** Python `int(x)` on a JSON value. */
export function pyInt(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') {
    if (Number.isNaN(value)) throw new PyException('ValueError', 'cannot convert float NaN to integer');
    if (!Number.isFinite(value))
      throw new PyException('OverflowError', 'cannot convert float infinity to integer');
    return Math.trunc(value);
  }
  if (typeof value === 'string') {
    const t = value.trim();
    if (/^[-+]?\d+(_\d+)*$/.test(t)) return Number(t.replace(/_/g, ''));
    throw new PyException('ValueError', `invalid literal for int() with base 10: ${pyStrRepr(value)}`);
  }
  throw new PyException(
    'TypeError',
    `int() argument must be a string, a bytes-like object or a real number, not '${pyTypeName(value)}'`,
  );
}

/** Python `float(x)` on a JSON value. */
export function pyFloat(value: unknown): number {
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'number') return value;
  if (typeof value === 'string') {
    const t = value.trim().toLowerCase().replace(/_/g, '');
    if (/^[-+]?(\d+\.?\d*([e][-+]?\d+)?|\.\d+([e][-+]?\d+)?)$/.test(t)) return Number(t);
    if (/^[-+]?(inf|infinity)$/.test(t)) return t.startsWith('-') ? -Infinity : Infinity;
    if (/^[-+]?nan$/.test(t)) return NaN;
    throw new PyException('ValueError', `could not convert string to float: ${pyStrRepr(value)}`);
  }
  throw new PyException(
    'TypeError',
    `float() argument must be a string or a real number, not '${pyTypeName(value)}'`,
  );
}

/** Python truthiness (`bool(x)`). */
export function pyBool(value: unknown): boolean {
  if (value === null || value === undefined) return false;
  if (typeof value === 'string') return value.length > 0;
  if (typeof value === 'number') return value !== 0;
  if (typeof value === 'boolean') return value;
  if (Array.isArray(value)) return value.length > 0;
  return Object.keys(value).length > 0;
}

/** A traceback-shaped list of strings (Python's `traceback.format_tb`); content is fake but well-formed. */
export function fakeTraceback(where: string): string[] {
  return [`  File "/comfyui/execution.py", line 1, in ${where}\n    (fake-comfyui: no Python here)\n`];
}
