/**
 * ITU-R BT.601 luma weights, written once for the modules that need them (data's grayscale and
 * the U-Net's chroma-to-RGB layer) without one importing the other.
 *
 * @internal
 * @module
 */

/** BT.601 luma weights (R, G, B): Y = 0.299 R + 0.587 G + 0.114 B. */
export const BT601_LUMA: readonly [number, number, number] = [0.299, 0.587, 0.114];
