/**
 * Every message the sandbox shows instead of doing something: each says what to select or change.
 * Kept in one table so the UI, the README and the tests agree on the wording.
 */
export const REFUSALS = {
  nothingSelected: 'Select an image (a rectangle or frame with an image fill) and one or more shapes drawn over it, then press Generate. For outpaint, select a frame larger than the image inside it.',
  noImage: 'None of the selected layers has an image fill. Select a rectangle or frame filled with an image, plus the shapes over it that mark the area to change.',
  manyImages: 'More than one selected layer has an image fill. Select exactly one image and the shapes over it.',
  imageOnOtherShape: (name: string) => `"${name}" has an image fill but is not a rectangle or frame; put the image on a rectangle (or frame) and try again.`,
  rotated: (name: string) => `"${name}" is rotated, flipped or skewed; reset its rotation to 0° (or flatten it into a new image) before editing.`,
  noMask: 'Draw one or more shapes over the part of the image to change and select them together with the image (Shift-click).',
  notAShape: (name: string, type: string) => `"${name}" (${type.toLowerCase()}) cannot mark an area; use rectangles, ellipses, vectors, text or groups of them.`,
  notAbove: (name: string) => `"${name}" is not above the image: put it in the same frame or group as the image, above it in the layers panel (Bring forward).`,
  maskOutside: 'The selected shapes do not cover any part of the image; move them over the area to change.',
  hiddenShape: (name: string) => `"${name}" is hidden; show it (or leave it out of the selection) so it can mark the area.`,
  outpaintNeedsFrame: 'For outpaint, select a frame that is larger than the image inside it: the empty part of the frame is filled.',
  outpaintNotLarger: (frame: string) => `Frame "${frame}" is not larger than its image; resize the frame beyond the image on the sides to extend.`,
  outpaintImageOutside: (frame: string) => `The image in frame "${frame}" sticks out of the frame; move it fully inside the frame.`,
  outpaintManyImages: (frame: string) => `Frame "${frame}" holds more than one image; keep one image-filled layer in it.`,
  maskedNeedsShapes: 'Edit and erase need the image and shapes over it; for a frame larger than its image, choose Outpaint.',
  tooLarge: (w: number, h: number) => `The result is ${w}×${h} px; Figma images are at most 4096 px per side.`,
  sourceGone: 'The layer the result belongs to was deleted or moved to another page; select the image again and generate.',
} as const;
