/**
 * The request's JSON Schema, generated from the field table: the bridge's OpenAPI document carries
 * it (plugins/gimp-bridge/openapi.yaml, checked against this by a test), so the published schema
 * cannot drift from what the parser accepts.
 */
import { FIELD_NAMES, REQUEST_FIELDS, type FieldName, type FieldSpec } from './fields';
import { REWARD_NAMES } from './unions';

export type JsonSchema = Record<string, unknown>;

export function fieldSchema(spec: FieldSpec): JsonSchema {
  const doc: JsonSchema = { description: spec.doc };
  if (spec.default !== undefined) doc.default = spec.default;
  switch (spec.kind) {
    case 'int':
      return { type: 'integer', minimum: spec.min, maximum: spec.max, ...doc };
    case 'number':
      return { type: 'number', ...(spec.exclusiveMin ? { exclusiveMinimum: spec.min } : { minimum: spec.min }), maximum: spec.max, ...doc };
    case 'text':
      return { type: 'string', maxLength: spec.maxLength, ...doc };
    case 'enum':
      return { type: 'string', enum: [...spec.values!], ...doc };
    case 'boolean':
      return { type: 'boolean', ...doc };
    case 'margins': {
      const side = { type: 'integer', minimum: spec.min, maximum: spec.max };
      return {
        oneOf: [
          { type: 'object', additionalProperties: false, properties: { left: side, top: side, right: side, bottom: side } },
          { type: 'array', items: side, minItems: 4, maxItems: 4 },
          { type: 'string', pattern: '^\\s*\\d+\\s*,\\s*\\d+\\s*,\\s*\\d+\\s*,\\s*\\d+\\s*$' },
        ],
        ...doc,
      };
    }
    case 'weights': {
      const w = { type: 'number', minimum: spec.min, maximum: spec.max };
      return { type: 'object', additionalProperties: false, properties: Object.fromEntries(REWARD_NAMES.map((n) => [n, w])), ...doc };
    }
  }
}

/** The properties of a job request (without the transport's image and mask fields). */
export function requestSchemaProperties(): Record<FieldName, JsonSchema> {
  return Object.fromEntries(FIELD_NAMES.map((n) => [n, fieldSchema(REQUEST_FIELDS[n])])) as Record<FieldName, JsonSchema>;
}
