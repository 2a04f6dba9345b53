/**
 * What a caller without the token learns (issue 17, item 5). Origin "null" is allowed everywhere
 * (Figma's plug-in iframe), so any web page can read these answers through a sandboxed iframe:
 * they must carry no paths (the home directory names the user) and no activity (queue.active says
 * whether the user is working right now).
 */
import { homedir } from 'node:os';
import { fakeImpl, type BridgeHandle } from './engines';
import { http } from './helpers';

describe('bridge answers to callers without the token', () => {
  let server: BridgeHandle;
  beforeAll(async () => {
    server = await fakeImpl.start();
  });
  afterAll(async () => {
    await server.close();
  });

  it('health says only what a plug-in needs to find the bridge, whatever token (or none) is sent', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Basic eDp5' }, { Origin: 'null' }] as Record<string, string>[]) {
      const r = await http(server.port, '/v1/health', { headers });
      expect(r.status).toBe(200);
      expect(r.json()).toEqual({ status: 'ok', service: 'byteedit-bridge', version: expect.any(String), apiVersion: 1, authenticated: false });
    }
  });

  it('health with the token gives devices, deviceChoice, queue, limits and packs', async () => {
    const r = await http(server.port, '/v1/health', { headers: { Authorization: `Bearer ${server.token}`, Origin: 'null' } });
    expect(r.json()).toMatchObject({
      status: 'ok',
      authenticated: true,
      apiVersion: 1,
      devices: expect.any(Array),
      deviceChoice: expect.any(Object),
      queue: { active: 0, max: expect.any(Number) },
      limits: { maxBodyBytes: expect.any(Number), maxPixels: expect.any(Number) },
      packs: ['tiny-sd-diffusers'],
      preferences: false,
    });
  });

  it('names the config location generically in 401 bodies, never the absolute token-file path', async () => {
    for (const headers of [{}, { Authorization: 'Bearer wrong' }, { Authorization: 'Basic eDp5' }] as Record<string, string>[]) {
      const r = await http(server.port, '/v1/jobs', { headers: { ...headers, Origin: 'null' } });
      expect(r.status).toBe(401);
      const text = r.body.toString();
      expect(text).toContain('bridge.json under your config directory');
      expect(text).not.toContain(server.bridgeFile);
      expect(text).not.toContain(homedir());
      expect(text).not.toContain('/tmp/');
    }
  });
});
