/** Host-side preparation (selection → request, candidate → layer), shared by every host adapter. */
export {
  contextRegion,
  outpaintContext,
  maskBounds,
  documentOffset,
  hardLayerMask,
  shortPrompt,
  candidateLayerName,
  engineLine,
  HOST_CONTEXT_DEFAULTS,
  LAYER_NAME_PROMPT_LENGTH,
  type EdgeMargins,
  type HostContextOptions,
  type OutpaintContextOptions,
  type OutpaintContext,
  type CandidateNameParts,
} from './prepare';
