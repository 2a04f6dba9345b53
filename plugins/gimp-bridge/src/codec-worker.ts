/**
 * A codec worker thread (built to dist/codec-worker.js): decodes uploads and encodes results so
 * that a 4096² 16-bit PNG (seconds of work) never stalls the server's event loop, its health
 * answers or its event streams. The work is the core's codecs, unchanged.
 */
import { parentPort } from 'node:worker_threads';
import type { CodecMessage, CodecReply, CodecResult, CodecTask } from './codec-protocol';
import { composeCandidate, decodeImage, encodeGrayPng, encodePng, maskFromImage, serializeError } from './core';

function run(task: CodecTask): { value: CodecResult; transfer: ArrayBuffer[] } {
  switch (task.op) {
    case 'decode': {
      const image = decodeImage(task.image, { maxPixels: task.maxPixels, name: 'image' });
      const mask = task.mask ? maskFromImage(decodeImage(task.mask, { maxPixels: task.maxPixels, name: 'mask' })) : undefined;
      return { value: { image, mask }, transfer: [image.data.buffer as ArrayBuffer, ...(mask ? [mask.data.buffer as ArrayBuffer] : [])] };
    }
    case 'png': {
      const bytes = encodePng(task.image);
      return { value: bytes, transfer: [bytes.buffer as ArrayBuffer] };
    }
    case 'grayPng': {
      const bytes = encodeGrayPng(task.width, task.height, task.data);
      return { value: bytes, transfer: [bytes.buffer as ArrayBuffer] };
    }
    case 'full': {
      const image = composeCandidate(decodeImage(task.sourcePng, { name: 'image' }), task.summary, task.candidate);
      const bytes = task.format === 'png' ? encodePng(image) : new Uint8Array(image.data.buffer, image.data.byteOffset, image.data.byteLength);
      return { value: { width: image.width, height: image.height, bytes }, transfer: [bytes.buffer as ArrayBuffer] };
    }
  }
}

parentPort!.on('message', ({ id, task }: CodecMessage) => {
  let reply: CodecReply;
  let transfer: ArrayBuffer[] = [];
  try {
    const done = run(task);
    reply = { id, ok: true, value: done.value };
    // A buffer listed twice, or one shared with another view, cannot be transferred: dedupe.
    transfer = [...new Set(done.transfer)];
  } catch (err) {
    reply = { id, ok: false, error: serializeError(err) };
  }
  parentPort!.postMessage(reply, transfer);
});
