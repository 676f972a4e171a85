import Ajv, { type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

/**
 * Checks HTTP answers against an OpenAPI 3.0 document: the status must be documented for the operation and a
 * JSON body must validate against the documented schema. OpenAPI 3.0 schemas are almost JSON Schema; the
 * differences handled here are `nullable` and `$ref`s into components. Response objects with `properties` are
 * checked as closed (no undocumented fields): a field the document does not mention is a doc bug too.
 */

type Schema = Record<string, any>;
type Document = Record<string, any>;

export interface Answer {
  status: number;
  contentType: string | null;
  text: string;
}

const COMPONENTS_ID = 'openapi-components';
/** OpenAPI-only keywords that are not JSON Schema (Ajv's strict mode rejects unknown keywords). */
const OPENAPI_ONLY = ['nullable', 'example', 'xml', 'discriminator', 'externalDocs', 'deprecated'];

export function toJsonSchema(schema: Schema, closeObjects: boolean): Schema {
  if (Array.isArray(schema)) return schema.map((item) => toJsonSchema(item, closeObjects));
  if (schema === null || typeof schema !== 'object') return schema;
  const out: Schema = {};
  for (const [key, value] of Object.entries(schema)) {
    if (OPENAPI_ONLY.includes(key)) continue;
    if (key === '$ref') out.$ref = String(value).replace('#/components/schemas/', `${COMPONENTS_ID}#/$defs/`);
    else if (key === 'properties')
      out.properties = Object.fromEntries(
        Object.entries(value as Schema).map(([name, property]) => [
          name,
          toJsonSchema(property, closeObjects),
        ]),
      );
    else if (typeof value === 'object' && value !== null) out[key] = toJsonSchema(value, closeObjects);
    else out[key] = value;
  }
  if (closeObjects && out.properties && out.additionalProperties === undefined)
    out.additionalProperties = false;
  return schema.nullable === true ? { anyOf: [out, { type: 'null' }] } : out;
}

export class OpenApiContract {
  private readonly ajv: Ajv;
  private readonly validators = new Map<string, ValidateFunction>();

  constructor(readonly document: Document) {
    this.ajv = new Ajv({ allErrors: true, strict: false });
    addFormats(this.ajv);
    const schemas = (document.components?.schemas ?? {}) as Record<string, Schema>;
    this.ajv.addSchema({
      $id: COMPONENTS_ID,
      $defs: Object.fromEntries(Object.entries(schemas).map(([name, s]) => [name, toJsonSchema(s, true)])),
    });
  }

  /** Every operation as `METHOD /path` (OpenAPI path template). */
  operations(): Array<{ key: string; method: string; path: string; operation: Schema }> {
    return Object.entries(this.document.paths as Record<string, Schema>).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'put', 'post', 'delete', 'patch', 'head', 'options'].includes(method))
        .map(([method, operation]) => ({ key: `${method.toUpperCase()} ${path}`, method, path, operation })),
    );
  }

  operation(key: string): Schema {
    const found = this.operations().find((candidate) => candidate.key === key);
    if (!found) throw new Error(`${key} is not in the OpenAPI document`);
    return found.operation;
  }

  validator(schema: Schema): ValidateFunction {
    const cacheKey = JSON.stringify(schema);
    let validate = this.validators.get(cacheKey);
    if (!validate) {
      validate = this.ajv.compile(toJsonSchema(schema, true));
      this.validators.set(cacheKey, validate);
    }
    return validate;
  }

  /** Problems with this answer for this operation (empty when it matches the document). */
  problems(key: string, answer: Answer): string[] {
    const responses = this.operation(key).responses as Record<string, Schema>;
    const response = responses[String(answer.status)];
    if (!response)
      return [`${key} answered ${answer.status}, documented: ${Object.keys(responses).join(', ')}`];
    const content = (response.content ?? {}) as Record<string, Schema>;
    const mediaTypes = Object.keys(content);
    if (mediaTypes.length === 0) {
      return answer.text.length === 0 ? [] : [`${key} ${answer.status}: documented without a body, got one`];
    }
    const mediaType = (answer.contentType ?? '').split(';')[0].trim();
    const media = content[mediaType] ?? (mediaTypes.includes('*/*') ? content['*/*'] : undefined);
    if (!media)
      return [`${key} ${answer.status}: content type ${mediaType} is not documented (${mediaTypes.join(', ')})`];
    if (mediaType !== 'application/json' || !media.schema) return [];
    return this.schemaProblems(`${key} ${answer.status}`, media.schema, JSON.parse(answer.text));
  }

  schemaProblems(where: string, schema: Schema, value: unknown): string[] {
    const validate = this.validator(schema);
    if (validate(value)) return [];
    return (validate.errors ?? []).map(
      (error) =>
        `${where}: ${error.instancePath || '(root)'} ${error.message} ${JSON.stringify(error.params)}`,
    );
  }

  resolve(schema: Schema): Schema {
    if (schema.$ref) return this.document.components.schemas[String(schema.$ref).split('/').pop()!];
    return schema;
  }

  /**
   * The example Swagger UI builds from a schema when the operation gives none: each property's `example`, else
   * one generated from its type, every optional property included. This is what "Try it out" pre-fills.
   */
  sample(schema: Schema): unknown {
    const resolved = this.resolve(schema);
    if (resolved.example !== undefined) return resolved.example;
    if (resolved.allOf) return Object.assign({}, ...resolved.allOf.map((part: Schema) => this.sample(part)));
    // One of several shapes (e.g. the two 422 bodies of POST /api/jobs): Swagger UI shows the first.
    if (resolved.oneOf) return this.sample(resolved.oneOf[0]);
    if (resolved.enum) return resolved.enum[0];
    switch (resolved.type) {
      case 'object':
      case undefined:
        if (!resolved.properties) return {};
        return Object.fromEntries(
          Object.entries(resolved.properties as Record<string, Schema>).map(([name, property]) => [
            name,
            this.sample(property),
          ]),
        );
      case 'array':
        return [this.sample(resolved.items)];
      case 'string':
        return resolved.format === 'date-time' ? new Date(0).toISOString() : 'string';
      case 'number':
      case 'integer':
        return resolved.minimum ?? 0;
      case 'boolean':
        return true;
      default:
        return null;
    }
  }

  /**
   * The request bodies Swagger UI offers for an operation, by name: its documented examples, else the one
   * generated from the schema.
   */
  requestExamples(key: string): Record<string, unknown> {
    const media = this.operation(key).requestBody?.content?.['application/json'];
    if (!media) return {};
    if (media.examples)
      return Object.fromEntries(
        Object.entries(media.examples as Record<string, Schema>).map(([name, example]) => [
          name,
          example.value,
        ]),
      );
    if (media.example !== undefined) return { example: media.example };
    return { generated: this.sample(media.schema) };
  }

  /** Every example the document shows (explicit or generated), with the schema it must satisfy. */
  allExamples(): Array<{ where: string; schema: Schema; value: unknown }> {
    const found: Array<{ where: string; schema: Schema; value: unknown }> = [];
    const collect = (where: string, media: Schema | undefined) => {
      if (!media?.schema) return;
      found.push({ where: `${where} (generated)`, schema: media.schema, value: this.sample(media.schema) });
      if (media.example !== undefined) found.push({ where, schema: media.schema, value: media.example });
      for (const [name, example] of Object.entries((media.examples ?? {}) as Record<string, Schema>))
        found.push({ where: `${where} example ${name}`, schema: media.schema, value: example.value });
    };
    for (const { key, operation } of this.operations()) {
      collect(`${key} request`, operation.requestBody?.content?.['application/json']);
      for (const [status, response] of Object.entries(operation.responses as Record<string, Schema>))
        collect(`${key} ${status}`, response.content?.['application/json']);
    }
    for (const [name, schema] of Object.entries(
      (this.document.components?.schemas ?? {}) as Record<string, Schema>,
    ))
      found.push({
        where: `schema ${name} (generated)`,
        schema: { $ref: `#/components/schemas/${name}` },
        value: this.sample(schema),
      });
    return found;
  }
}

/** Server-Sent Events as `{event, data}` with `data` parsed as JSON. */
export function parseServerSentEvents(text: string): Array<{ event: string; data: unknown }> {
  return text
    .split(/\n\n+/)
    .filter((block) => block.trim().length > 0)
    .map((block) => {
      const lines = block.split('\n');
      const event =
        lines
          .find((line) => line.startsWith('event:'))
          ?.slice('event:'.length)
          .trim() ?? 'message';
      const data = lines
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice('data:'.length).trimStart())
        .join('\n');
      return { event, data: JSON.parse(data) as unknown };
    });
}
