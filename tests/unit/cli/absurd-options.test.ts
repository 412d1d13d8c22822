/**
 * Absurd option values are refused with their valid range before any work starts, and a job whose
 * estimate is enormous says so before it starts: the commands called as `gabn` calls them, with
 * their output captured.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GabnError } from '../../../main/base/errors.ts';
import { createPrng } from '../../../main/base/random.ts';
import { ablateCommand } from '../../../main/cli/ablate.ts';
import { auditCommand } from '../../../main/cli/audit.ts';
import type { CliCommand, CliContext } from '../../../main/cli/command.ts';
import { gamCommand } from '../../../main/cli/gam.ts';
import { serveCommand } from '../../../main/cli/serve.ts';
import { synthCommand } from '../../../main/cli/synth.ts';
import { trainCommand } from '../../../main/cli/train.ts';
import { DEFAULT_PROTOCOL, prepareAudit } from '../../../main/eval/audit-figures.ts';
import { bootstrapFigures } from '../../../main/eval/bootstrap.ts';
import { parseScoresCsv } from '../../../main/eval/scores-csv.ts';
import {
  longBootstrapEstimate,
  secondsPerResample,
} from '../../../main/usecases/audit/bootstrap-estimate.ts';

function capture(): { stream: Writable; text: () => string } {
  let text = '';
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

async function refusal(command: CliCommand, args: string[]): Promise<GabnError> {
  const context: CliContext = {
    signal: new AbortController().signal,
    stdout: capture().stream,
    stderr: capture().stream,
  };
  try {
    await command.run(args, context);
  } catch (error) {
    if (error instanceof GabnError) return error;
    throw error;
  }
  throw new Error(`gabn ${command.path.join(' ')} ${args.join(' ')} was not refused`);
}

/** An RFW-sized scores file: 4 groups × 6000 pairs in 10 folds of 300 + 300. */
function scoresText(): string {
  const random = createPrng(7);
  const lines = ['group,same,score'];
  for (const group of ['a', 'b', 'c', 'd']) {
    for (let i = 0; i < 6000; i++) {
      const same = Math.floor(i / 300) % 2 === 0;
      lines.push(`${group},${same ? 1 : 0},${((same ? 0.4 : 0) + random.next() * 0.5).toFixed(4)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

describe('absurd option values', () => {
  it('are refused with their valid range, naming the option', async () => {
    const cases: [CliCommand, string[], RegExp][] = [
      [
        auditCommand,
        ['--scores', 'x.csv', '--out', 'r.json', '--bootstrap', '1e12'],
        /--bootstrap 1000000000000 is out of range.*\[0, 1000000\]/,
      ],
      [auditCommand, ['--scores', 'x.csv', '--out', 'r.json', '--bootstrap', '1e8'], /\[0, 1000000\]/],
      [auditCommand, ['--scores', 'x.csv', '--out', 'r.json', '--bootstrap', '2.5'], /out of range/],
      [auditCommand, ['--scores', 'x.csv', '--out', 'r.json', '--attention-images', '1e9'], /\[0, 10000\]/],
      [auditCommand, ['--scores', 'x.csv', '--out', 'r.json', '--seed', '0.5'], /--seed must be an integer/],
      [auditCommand, ['--scores', 'x.csv', '--out', 'r.json', '--bootstrap', 'Infinity'], /must be a number/],
      [
        synthCommand,
        ['--out', 'x', '--ids', '1e9'],
        /--ids 1000000000: at least 20 test identities per group .* at most 10000/,
      ],
      [synthCommand, ['--out', 'x', '--train-ids', '1e12'], /between 0 and 100000 training identities/],
      [
        synthCommand,
        ['--out', 'x', '--ids', '10000', '--images', '9999'],
        /399,961,600 images in all.*more than the 10,000,000/,
      ],
      [synthCommand, ['--out', 'x', '--train-mix', 'a:1e400'], /not a group share/],
      [
        trainCommand,
        ['--preset', 'gabn', '--data', 'x', '--out', 'y', '--epochs', '1e12'],
        /epochs is 1000000000000 \(expected an integer in \[1, 10000\]\)/,
      ],
      [
        trainCommand,
        ['--preset', 'gabn', '--data', 'x', '--out', 'y', '--set', 'batchSize=1e9'],
        /batchSize is 1000000000 \(expected an integer in \[2, 100000\]\)/,
      ],
      [
        ablateCommand,
        ['--data', 'x', '--val', 'y', '--out', 'z', '--bootstrap', '1e12'],
        /--bootstrap 1000000000000 .*\[1, 1000000\]/,
      ],
      [
        ablateCommand,
        ['--data', 'x', '--val', 'y', '--out', 'z', '--seeds', '1e9'],
        /--seeds 1000000000 .*\[1, 100\]/,
      ],
      [
        gamCommand,
        ['--checkpoint', 'c', '--data', 'd', '--out', 'o', '--opacity', '7'],
        /--opacity 7 is not in \[0, 1\]/,
      ],
      [
        gamCommand,
        ['--checkpoint', 'c', '--data', 'd', '--out', 'o', '--limit', '0.5'],
        /--limit 0.5 is not a positive integer/,
      ],
      [serveCommand, ['--port', '1e6'], /--port 1000000 \(expected an integer in \[0, 65535\]\)/],
    ];
    for (const [command, args, expected] of cases) {
      const error = await refusal(command, args);
      expect(error.kind, args.join(' ')).toMatch(/usage|config/);
      expect(error.message, args.join(' ')).toMatch(expected);
    }
  });
});

describe('an enormous bootstrap', () => {
  it('is estimated from timed resamples of the audit itself, in proportion to what a bootstrap takes', async () => {
    const audit = prepareAudit(parseScoresCsv(scoresText(), 's.csv').groups, DEFAULT_PROTOCOL);
    // The least of three of each, taken in turn: a shared machine's load only ever adds time.
    let measured = Number.POSITIVE_INFINITY;
    let per = Number.POSITIVE_INFINITY;
    for (let k = 0; k < 3; k++) {
      const start = performance.now();
      await bootstrapFigures(audit, { resamples: 20, seed: 1 });
      measured = Math.min(measured, (performance.now() - start) / 1000 / 20);
      per = Math.min(per, secondsPerResample(audit));
    }
    // Of the same order, not equal: the bootstrap also keeps its replicates and yields now and then.
    expect(per).toBeGreaterThan(measured / 5);
    expect(per).toBeLessThan(measured * 5);
    expect(longBootstrapEstimate(audit, 1000, 1)).toBeUndefined();
    const big = longBootstrapEstimate(audit, 1_000_000, 3)!;
    expect(big.seconds).toBeGreaterThan(3 * 1_000_000 * (measured / 5));
    expect(big.message).toMatch(
      /^the bootstrap's 1,000,000 resamples will take about \d+h\d\dm .*; --bootstrap 1000 \(the default\) would take about/,
    );
  });

  it('is announced by gabn audit before the bootstrap starts, and the audit can be stopped there', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'gabn-estimate-'));
    const scores = path.join(dir, 'scores.csv');
    writeFileSync(scores, scoresText());
    const controller = new AbortController();
    const stderr = capture();
    const stream = new Writable({
      write(chunk, encoding, done) {
        stderr.stream.write(chunk, encoding);
        // The person reads the estimate and stops the audit.
        if (String(chunk).includes('will take about'))
          controller.abort(new GabnError('cancelled', 'stopped'));
        done();
      },
    });
    const run = auditCommand.run(
      ['--scores', scores, '--bootstrap', '1000000', '--out', path.join(dir, 'r.json')],
      { signal: controller.signal, stdout: capture().stream, stderr: stream },
    );
    await expect(run).rejects.toMatchObject({ kind: 'cancelled' });
    const text = stderr.text();
    expect(text).toMatch(/the bootstrap's 1,000,000 resamples will take about/);
    // Said before the first resample's progress.
    expect(text.indexOf('will take about')).toBeLessThan(Math.max(text.indexOf('bootstrap:'), text.length));
  });
});
