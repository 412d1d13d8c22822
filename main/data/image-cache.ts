/**
 * A bounded cache of aligned, normalised faces, so that epochs and repeated audits do not decode and
 * align the same files again. Least recently used entries go first once `maxBytes` is reached.
 */
import type { FaceImage } from './dataset.ts';
import { loadAlignedImage } from './image.ts';

export class AlignedImageCache {
  private readonly entries = new Map<string, Float32Array>();
  private bytes = 0;
  hits = 0;
  misses = 0;

  constructor(readonly maxBytes = 512 * 2 ** 20) {}

  async get(image: FaceImage, size: number): Promise<Float32Array> {
    const key = `${size}:${image.path}`;
    const cached = this.entries.get(key);
    if (cached !== undefined) {
      this.hits++;
      this.entries.delete(key);
      this.entries.set(key, cached);
      return cached;
    }
    this.misses++;
    const value = await loadAlignedImage(image, size);
    this.entries.set(key, value);
    this.bytes += value.byteLength;
    for (const [oldKey, oldValue] of this.entries) {
      if (this.bytes <= this.maxBytes) break;
      this.entries.delete(oldKey);
      this.bytes -= oldValue.byteLength;
    }
    return value;
  }

  get size(): number {
    return this.entries.size;
  }

  get usedBytes(): number {
    return this.bytes;
  }
}
