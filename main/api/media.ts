/**
 * Media under `media/...`, the same paths in both hosts (HTTP in the browser host, the app protocol in
 * Electron), so the renderer builds one URL for an image whatever it runs in:
 *
 *   media/image/<dataset>/<image>[?aligned=N]     the image as stored, or aligned at N px (PNG)
 *   media/gam/<checkpoint>/<dataset>/<image>.png  its attention overlay (?method, colormap, opacity),
 *                                                 kept in an in-memory LRU
 *   media/run/<job>/<file>                        a file of a job's run directory (contained in it)
 *   media/report/<report>.html[?faces=0]          a report as the HTML the app shows (its own CSP:
 *                                                 no script, images inline), faces left out on request
 */
import sharp from 'sharp';
import { GabnError } from '../base/errors.ts';
import { encodePng } from '../report/figures/attention-figures.ts';
import { type ColormapName, overlayAttention, parseColormapName } from '../report/figures/colormap.ts';
import type { AttributionMethod, ImageBytes } from './contract.ts';
import { LruCache } from './lru.ts';
import type { HostedService } from './service.ts';
import { validateArgument } from './validation.ts';

export interface MediaServer {
  /** `segments`: the path after `media/`, split on '/' and percent-decoded. */
  get(segments: readonly string[], query: URLSearchParams): Promise<ImageBytes>;
}

export function createMediaServer(service: HostedService, overlayEntries = 256): MediaServer {
  const overlays = new LruCache<string, ImageBytes>(overlayEntries);

  async function overlay(parts: readonly string[], query: URLSearchParams): Promise<ImageBytes> {
    const [checkpointId, datasetId, imageText] = parts;
    const method = (query.get('method') ?? 'gam') as AttributionMethod;
    const colormap: ColormapName = parseColormapName(query.get('colormap') ?? 'inferno');
    const opacity = Number(query.get('opacity') ?? '0.6');
    if (!(opacity >= 0 && opacity <= 1)) {
      throw new GabnError('usage', `opacity ${query.get('opacity')}`, { expected: 'a number in [0, 1]' });
    }
    const request = validateArgument('computeAttribution', {
      checkpointId,
      datasetId,
      imageId: Number(imageText?.replace(/\.png$/, '')),
      method,
    });
    const key = `${request.checkpointId}|${request.datasetId}|${request.imageId}|${method}|${colormap}|${opacity}`;
    const cached = overlays.get(key);
    if (cached) return cached;
    const map = await service.computeAttribution(request);
    const face = await service.readImage({
      datasetId: request.datasetId,
      imageId: request.imageId,
      aligned: map.width,
    });
    const { data } = await sharp(Buffer.from(face.base64, 'base64'))
      .removeAlpha()
      .raw()
      .toBuffer({ resolveWithObject: true });
    const raw = Buffer.from(map.values, 'base64');
    const values = new Float32Array(raw.buffer, raw.byteOffset, raw.byteLength / 4);
    const pixels = overlayAttention(new Uint8Array(data), values, colormap, opacity);
    const png = await encodePng({ width: map.width, height: map.height, pixels });
    const result: ImageBytes = {
      mime: 'image/png',
      base64: png.toString('base64'),
      etag: `${face.etag}-${method}-${colormap}-${opacity}`,
    };
    overlays.set(key, result);
    return result;
  }

  return {
    async get(segments, query) {
      const [kind, ...parts] = segments;
      if (kind === 'image') {
        const aligned = query.get('aligned');
        return service.readImage(
          validateArgument('readImage', {
            datasetId: parts[0],
            imageId: Number(parts[1]),
            ...(aligned === null ? {} : { aligned: Number(aligned) }),
          }),
        );
      }
      if (kind === 'gam') return overlay(parts, query);
      if (kind === 'report') {
        const file = await service.call(
          'exportReport',
          validateArgument('exportReport', {
            reportId: String(parts[0] ?? '').replace(/\.html$/, ''),
            format: 'html',
            noFaces: query.get('faces') === '0',
          }),
        );
        return { mime: file.mime, base64: file.base64, etag: file.etag };
      }
      if (kind === 'run') {
        return service.readRunFile(
          validateArgument('readRunFile', { jobId: parts[0], file: parts.slice(1).join('/') }),
        );
      }
      throw new GabnError('missing-file', `no media '${String(kind).slice(0, 40)}'`, {
        expected: 'image, gam, run or report',
      });
    },
  };
}
