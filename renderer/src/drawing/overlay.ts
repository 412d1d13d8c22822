/**
 * Draws a face with its attention map and erasure rectangles on a canvas: the face (already aligned to
 * the map's size) is blended with the map at the map's own resolution, then scaled up; rectangles are
 * drawn as GAM-SFRE erases them, filled with the grey that a normalised 0 is ((0·128 + 127.5) ≈ 128),
 * with a white outline so they stay visible over any face.
 */
import type { MaskRect } from '../../../main/api/contract.ts';
import { blendAttention, type Colormap } from './colormap.ts';

export interface OverlayLayers {
  readonly map?:
    | { readonly width: number; readonly height: number; readonly values: Float32Array }
    | undefined;
  readonly opacity: number;
  readonly colormap: Colormap;
  readonly rects: readonly MaskRect[];
  /** Width and height of the image the rectangles refer to (the model's input). */
  readonly maskSize: number;
}

export function drawOverlay(
  canvas: HTMLCanvasElement,
  face: CanvasImageSource & { width: number; height: number },
  layers: OverlayLayers,
): boolean {
  const context = canvas.getContext('2d');
  if (!context) return false;
  const side = layers.map?.width ?? face.width;
  const work = document.createElement('canvas');
  work.width = side;
  work.height = layers.map?.height ?? face.height;
  const workContext = work.getContext('2d');
  if (!workContext) return false;
  workContext.drawImage(face, 0, 0, work.width, work.height);
  if (layers.map && layers.opacity > 0) {
    const pixels = workContext.getImageData(0, 0, work.width, work.height);
    blendAttention(pixels.data, layers.map.values, layers.colormap, layers.opacity);
    workContext.putImageData(pixels, 0, 0);
  }
  context.imageSmoothingEnabled = true;
  context.clearRect(0, 0, canvas.width, canvas.height);
  context.drawImage(work, 0, 0, canvas.width, canvas.height);
  const scale = canvas.width / layers.maskSize;
  for (const r of layers.rects) {
    context.fillStyle = 'rgba(128, 128, 128, 0.85)';
    context.fillRect(r.left * scale, r.top * scale, r.width * scale, r.height * scale);
    context.strokeStyle = '#ffffff';
    context.lineWidth = 2;
    context.strokeRect(r.left * scale + 1, r.top * scale + 1, r.width * scale - 2, r.height * scale - 2);
  }
  return true;
}
