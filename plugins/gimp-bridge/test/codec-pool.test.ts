/**
 * The server's codec worker pool: decode and encode round-trip, typed errors survive the thread
 * boundary, and a worker that dies fails only its own task and is replaced.
 */
import type { Worker } from 'node:worker_threads';
import { decodeImage, SdkError } from '@byteedit/core';
import { CodecPool } from '../src/codec-pool';
import { buildCli } from './engines';
import { pngOf, rectMaskPng, testImage } from './helpers';
import { rgba16Png } from './png-bytes';

describe('CodecPool', () => {
  let pool: CodecPool;
  beforeAll(() => {
    buildCli();
    pool = new CodecPool(1);
  });
  afterAll(async () => {
    await pool.close();
  });

  it('decodes an upload into pixels and a mask with its bounds, and encodes results as PNG', async () => {
    const { image, mask } = await pool.decode(pngOf(testImage(64, 48)), rectMaskPng(64, 48, { x: 16, y: 12, width: 24, height: 20 }), 1e6);
    expect([image.width, image.height, image.data.length]).toEqual([64, 48, 64 * 48 * 4]);
    expect(image.data).toEqual(testImage(64, 48).data);
    expect(mask?.bounds).toEqual({ x: 16, y: 12, width: 24, height: 20 });
    const png = await pool.encodePng(image);
    expect(decodeImage(png).data).toEqual(image.data);
    const gray = decodeImage(await pool.encodeGrayPng(64, 48, mask!.data));
    expect(gray.data[(20 * 64 + 20) * 4]).toBe(255);
  });

  it('keeps the error code across the thread boundary', async () => {
    const broken = pngOf(testImage(64, 48)).subarray(0, 60);
    const err = await pool.decode(broken, undefined, 1e6).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SdkError);
    expect((err as SdkError).code).toBe('image_unreadable');
    // The worker is still there for the next task.
    expect((await pool.decode(pngOf(testImage(8, 8)), undefined, 1e6)).image.width).toBe(8);
    const tooBig = await pool.decode(pngOf(testImage(64, 48)), undefined, 100).catch((e: unknown) => e);
    expect((tooBig as SdkError).code).toBe('image_too_large');
  });

  it('fails only the task of a worker that dies, and replaces the worker', async () => {
    const slow = pool.decode(rgba16Png(2048, 2048), undefined, 16e6).catch((e: unknown) => e);
    await new Promise((resolve) => setTimeout(resolve, 50));
    await (pool as unknown as { slots: { worker: Worker }[] }).slots[0]!.worker.terminate();
    const err = await slow;
    expect((err as SdkError).code).toBe('image_unreadable');
    expect((err as SdkError).message).toContain('codec worker exited');
    const { image } = await pool.decode(pngOf(testImage(16, 16)), undefined, 1e6);
    expect(image.width).toBe(16);
  });
});
