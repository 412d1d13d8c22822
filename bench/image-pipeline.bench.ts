/**
 * Aligned 112×112 faces per second from JPEG (decode with sharp, five-point similarity warp,
 * normalisation), on 250×250 images like RFW's, one process. Target: ≥ 200 images/s on 2 cores.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { type FaceImage, loadAlignedImage } from '../main/data/index.ts';

const COUNT = 400;
const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-bench-images-'));
try {
  const images: FaceImage[] = [];
  for (let i = 0; i < 20; i++) {
    const pixels = Buffer.alloc(250 * 250 * 3);
    for (let p = 0; p < pixels.length; p++) pixels[p] = (p * 7 + i * 131 + ((p / 750) | 0) * 3) % 256;
    const file = path.join(dir, `face-${i}.jpg`);
    writeFileSync(
      file,
      await sharp(pixels, { raw: { width: 250, height: 250, channels: 3 } })
        .jpeg({ quality: 90 })
        .toBuffer(),
    );
    images.push({
      path: file,
      relative: file,
      identity: `id${i}`,
      group: 'g',
      landmarks: [95, 110, 155, 110, 125, 140, 100, 170, 150, 170],
    });
  }
  for (const image of images) await loadAlignedImage(image, 112);
  const start = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) await loadAlignedImage(images[i % images.length]!, 112);
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  console.log(
    `aligned 112x112 faces from 250x250 JPEG: ${(COUNT / seconds).toFixed(0)} images/s (${((seconds / COUNT) * 1e3).toFixed(2)} ms each, one after another)`,
  );
  const concurrentStart = process.hrtime.bigint();
  const queue = Array.from({ length: COUNT }, (_, i) => images[i % images.length]!);
  const workers = Array.from({ length: 4 }, async () => {
    while (queue.length > 0) await loadAlignedImage(queue.pop()!, 112);
  });
  await Promise.all(workers);
  const concurrent = Number(process.hrtime.bigint() - concurrentStart) / 1e9;
  console.log(
    `with 4 decodes in flight (sharp decodes off the main thread): ${(COUNT / concurrent).toFixed(0)} images/s; target >= 200/s`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
