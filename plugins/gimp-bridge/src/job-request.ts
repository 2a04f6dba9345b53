/**
 * The transport of a POST /v1/jobs body: JSON with base64 PNGs, or multipart/form-data with `image`
 * and `mask` file parts, text parts per field and an optional `params` part (a JSON object). Only
 * the transport lives here: every request field is read by core's one parser (parseRequestParams,
 * the field table), typed for JSON values and as text for form fields, so the bridge accepts
 * exactly what the CLI and the engine accept. Decoding and pixel checks are in decode-input.ts.
 */
import { HttpError } from './errors';
import { boundaryOf, parseMultipart } from './multipart';
import { FIELD_ALIASES, FIELD_NAMES, parseField, parseRequestParams, type FieldName, type RequestParams } from './core';

/** Body fields that are not request fields: the pixels (and, in multipart, the `params` part). */
export const TRANSPORT_FIELDS = ['image', 'mask'] as const;

export interface JobInput {
  image: Uint8Array;
  mask?: Uint8Array;
  /** As parsed; `pack` and `rewardPack` are still names (decode-input.ts resolves them). */
  params: RequestParams;
}

function bad(message: string): HttpError {
  return new HttpError(400, 'invalid_argument', message);
}

function base64Field(value: unknown, name: string): Uint8Array {
  if (typeof value !== 'string') throw bad(`${name} must be a base64-encoded PNG string`);
  const body = value.startsWith('data:') ? value.slice(value.indexOf(',') + 1) : value;
  if (!/^[A-Za-z0-9+/_-]*={0,2}$/.test(body.replace(/\s+/g, ''))) throw new HttpError(400, 'image_unreadable', `${name} is not valid base64; encode the PNG file with standard base64`);
  return Buffer.from(body, 'base64');
}

function jsonObject(body: Buffer, what: string): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(body.toString('utf8'));
  } catch (err) {
    throw new HttpError(400, 'malformed_request', `${what} is not valid JSON (${(err as Error).message}); send a JSON object or multipart/form-data`);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw new HttpError(400, 'malformed_request', `${what} must be a JSON object`);
  return raw as Record<string, unknown>;
}

export function parseJsonBody(body: Buffer): JobInput {
  const { image, mask, ...fields } = jsonObject(body, 'request body');
  if (image === undefined) throw bad('"image" is required: a base64-encoded PNG');
  const params = parseRequestParams(fields, { form: 'typed' });
  return { image: base64Field(image, 'image'), mask: mask === undefined || mask === null ? undefined : base64Field(mask, 'mask'), params };
}

export function parseMultipartBody(body: Buffer, contentType: string): JobInput {
  const parts = parseMultipart(body, boundaryOf(contentType));
  let image: Uint8Array | undefined;
  let mask: Uint8Array | undefined;
  // Text parts are read as text, field by field (the CLI's rules: "4" is a number, "l,t,r,b" margins);
  // the `params` part is JSON, typed. The rules between fields then run once over both.
  const fields: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const give = (name: string, value: unknown, where: string): void => {
    if (Object.hasOwn(fields, name)) throw bad(`field "${name}" is given twice (${where}); send each field once`);
    fields[name] = value;
  };
  for (const part of parts) {
    if (part.name === 'image') image = part.data;
    else if (part.name === 'mask') mask = part.data;
    else if (part.name === 'params') for (const [k, v] of Object.entries(jsonObject(part.data, 'params part'))) give(k, v, 'in the params part and as a part of its own');
    else {
      const name = part.name;
      const field: FieldName | undefined = (FIELD_NAMES as string[]).includes(name) ? (name as FieldName) : Object.hasOwn(FIELD_ALIASES, name) ? FIELD_ALIASES[name] : undefined;
      const text = part.data.toString('utf8');
      // Unknown names go on as they are: the parser below refuses them with the list of fields.
      give(name, field ? parseField(field, text, { form: 'text' }) : text, 'in two parts');
    }
  }
  if (!image) throw bad('multipart request needs a file part named "image" (PNG)');
  return { image, mask, params: parseRequestParams(fields, { form: 'typed' }) };
}
