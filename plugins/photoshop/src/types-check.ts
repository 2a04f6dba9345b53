/**
 * Compile-time only (never bundled): proves that Adobe's published typings for the real modules
 * (@types/photoshop, @adobe/cc-ext-uxp-types) satisfy the subset the adapter is written against.
 * If a Photoshop typings update renames or reshapes a call we use, `npm run typecheck` fails here.
 */
import type * as photoshop from 'photoshop';
// The uxp typings are a global script declaring module 'uxp'; this brings them in (types only: never bundled).
import '@adobe/cc-ext-uxp-types';
import type { storage } from 'uxp';
import type { PsImageData, PsLayer } from './ps-api';

type Real = typeof photoshop;
type RealDocument = NonNullable<Real['app']['activeDocument']>;
type ModalContext = Parameters<Parameters<Real['core']['executeAsModal']>[0]>[0];
/** Fails to compile unless T is exactly `true`. */
type Expect<T extends true> = T;

export type Checks = [
  Expect<Awaited<ReturnType<Real['imaging']['getPixels']>>['imageData'] extends PsImageData ? true : false>,
  Expect<Awaited<ReturnType<Real['imaging']['getSelection']>>['sourceBounds'] extends { left: number; top: number; right: number; bottom: number } ? true : false>,
  Expect<{ layerID: number; imageData: Awaited<ReturnType<Real['imaging']['createImageDataFromBuffer']>>; targetBounds: { left: number; top: number; right: number; bottom: number }; replace: boolean } extends Parameters<Real['imaging']['putPixels']>[0] ? true : false>,
  Expect<{ layerID: number; imageData: Awaited<ReturnType<Real['imaging']['createImageDataFromBuffer']>>; targetBounds: { left: number; top: number; right: number; bottom: number }; replace: boolean } extends Parameters<Real['imaging']['putLayerMask']>[0] ? true : false>,
  Expect<Uint8Array extends Parameters<Real['imaging']['createImageDataFromBuffer']>[0] ? true : false>,
  Expect<Awaited<ReturnType<Real['imaging']['encodeImageData']>> extends number[] | string ? true : false>,
  Expect<{ imageData: Awaited<ReturnType<Real['imaging']['createImageDataFromBuffer']>>; base64: boolean } extends Parameters<Real['imaging']['encodeImageData']>[0] ? true : false>,
  Expect<RealDocument['id'] extends number ? true : false>,
  Expect<RealDocument["width"] extends number ? true : false>,
  Expect<RealDocument['bitsPerChannel'] extends string ? true : false>,
  Expect<RealDocument['mode'] extends string ? true : false>,
  Expect<Awaited<ReturnType<RealDocument['createPixelLayer']>> extends PsLayer | null ? true : false>,
  Expect<Parameters<RealDocument['resizeCanvas']> extends [number, number, ...unknown[]] ? true : false>,
  Expect<Parameters<storage.FileSystemProvider['getFileForOpening']>[0] extends { types?: string[] } ? true : false>,
  Expect<storage.File['read'] extends (options: never) => unknown ? true : false>,
  Expect<ModalContext['hostControl']['suspendHistory'] extends (p: { documentID: number; name: string }) => Promise<{ historySuspensionID: number }> ? true : false>,
];
