import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * Bounds on the shape of a JSON request body, checked on the raw bytes before it is parsed.
 *
 * Bytes are not the problem: the body limit (MAX_REQUEST_BODY_MB, 25 MB by default) is large because
 * workflows carry base64 images, and one long string costs next to nothing. What costs is structure: every
 * key and array item is an allocation for JSON.parse and a visit for everything after it, and a body nested
 * thousands deep overflows any recursive walk (a 500). So the shape is capped, in linear time, before any
 * of that runs.
 */
export interface JsonBounds {
  /** Deepest nesting of objects and arrays (the body itself is depth 1). */
  maxDepth: number;
  /** Keys of all objects plus items of all arrays, over the whole body. */
  maxMembers: number;
  /** Keys of one object (V8 builds an object of many keys more slowly per key than many small ones). */
  maxKeysPerObject: number;
}

/**
 * A ComfyUI API workflow is about 5 levels deep ({workflow: {node: {inputs: {name: [link]}}}}); a very
 * large one has a few hundred nodes and some 15,000 keys and items; metadata is limited to 64 KB; at most
 * 100 images. These leave a wide margin, and keep JSON.parse of the largest accepted structure within tens
 * of milliseconds.
 */
export const DEFAULT_JSON_BOUNDS: JsonBounds = { maxDepth: 64, maxMembers: 50_000, maxKeysPerObject: 10_000 };

/** `type` of the error the body parser passes on when a body is out of bounds (as 'entity.too.large'). */
export const JSON_BOUNDS_EXCEEDED = 'entity.bounds.exceeded';

export class JsonBoundsError extends Error {
  readonly type = JSON_BOUNDS_EXCEEDED;
  readonly status = 400;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COLON = 0x3a;
const COMMA = 0x2c;
const ARRAY = -1;

/** Index of the quote that closes the string opened at `open`, or -1. Long strings are skipped natively. */
function closingQuote(bytes: Uint8Array, open: number): number {
  let from = open + 1;
  for (;;) {
    const quote = bytes.indexOf(QUOTE, from);
    if (quote < 0) return -1;
    // Escaped when preceded by an odd run of backslashes. UTF-8 continuation bytes are >= 0x80, so they
    // never look like a quote or a backslash.
    let before = quote - 1;
    while (bytes[before] === BACKSLASH) before--;
    if ((quote - 1 - before) % 2 === 0) return quote;
    from = quote + 1;
  }
}

/**
 * Scans JSON text (UTF-8 bytes) once, without building anything, and returns a message when it is out of
 * `bounds`, else null. Text that is not valid JSON is left to the parser to reject: this only counts
 * structural characters outside strings.
 */
export function checkJsonBounds(bytes: Uint8Array, bounds: JsonBounds): string | null {
  // Per open container: ARRAY, or the keys of the object so far.
  const open = new Int32Array(bounds.maxDepth + 1);
  let depth = 0;
  let members = 0;
  const length = bytes.length;
  for (let i = 0; i < length; i++) {
    const byte = bytes[i];
    if (byte === QUOTE) {
      i = closingQuote(bytes, i);
      if (i < 0) return null;
      continue;
    }
    if (byte === OPEN_OBJECT || byte === OPEN_ARRAY) {
      if (++depth > bounds.maxDepth) return `JSON body is nested deeper than ${bounds.maxDepth} levels`;
      // An array's first item has no comma before it: count it here (an empty array counts one too many,
      // which is harmless for a bound).
      open[depth] = byte === OPEN_ARRAY ? ARRAY : 0;
      if (byte === OPEN_ARRAY) members++;
    } else if (byte === CLOSE_OBJECT || byte === CLOSE_ARRAY) {
      if (depth > 0) depth--;
    } else if (byte === COLON && depth > 0 && open[depth] !== ARRAY) {
      members++;
      if (++open[depth] > bounds.maxKeysPerObject) {
        return `a JSON object in the body has more than ${bounds.maxKeysPerObject.toLocaleString('en-US')} keys`;
      }
    } else if (byte === COMMA && open[depth] === ARRAY) {
      members++;
    } else {
      continue;
    }
    if (members > bounds.maxMembers) {
      return `JSON body has more than ${bounds.maxMembers.toLocaleString('en-US')} keys and array items`;
    }
  }
  return null;
}

/**
 * A body-parser `verify` hook: rejects a body out of `bounds` before it is parsed. body-parser passes the
 * thrown error on with its `type`, which the error middleware in bootstrap.ts answers as a 400.
 */
export function verifyJsonBounds(bounds: JsonBounds = DEFAULT_JSON_BOUNDS) {
  return (_request: IncomingMessage, _response: ServerResponse, body: Buffer, encoding: string): void => {
    // RFC 8259 §8.1: JSON between systems is UTF-8. Other charsets would need their own scanner.
    if (!/^utf-?8$/i.test(encoding)) throw new JsonBoundsError('JSON body must be UTF-8 (RFC 8259)');
    const problem = checkJsonBounds(body, bounds);
    if (problem) {
      throw new JsonBoundsError(
        `${problem}: send the workflow's nodes, inputs and images, not bulk data in keys or arrays`,
      );
    }
  };
}
