/**
 * openapi.yaml and the server agree: every documented operation exists (answers 401 without a
 * token, or 200 for health, never 404/405), and the job request's properties are exactly core's
 * generated schema (requestSchemaProperties(), from the field table) plus the transport fields.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { requestSchemaProperties } from '@byteedit/core';
import { TRANSPORT_FIELDS } from '../src/job-request';
import { fakeImpl, PACKAGE_DIR, type BridgeHandle } from './engines';
import { http } from './helpers';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load(text: string): unknown };

interface Spec {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
  components: { schemas: { JobRequest: { properties: Record<string, unknown> } } };
}

const spec = yaml.load(readFileSync(join(PACKAGE_DIR, 'openapi.yaml'), 'utf8')) as Spec;

describe('openapi.yaml', () => {
  let server: BridgeHandle;
  beforeAll(async () => {
    server = await fakeImpl.start();
  });
  afterAll(async () => {
    await server.close();
  });

  it('documents only operations the server implements, with the documented auth', async () => {
    const ops = Object.entries(spec.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([method]) => ['get', 'post', 'delete', 'head'].includes(method))
        .map(([method, op]) => ({ path, method: method.toUpperCase(), open: Array.isArray(op.security) && op.security.length === 0 })),
    );
    expect(ops.length).toBeGreaterThanOrEqual(10);
    for (const op of ops) {
      const url = op.path.replace('{name}', 'tiny-sd-diffusers').replace('{path}', 'pack.json').replace('{id}', 'some-job').replace('{n}', '0');
      const r = await http(server.port, url, { method: op.method });
      expect([op.method, op.path, r.status]).toEqual([op.method, op.path, op.open ? 200 : 401]);
    }
  });

  it("describes every request field with exactly the schema core generates from its field table", () => {
    const { properties } = spec.components.schemas.JobRequest;
    const generated = requestSchemaProperties();
    expect(Object.keys(properties)).toEqual([...TRANSPORT_FIELDS, ...Object.keys(generated)]);
    for (const [field, schema] of Object.entries(generated)) expect([field, properties[field]]).toEqual([field, schema]);
  });

  it('is what scripts/openapi.mjs writes (run it after changing the field table)', () => {
    expect(() => execFileSync(process.execPath, [join(PACKAGE_DIR, 'scripts', 'openapi.mjs'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });
});
