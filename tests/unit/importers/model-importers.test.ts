/**
 * The importers of insightface ONNX files, arcface_torch state dicts and TensorFlow.js graph models
 * refuse malformed and hostile input with a GabnError that says what and where (a truncated file, an
 * unknown op with its node, a pickle that asks for code), never run anything, and through the CLI
 * give checkpoints whose `gabn embed` embeddings equal PyTorch's.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { zipSync } from 'fflate';
import onnxProto from 'onnx-proto';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { embedCommand } from '../../../main/cli/embed.ts';
import { importOnnxCommand, importPytorchCommand } from '../../../main/cli/import-model.ts';
import { loadEngine, tf } from '../../../main/engine/index.ts';
import { importIResNet } from '../../../main/models/importers/iresnet-import.ts';
import { mapStateDict } from '../../../main/models/importers/iresnet-state-dict.ts';
import { readStateDictPickle } from '../../../main/models/importers/pickle.ts';
import { readPytorchStateDict } from '../../../main/models/importers/pytorch.ts';
import { readSafetensors } from '../../../main/models/importers/safetensors.ts';
import { forward, iresnetLayout } from '../../../main/models/iresnet.ts';
import { paramsFromValues } from '../../../main/models/parameters.ts';

const FIXTURES = path.join(import.meta.dirname, '..', '..', 'golden', 'fixtures', 'imports');
const R18 = path.join(FIXTURES, 'iresnet18-w0.0625');
const tmp = mkdtempSync(path.join(os.tmpdir(), 'gabn-importers-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

function caught(fn: () => unknown): GabnError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(GabnError);
    return error as GabnError;
  }
  throw new Error('expected a GabnError');
}

async function rejected(promise: Promise<unknown>): Promise<GabnError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(GabnError);
  return error as GabnError;
}

const latin = (s: string) => Array.from(s, (c) => c.charCodeAt(0));
/** A pickle: PROTO 2, the given opcodes, STOP. */
const pickle = (...parts: number[][]) => new Uint8Array([0x80, 2, ...parts.flat(), 0x2e]);
const global = (module: string, name: string) => [0x63, ...latin(`${module}\n${name}\n`)];
const text = (s: string) => [0x8c, s.length, ...latin(s)];

describe('the restricted unpickler runs nothing', () => {
  const marker = path.join(tmp, 'pwned');
  it('refuses GLOBAL os.system with REDUCE, naming the function', () => {
    const hostile = pickle(global('os', 'system'), text(`touch ${marker}`), [0x85, 0x52]);
    const error = caught(() => readStateDictPickle(hostile, 'evil.pkl'));
    expect(error.message).toMatch(/asks for code: GLOBAL os\.system \(byte 2\); nothing was run/);
    expect(error.file).toBe('evil.pkl');
    expect(existsSync(marker)).toBe(false);
  });
  it('refuses builtins.eval, a pickled model class and REDUCE of a storage type', () => {
    expect(caught(() => readStateDictPickle(pickle(global('builtins', 'eval')), 'x')).message).toMatch(
      /GLOBAL builtins\.eval/,
    );
    expect(
      caught(() => readStateDictPickle(pickle(global('backbones.iresnet', 'IResNet')), 'x')).message,
    ).toMatch(/GLOBAL backbones\.iresnet\.IResNet/);
    const storageCall = pickle(global('torch', 'FloatStorage'), [0x29, 0x52]);
    expect(caught(() => readStateDictPickle(storageCall, 'x')).message).toMatch(/REDUCE torch\.FloatStorage/);
  });
  it('refuses object-building opcodes and unknown opcodes', () => {
    expect(caught(() => readStateDictPickle(pickle([0x28, 0x81]), 'x')).message).toMatch(
      /asks for code: NEWOBJ/,
    );
    expect(caught(() => readStateDictPickle(pickle([0xff]), 'x')).message).toMatch(
      /unknown pickle opcode 0xff/,
    );
    expect(caught(() => readStateDictPickle(new Uint8Array([0x80, 2, 0x8c, 9, 0x61]), 'x')).message).toMatch(
      /ends in the middle/,
    );
  });
  it('a state dict archive whose data.pkl asks for code is refused', () => {
    const zip = zipSync({ 'archive/data.pkl': pickle(global('posix', 'system'), text('id'), [0x85, 0x52]) });
    expect(caught(() => readPytorchStateDict(zip, 'evil.pth')).message).toMatch(/GLOBAL posix\.system/);
  });
  it('reads what torch.save wrote: every tensor of the fixture', () => {
    const read = readPytorchStateDict(readFileSync(`${R18}.pth`), 'r18.pth');
    expect(read.tensors.get('conv1.weight')!.shape).toEqual([4, 3, 3, 3]);
    expect(read.storageTypes.FloatStorage).toBeGreaterThan(50);
  });
});

describe('damaged files are refused with what is wrong', () => {
  it('a truncated .pth', () => {
    const bytes = readFileSync(`${R18}.pth`);
    const error = caught(() => readPytorchStateDict(bytes.subarray(0, bytes.length - 5000), 'cut.pth'));
    expect(error.message).toMatch(/damaged or truncated/);
  });
  it('a legacy or foreign file given as .pth', () => {
    expect(caught(() => readPytorchStateDict(new Uint8Array([0x80, 2, 0x8a]), 'old.pth')).message).toMatch(
      /legacy/,
    );
    expect(caught(() => readPytorchStateDict(new TextEncoder().encode('hello'), 'x.pth')).message).toMatch(
      /not a zip/,
    );
  });
  it('a truncated .safetensors and a header that overruns the data', () => {
    const bytes = readFileSync(`${R18}.safetensors`);
    expect(
      caught(() => readSafetensors(bytes.subarray(0, bytes.length - 100), 'cut.safetensors')).message,
    ).toMatch(/tensor '.*' spans bytes/);
    const header = Buffer.alloc(8);
    header.writeBigUInt64LE(10_000n);
    expect(caught(() => readSafetensors(header, 'h.safetensors')).message).toMatch(
      /header claims 10000 bytes/,
    );
  });
  it('a truncated .onnx', async () => {
    const bytes = readFileSync(`${R18}.onnx`);
    const file = path.join(tmp, 'cut.onnx');
    writeFileSync(file, bytes.subarray(0, bytes.length - 3000));
    const error = await rejected(importIResNet(file, 'onnx'));
    expect(error.message).toMatch(/not a readable ONNX model|holds .* values for shape/);
    expect(error.file).toBe(file);
  });
});

/** The fixture ONNX with one node changed. */
function editedOnnx(name: string, edit: (nodes: onnxProto.onnx.INodeProto[]) => void): string {
  const model = onnxProto.onnx.ModelProto.decode(readFileSync(`${R18}-unfolded.onnx`));
  edit(model.graph!.node!);
  const file = path.join(tmp, name);
  writeFileSync(file, onnxProto.onnx.ModelProto.encode(model).finish());
  return file;
}

describe('ONNX graphs the importer does not know', () => {
  it('an unknown op is named with its node', async () => {
    const file = editedOnnx('softsign.onnx', (nodes) => {
      nodes.find((n) => n.name === '/layer2/layer2.1/prelu/PRelu')!.opType = 'Softsign';
    });
    const error = await rejected(importIResNet(file, 'onnx'));
    expect(error.message).toContain(
      "node '/layer2/layer2.1/prelu/PRelu' (op Softsign): the importer does not know this op",
    );
  });
  it('a layout that is not an iResNet names the node where it departs', async () => {
    const file = editedOnnx('no-stride.onnx', (nodes) => {
      const conv = nodes.find((n) => n.name === '/layer2/layer2.0/downsample/downsample.0/Conv')!;
      for (const a of conv.attribute!) if (a.name === 'strides') a.ints = [1, 1];
    });
    const error = await rejected(importIResNet(file, 'onnx'));
    expect(error.message).toMatch(
      /node '\/layer2\/layer2\.0\/downsample\/downsample\.0\/Conv' \(op Conv\) stands where/,
    );
  });
});

describe('state dicts are checked tensor by tensor', () => {
  async function withDict(name: string, edit: (header: Record<string, unknown>) => void): Promise<GabnError> {
    const bytes = readFileSync(`${R18}.safetensors`);
    const length = Number(bytes.readBigUInt64LE(0));
    const header = JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')) as Record<string, unknown>;
    edit(header);
    const text = Buffer.from(JSON.stringify(header));
    const size = Buffer.alloc(8);
    size.writeBigUInt64LE(BigInt(text.length));
    const file = path.join(tmp, name);
    writeFileSync(file, Buffer.concat([size, text, bytes.subarray(8 + length)]));
    return rejected(importIResNet(file, 'pytorch'));
  }
  it('a missing tensor', async () => {
    const error = await withDict('missing.safetensors', (h) => {
      delete h['layer3.1.prelu.weight'];
    });
    expect(error.message).toContain("the state dict has no 'layer3.1.prelu.weight'");
  });
  it('an unexpected tensor', () => {
    const dict = new Map(readPytorchStateDict(readFileSync(`${R18}.pth`), 'r18.pth').tensors);
    dict.set('head.weight', { shape: [2, 16], values: new Float32Array(32) });
    const error = caught(() => mapStateDict(dict, { file: 'extra.pth' }));
    expect(error.message).toContain('holds tensor(s) iresnet18-w0.0625-e16 does not have: head.weight');
  });
  it('a tensor of the wrong shape', async () => {
    const error = await withDict('shape.safetensors', (h) => {
      (h['layer1.0.conv1.weight'] as { shape: number[] }).shape = [4, 4, 9, 1];
    });
    expect(error.message).toMatch(
      /tensor 'layer1\.0\.conv1\.weight' has shape \[4, 4, 9, 1\], .* expects \[4, 4, 3, 3\]/,
    );
  });
});

async function cli(command: typeof embedCommand, args: string[]): Promise<string> {
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (c: Buffer) => chunks.push(c));
  await command.run(args, { signal: new AbortController().signal, stdout, stderr: new PassThrough() });
  return Buffer.concat(chunks).toString('utf8');
}

describe('gabn import, then gabn embed, equals PyTorch', () => {
  const fixture = JSON.parse(readFileSync(path.join(FIXTURES, 'imports.json'), 'utf8'));
  const decode = (t: { data: string }) => {
    const b = Buffer.from(t.data, 'base64');
    return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
  };
  it('iresnet50 from .pth and from ONNX, raw embeddings of two 112-pixel images', async () => {
    const size = fixture.inputSize as number;
    const pixels = Buffer.from(fixture.pixels, 'base64');
    const rows = ['path,identity,group'];
    for (let i = 0; i < 2; i++) {
      const file = path.join(tmp, `face${i}.png`);
      await sharp(pixels.subarray(i * size * size * 3, (i + 1) * size * size * 3), {
        raw: { width: size, height: size, channels: 3 },
      })
        .png()
        .toFile(file);
      rows.push(`face${i}.png,person${i},group-a`);
    }
    const manifest = path.join(tmp, 'faces.csv');
    writeFileSync(manifest, `${rows.join('\n')}\n`);
    const model = fixture.models['iresnet50-w0.0625'];
    const expected = decode(model.references.arcface.embeddings);
    for (const [command, source] of [
      [importPytorchCommand, 'iresnet50-w0.0625.pth'],
      [importOnnxCommand, 'iresnet50-w0.0625.onnx'],
    ] as const) {
      const out = path.join(tmp, `${source}.gabn`);
      const printed = await cli(command, [
        path.join(FIXTURES, source),
        '--out',
        out,
        ...(source.endsWith('.pth') ? ['--arch', 'r50'] : []),
      ]);
      expect(printed).toContain('iresnet50-w0.0625-e16');
      const npy = path.join(tmp, `${source}.npy`);
      await cli(embedCommand, ['--checkpoint', out, '--data', manifest, '--out', npy, '--raw']);
      const bytes = readFileSync(npy);
      const headerLength = bytes.readUInt16LE(8);
      expect(bytes.subarray(10, 10 + headerLength).toString()).toMatch(
        /'descr': '<f4', 'fortran_order': False, 'shape': \(2, 16\)/,
      );
      const values = new Float32Array(
        bytes.buffer.slice(bytes.byteOffset + 10 + headerLength, bytes.byteOffset + bytes.length),
      );
      const scale = Math.max(...expected.map(Math.abs));
      const diff = Math.max(...values.map((v, i) => Math.abs(v - expected[i]!)));
      expect(diff / scale, source).toBeLessThanOrEqual(1e-4);
      const side = JSON.parse(readFileSync(`${npy}.json`, 'utf8'));
      expect(side.images.map((i: { path: string }) => i.path)).toEqual(['face0.png', 'face1.png']);
      // A second import to the same place is refused without --force.
      const again = await rejected(cli(command, [path.join(FIXTURES, source), '--out', out]));
      expect(again.message).toMatch(/already exists/);
    }
  });
});

describe('the input normalisation is folded into conv1', () => {
  it('a BGR network sees the channels reversed; a mean other than 127.5 is refused', async () => {
    await loadEngine({ backend: 'cpu' });
    const rgb = await importIResNet(`${R18}.pth`, 'pytorch');
    const bgr = await importIResNet(`${R18}.pth`, 'pytorch', { normalisation: { colour: 'BGR' } });
    const net = (values: Map<string, Float32Array>) => ({
      spec: rgb.spec,
      params: paramsFromValues(iresnetLayout(rgb.spec), values),
    });
    const x = tf.randomUniform([1, 112, 112, 3], -1, 1, 'float32', 5) as tf.Tensor4D;
    const fromBgr = forward(net(bgr.values), x, { training: false }).dataSync();
    const fromRgb = forward(net(rgb.values), tf.reverse(x, 3) as tf.Tensor4D, { training: false }).dataSync();
    for (let i = 0; i < fromRgb.length; i++) expect(fromBgr[i]).toBeCloseTo(fromRgb[i]!, 5);
    expect(bgr.provenance.preprocessing).toMatchObject({ colour: 'BGR', from: 'given on import (colour)' });
    const error = await rejected(
      importIResNet(`${R18}.pth`, 'pytorch', { normalisation: { mean: [0, 0, 0] } }),
    );
    expect(error.message).toContain(
      'an input mean of [0, 0, 0] cannot be folded into the first convolution exactly',
    );
  });
});
