/**
 * Draws one synthetic face as SVG in a 112-pixel canonical frame whose eyes, nose and mouth sit near
 * the ArcFace template, applies the pose, and rasterises it with sharp; then light, blur and sensor
 * noise. Returns the pixels and the five landmarks where they really are in the image.
 */
import sharp from 'sharp';
import { createPrng, normal, type Prng, uniform } from '../../base/random.ts';
import type { Landmarks } from '../dataset.ts';
import type { IdentityParams, Rgb } from './identity.ts';
import { withContrast } from './identity.ts';
import type { Nuisance } from './nuisance.ts';

const CX = 56;
const CY = 62;
const EYE_Y = 51.6963;

const rgb = (c: Rgb, factor = 1) =>
  `rgb(${c.map((v) => Math.max(0, Math.min(255, Math.round(v * factor)))).join(',')})`;
const f = (v: number) => v.toFixed(2);

export interface RenderedFace {
  readonly size: number;
  readonly pixels: Uint8Array;
  readonly landmarks: Landmarks;
}

/** The five landmarks in the canonical frame, before the pose. */
function canonicalLandmarks(id: IdentityParams, n: Nuisance): number[] {
  const shift = n.yaw * 5;
  const mouthY = EYE_Y + id.mouthHeight - n.smile * 2.5;
  return [
    CX - id.eyeSpacing + shift,
    EYE_Y + id.eyeTilt * 10,
    CX + id.eyeSpacing + shift,
    EYE_Y - id.eyeTilt * 10,
    CX + n.yaw * 8,
    EYE_Y + id.noseLength,
    CX - id.mouthWidth + shift,
    mouthY,
    CX + id.mouthWidth + shift,
    mouthY,
  ];
}

/** Applies the pose (rotation and scale about the face centre, then the shift) to a point. */
function posePoint(n: Nuisance, x: number, y: number): [number, number] {
  const a = (n.roll * Math.PI) / 180;
  const dx = (x - CX) * n.scale;
  const dy = (y - CY) * n.scale;
  return [
    CX + n.shiftX + Math.cos(a) * dx - Math.sin(a) * dy,
    CY + n.shiftY + Math.sin(a) * dx + Math.cos(a) * dy,
  ];
}

function faceOutline(id: IdentityParams, dx: number): string {
  const w = id.faceWidth;
  const h = id.faceHeight;
  const top = CY - h;
  const chin = CY + h;
  const chinHalf = w * (0.42 - 0.3 * id.jaw);
  const cx = CX + dx;
  return [
    `M ${f(cx)} ${f(top)}`,
    `C ${f(cx + w * 1.02)} ${f(top)} ${f(cx + w)} ${f(CY - h * 0.3)} ${f(cx + w * 0.98)} ${f(CY + h * 0.15)}`,
    `C ${f(cx + w * 0.95)} ${f(CY + h * 0.65)} ${f(cx + chinHalf)} ${f(chin)} ${f(cx)} ${f(chin)}`,
    `C ${f(cx - chinHalf)} ${f(chin)} ${f(cx - w * 0.95)} ${f(CY + h * 0.65)} ${f(cx - w * 0.98)} ${f(CY + h * 0.15)}`,
    `C ${f(cx - w)} ${f(CY - h * 0.3)} ${f(cx - w * 1.02)} ${f(top)} ${f(cx)} ${f(top)} Z`,
  ].join(' ');
}

function hair(id: IdentityParams, dx: number): { back: string; front: string } {
  if (id.hairStyle === 0) return { back: '', front: '' };
  const w = id.faceWidth;
  const h = id.faceHeight;
  const top = CY - h;
  const line = top + id.hairline;
  const cx = CX + dx;
  const colour = rgb(id.hair);
  const temple = CY - h * 0.15;
  const cap = (lift: number, fringe: number, part: number) =>
    `<path d="M ${f(cx - w - 2)} ${f(temple)} C ${f(cx - w - 3)} ${f(top - lift)} ${f(cx + w + 3)} ${f(top - lift)} ${f(cx + w + 2)} ${f(temple)} ` +
    `L ${f(cx + w - 1)} ${f(temple + 2)} C ${f(cx + w * 0.7)} ${f(line - 4)} ${f(cx + part)} ${f(line + fringe)} ${f(cx + part * 0.3)} ${f(line + fringe * 0.6)} ` +
    `C ${f(cx - w * 0.4)} ${f(line + fringe)} ${f(cx - w * 0.7)} ${f(line - 4)} ${f(cx - w + 1)} ${f(temple + 2)} Z" fill="${colour}"/>`;
  switch (id.hairStyle) {
    case 1:
      return { back: '', front: cap(3, 0, 0) };
    case 2:
      return { back: '', front: cap(5, 3, w * 0.45) };
    case 3:
      return { back: '', front: cap(5, 9, -w * 0.2) };
    case 4:
      return {
        back: `<path d="M ${f(cx - w - 5)} ${f(temple - 6)} L ${f(cx - w - 8)} ${f(CY + h * 1.1)} L ${f(cx + w + 8)} ${f(CY + h * 1.1)} L ${f(cx + w + 5)} ${f(temple - 6)} Z" fill="${colour}"/>`,
        front: cap(6, 4, w * 0.2),
      };
    default: {
      // curls: a cap plus a ring of circles along its edge
      const curls: string[] = [];
      for (let i = 0; i <= 14; i++) {
        const a = Math.PI * (1.02 + (0.96 * i) / 14);
        curls.push(
          `<circle cx="${f(cx + Math.cos(a) * (w + 1))}" cy="${f(CY - h * 0.35 + Math.sin(a) * (h * 0.75))}" r="4.2" fill="${colour}"/>`,
        );
      }
      return { back: '', front: cap(7, 0, 0) + curls.join('') };
    }
  }
}

function eye(
  id: IdentityParams,
  n: Nuisance,
  x: number,
  y: number,
  index: number,
  skin: Rgb,
  contrast: number,
): string {
  const rx = id.eyeSize;
  const ry = Math.max(0.8, rx * id.eyeOpen * (1 - 0.55 * n.squint));
  const white = withContrast([245, 245, 240], skin, Math.min(1, contrast + 0.25));
  const lid = withContrast([40, 30, 30], skin, contrast);
  const clip = `eye${index}`;
  return (
    `<clipPath id="${clip}"><ellipse cx="${f(x)}" cy="${f(y)}" rx="${f(rx)}" ry="${f(ry)}"/></clipPath>` +
    `<ellipse cx="${f(x)}" cy="${f(y)}" rx="${f(rx)}" ry="${f(ry)}" fill="${rgb(white)}"/>` +
    `<g clip-path="url(#${clip})"><circle cx="${f(x + n.yaw * 1.5)}" cy="${f(y)}" r="${f(rx * 0.5)}" fill="${rgb(id.iris)}"/>` +
    `<circle cx="${f(x + n.yaw * 1.5)}" cy="${f(y)}" r="${f(rx * 0.22)}" fill="${rgb(lid, 0.6)}"/></g>` +
    `<path d="M ${f(x - rx * 1.1)} ${f(y + 0.5)} Q ${f(x)} ${f(y - ry * 1.9)} ${f(x + rx * 1.1)} ${f(y + 0.5)}" stroke="${rgb(lid)}" stroke-width="1.1" fill="none"/>`
  );
}

export function faceSvg(id: IdentityParams, n: Nuisance, contrast: number, seed: number): string {
  const skin = id.skin;
  const p = canonicalLandmarks(id, n);
  const shift = n.yaw * 5;
  const outlineShift = n.yaw * 2;
  const [lx, ly, rx, ry, nx, ny, mlx, mly, mrx] = p as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const dark = withContrast([60, 40, 35], skin, contrast);
  const shade = withContrast(skin.map((v) => v * 0.72) as unknown as Rgb, skin, 1);
  const brow = withContrast(id.hair, skin, 1);
  const brows = [-1, 1]
    .map((side) => {
      const ex = side < 0 ? lx : rx;
      const ey = (side < 0 ? ly : ry) - id.browGap - n.browRaise * 2.5;
      return `<path d="M ${f(ex - 7.5)} ${f(ey + 1.2)} Q ${f(ex + side * 0.5)} ${f(ey - id.browArch)} ${f(ex + 7.5)} ${f(ey + 1.2)}" stroke="${rgb(brow)}" stroke-width="${f(id.browThickness)}" stroke-linecap="round" fill="none"/>`;
    })
    .join('');
  const mouthY = mly;
  const lip = id.lipThickness;
  const open = n.mouthOpen * 5;
  const mouth =
    (open > 0.8
      ? `<ellipse cx="${f(CX + shift)}" cy="${f(mouthY + open * 0.45)}" rx="${f(id.mouthWidth * 0.8)}" ry="${f(open * 0.6)}" fill="${rgb(dark, 0.6)}"/>`
      : '') +
    `<path d="M ${f(mlx)} ${f(mouthY)} Q ${f(CX + shift - id.mouthWidth * 0.4)} ${f(mouthY - lip * 1.1)} ${f(CX + shift)} ${f(mouthY - lip * 0.6)} Q ${f(CX + shift + id.mouthWidth * 0.4)} ${f(mouthY - lip * 1.1)} ${f(mrx)} ${f(mouthY)} Q ${f(CX + shift)} ${f(mouthY + 0.6 + n.smile * 1.5)} ${f(mlx)} ${f(mouthY)} Z" fill="${rgb(id.lips)}"/>` +
    `<path d="M ${f(mlx)} ${f(mouthY + 0.2)} Q ${f(CX + shift)} ${f(mouthY + lip * 1.5 + open + n.smile * 1.5)} ${f(mrx)} ${f(mouthY + 0.2)} Q ${f(CX + shift)} ${f(mouthY + open + 1 + n.smile * 1.5)} ${f(mlx)} ${f(mouthY + 0.2)} Z" fill="${rgb(id.lips, 1.08)}"/>` +
    `<path d="M ${f(mlx)} ${f(mouthY)} Q ${f(CX + shift)} ${f(mouthY + 1 + n.smile * 2.5 + open * 0.3)} ${f(mrx)} ${f(mouthY)}" stroke="${rgb(dark, 0.8)}" stroke-width="0.8" fill="none"/>`;
  const nose =
    `<path d="M ${f(CX + shift - 1.5)} ${f(EYE_Y + 4)} Q ${f(nx - id.noseWidth * 0.35)} ${f(ny - 6)} ${f(nx - id.noseWidth * 0.55)} ${f(ny)}" stroke="${rgb(shade)}" stroke-width="1.2" fill="none"/>` +
    `<path d="M ${f(nx - id.noseWidth)} ${f(ny + 1)} Q ${f(nx)} ${f(ny + 4)} ${f(nx + id.noseWidth)} ${f(ny + 1)}" stroke="${rgb(shade)}" stroke-width="1.4" fill="none"/>` +
    `<ellipse cx="${f(nx - id.noseWidth * 0.45)}" cy="${f(ny + 1.8)}" rx="1.4" ry="0.9" fill="${rgb(dark, 0.8)}"/>` +
    `<ellipse cx="${f(nx + id.noseWidth * 0.45)}" cy="${f(ny + 1.8)}" rx="1.4" ry="0.9" fill="${rgb(dark, 0.8)}"/>`;
  const marks: string[] = id.moles.map(
    (m) =>
      `<circle cx="${f(CX + m.x + shift * 0.6)}" cy="${f(CY + m.y)}" r="${f(m.r)}" fill="${rgb(withContrast([70, 45, 35], skin, contrast))}"/>`,
  );
  if (id.freckles) {
    const spots: Prng = createPrng(seed);
    for (let i = 0; i < 18; i++) {
      const side = i % 2 === 0 ? -1 : 1;
      marks.push(
        `<circle cx="${f(CX + shift + side * uniform(spots, 8, 20))}" cy="${f(EYE_Y + uniform(spots, 7, 17))}" r="0.55" fill="${rgb(withContrast([150, 90, 60], skin, contrast))}"/>`,
      );
    }
  }
  // A beard is the face's own outline below the mouth, in the hair colour.
  const beard =
    id.beard > 0
      ? `<clipPath id="beard"><rect x="0" y="${f(mouthY - 5)}" width="112" height="80"/></clipPath><path d="${faceOutline(id, outlineShift)}" clip-path="url(#beard)" fill="${rgb(id.hair)}" opacity="${f(id.beard)}"/>`
      : '';
  const glasses = id.glasses
    ? `<g stroke="${rgb(withContrast([25, 25, 30], skin, Math.min(1, contrast + 0.3)))}" stroke-width="1.3" fill="none"><rect x="${f(lx - 9)}" y="${f(ly - 6)}" width="18" height="12" rx="4"/><rect x="${f(rx - 9)}" y="${f(ry - 6)}" width="18" height="12" rx="4"/><path d="M ${f(lx + 9)} ${f(ly - 1)} Q ${f((lx + rx) / 2)} ${f(ly - 4)} ${f(rx - 9)} ${f(ry - 1)}"/></g>`
    : '';
  const occlusion = occluder(n, lx, ly, rx, ry, mouthY, id);
  const { back, front } = hair(id, outlineShift);
  const ears = [-1, 1]
    .map(
      (side) =>
        `<ellipse cx="${f(CX + outlineShift + side * (id.faceWidth * 0.98))}" cy="${f(EYE_Y + 8)}" rx="3.6" ry="${f(id.earSize)}" fill="${rgb(skin, 0.9)}"/>`,
    )
    .join('');
  const a = (n.lightAngle * Math.PI) / 180;
  const transform = `translate(${f(CX + n.shiftX)} ${f(CY + n.shiftY)}) rotate(${f(n.roll)}) scale(${f(n.scale)}) translate(${-CX} ${-CY})`;
  return (
    '<svg xmlns="http://www.w3.org/2000/svg" width="112" height="112" viewBox="0 0 112 112">' +
    `<defs><radialGradient id="skin" cx="${f(0.5 + n.yaw * 0.1)}" cy="0.42" r="0.62"><stop offset="0" stop-color="${rgb(skin, 1.04)}"/><stop offset="0.75" stop-color="${rgb(skin)}"/><stop offset="1" stop-color="${rgb(skin, 0.8)}"/></radialGradient>` +
    `<linearGradient id="light" x1="${f(0.5 - Math.cos(a) / 2)}" y1="${f(0.5 - Math.sin(a) / 2)}" x2="${f(0.5 + Math.cos(a) / 2)}" y2="${f(0.5 + Math.sin(a) / 2)}"><stop offset="0" stop-color="#fff" stop-opacity="${f(n.lightStrength)}"/><stop offset="0.5" stop-color="#fff" stop-opacity="0"/><stop offset="1" stop-color="#000" stop-opacity="${f(n.lightStrength)}"/></linearGradient></defs>` +
    `<rect width="112" height="112" fill="${rgb(id.backdrop)}"/>` +
    `<g transform="${transform}">${back}` +
    `<rect x="${f(CX - id.faceWidth * 0.55 + outlineShift)}" y="${f(CY + id.faceHeight * 0.5)}" width="${f(id.faceWidth * 1.1)}" height="60" fill="${rgb(skin, 0.82)}"/>` +
    `<path d="M ${f(CX - 60)} 140 Q ${f(CX)} ${f(CY + id.faceHeight + 4)} ${f(CX + 60)} 140 Z" fill="${rgb(withContrast([70, 80, 110], skin, 0.9))}"/>` +
    `${ears}<path d="${faceOutline(id, outlineShift)}" fill="url(#skin)"/>${marks.join('')}${beard}${nose}` +
    `${eye(id, n, lx, ly, 0, skin, contrast)}${eye(id, n, rx, ry, 1, skin, contrast)}${brows}${mouth}${front}${glasses}${occlusion}</g>` +
    '<rect width="112" height="112" fill="url(#light)"/></svg>'
  );
}

function occluder(
  n: Nuisance,
  lx: number,
  ly: number,
  rx: number,
  ry: number,
  mouthY: number,
  id: IdentityParams,
): string {
  switch (n.occlusion) {
    case 'sunglasses':
      return `<g fill="rgb(20,20,25)"><ellipse cx="${f(lx)}" cy="${f(ly)}" rx="9" ry="6.5"/><ellipse cx="${f(rx)}" cy="${f(ry)}" rx="9" ry="6.5"/><rect x="${f(lx)}" y="${f(ly - 2)}" width="${f(rx - lx)}" height="1.6"/></g>`;
    case 'scarf':
      return `<path d="M ${f(CX - id.faceWidth - 4)} ${f(mouthY - 6)} Q ${f(CX)} ${f(mouthY - 10)} ${f(CX + id.faceWidth + 4)} ${f(mouthY - 6)} L ${f(CX + id.faceWidth + 8)} 120 L ${f(CX - id.faceWidth - 8)} 120 Z" fill="rgb(150,40,50)"/>`;
    case 'hand':
      return `<ellipse cx="${f(n.blockX)}" cy="${f(n.blockY)}" rx="13" ry="9" fill="${rgb(id.skin, 0.95)}" transform="rotate(25 ${f(n.blockX)} ${f(n.blockY)})"/>`;
    case 'block':
      return `<rect x="${f(n.blockX - 9)}" y="${f(n.blockY - 9)}" width="18" height="18" fill="rgb(${Math.round(n.blockX * 2)},${Math.round(n.blockY * 2)},120)"/>`;
    default:
      return '';
  }
}

/** Renders a face at `size` pixels. `prng` supplies the sensor noise. */
export async function renderFace(
  id: IdentityParams,
  n: Nuisance,
  contrast: number,
  size: number,
  seed: number,
  prng: Prng,
): Promise<RenderedFace> {
  const svg = faceSvg(id, n, contrast, seed);
  let pipeline = sharp(Buffer.from(svg), { density: (72 * size) / 112 })
    .resize(size, size)
    .removeAlpha();
  if (n.blur > 0) pipeline = pipeline.blur(Math.max(0.3, (n.blur * size) / 112));
  pipeline = pipeline.linear(n.contrast * n.brightness, 128 * (1 - n.contrast) * n.brightness);
  const { data } = await pipeline.raw().toBuffer({ resolveWithObject: true });
  const pixels = new Uint8Array(data.length);
  for (let i = 0; i < data.length; i++) {
    pixels[i] = Math.max(0, Math.min(255, Math.round(data[i]! + n.noise * normal(prng))));
  }
  const scale = size / 112;
  const canonical = canonicalLandmarks(id, n);
  const landmarks: number[] = [];
  for (let i = 0; i < 5; i++) {
    const [x, y] = posePoint(n, canonical[2 * i]!, canonical[2 * i + 1]!);
    // SVG coordinates address pixel corners; image pixel centres sit at +0.5.
    landmarks.push(x * scale - 0.5, y * scale - 0.5);
  }
  return { size, pixels, landmarks: landmarks as unknown as Landmarks };
}
