/**
 * Datasets: RFW (test), BUPT (training), manifest and pairs CSVs, all loaded into one model
 * (dataset.ts); the image pipeline (decode, five-point alignment, normalisation, flip, cache); and the
 * dataset check behind `gabn data check`.
 */
export { ARCFACE_TEMPLATE, alignFace, similarityTransform, templateFor, warpAffine } from './align.ts';
export { loadBupt } from './bupt.ts';
export { checkDataset, type DatasetCheck } from './check.ts';
export type { Dataset, DatasetFormat, DatasetProblem, FaceImage, FacePair, Landmarks } from './dataset.ts';
export { formatProblem } from './dataset.ts';
export { alignedPixels, decodeImage, flipHorizontal, loadAlignedImage, normalisePixels } from './image.ts';
export { AlignedImageCache } from './image-cache.ts';
export { detectFormat, loadDataset } from './load-dataset.ts';
export { loadManifestCsv } from './manifest-csv.ts';
export { loadPairsCsv } from './pairs-csv.ts';
export { loadRfw } from './rfw.ts';
