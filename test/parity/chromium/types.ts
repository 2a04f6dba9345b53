/** What the replay page (replay-page.ts) hands back to the test. */

export type AdapterReport =
  | { ok: true; info: Record<string, string>; features: string[]; shaderF16: boolean; isFallbackAdapter: boolean | null; userAgent: string }
  | { ok: false; reason: string; userAgent: string };

export interface ReplayOptions {
  /** The pack's name on the server: /NAME/pack/... are its files, /NAME/trace/... its trace. */
  pack: string;
  backend: 'webgpu' | 'wasm';
  /** Replay only these models (paths relative to the pack); all when left out. */
  models?: string[];
  /**
   * 'conv-defaults': the models as served with every Conv's left-out dilations/strides/pads written
   * as their ONNX defaults (conv-attrs.ts): the same models by the spec.
   */
  variant?: 'as-is' | 'conv-defaults';
  /** Negative control: compare each call's outputs with the next recorded call's (must fail). */
  wrongCall?: boolean;
}

export interface OutputReport {
  call?: number;
  name: string;
  dtype: string;
  /** max |a - b| / max(|ref|, 1e-6) over the tensor. */
  rel: number;
  abs: number;
  finite: boolean;
  /** max |ref| and max |got|: a backend that wrote nothing shows gotMax 0. */
  refMax?: number;
  gotMax?: number;
  problem?: string;
}

export interface ModelReport {
  /** Path relative to the pack, as in trace.json. */
  model: string;
  backend: string;
  /** The recorded call indexes replayed. */
  calls: number[];
  outputs: OutputReport[];
  finite: boolean;
  createMs: number;
  msPerCall: number;
  /** WebGPU: uncaptured device errors raised while this model ran (first line of each). */
  gpuErrors?: string[];
  error?: string;
}

export interface ReplayReport {
  pack: string;
  backend: string;
  ortVersion: string;
  /** WebGPU: vendor and architecture of the adapter onnxruntime-web requested for itself. */
  ortAdapter?: Record<string, string>;
  models: ModelReport[];
}
