/**
 * The house as a test: every import of main/, renderer/ and electron/ against the rules of
 * house-rules.ts. A forbidden arrow fails here with the file, the line and the rule it breaks.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkHouse, importsOf, LAYERS } from './house-rules.ts';

function sources(folder: string): { path: string; source: string }[] {
  const out: { path: string; source: string }[] = [];
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    const full = path.posix.join(folder, entry.name);
    if (entry.isDirectory()) {
      if (entry.name !== 'dist' && entry.name !== 'node_modules') out.push(...sources(full));
    } else if (/\.(ts|vue|mjs)$/.test(entry.name)) {
      out.push({ path: full, source: readFileSync(full, 'utf8') });
    }
  }
  return out;
}

const house = [...sources('main'), ...sources('renderer'), ...sources('electron')];

describe('the house', () => {
  it('every import follows the rules of docs/architecture.md', () => {
    const violations = checkHouse(house).map((v) => `${v.file}:${v.line} imports ${v.specifier}: ${v.rule}`);
    expect(violations).toEqual([]);
  });

  it('every folder of main/ is a layer the rules know', () => {
    const folders = readdirSync('main', { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .map((e) => e.name)
      .sort();
    expect(folders).toEqual(Object.keys(LAYERS).sort());
  });

  it('no file of main/ is over 400 lines', () => {
    const long = house
      .filter((f) => f.path.startsWith('main/'))
      .map((f) => ({ file: f.path, lines: f.source.split('\n').length - 1 }))
      .filter((f) => f.lines > 400);
    expect(long).toEqual([]);
  });

  it('names the rule a forbidden arrow breaks', () => {
    const check = (file: string, source: string) => checkHouse([{ path: file, source }]).map((v) => v.rule);
    expect(check('main/data/rfw.ts', "import { gam } from '../gabn/gam.ts';\n")).toEqual([
      'data knows no model (it imports only base)',
    ]);
    expect(check('main/base/errors.ts', "import type { X } from '../engine/tf.ts';")).toEqual([
      'base imports nothing of the project',
    ]);
    expect(check('main/models/iresnet.ts', "import { trainStep } from '../gabn/step/index.ts';")).toEqual([
      'models know no training (they import base and engine)',
    ]);
    expect(check('main/eval/x.ts', "import { presets } from '../gabn/presets.ts';")).toEqual([
      'eval knows no training method (no gabn, no use case)',
    ]);
    expect(
      check('main/engine/backends.ts', "import { loadCheckpoint } from '../models/checkpoint.ts';"),
    ).toEqual(['engine knows no model (it imports only base)']);
    expect(check('main/api/http.ts', "import { electron } from 'electron';")).toEqual([
      'only electron/ imports electron',
    ]);
    expect(check('main/jobs/worker.ts', "const m = await import('../cli/audit.ts');")).toEqual([
      'nothing imports cli',
    ]);
    expect(
      check('renderer/src/stores/x.ts', "import { loadDataset } from '../../../main/data/index.ts';"),
    ).toEqual(['the renderer imports only types from the API contract']);
    expect(
      check('renderer/src/stores/x.ts', "import { API_METHODS } from '../../../main/api/contract.ts';"),
    ).toEqual(['the renderer imports only types from the API contract']);
    expect(
      check('renderer/src/stores/x.ts', "import type { JobInfo } from '../../../main/api/contract.ts';"),
    ).toEqual([]);
    expect(check('main/jobs/kinds/x.ts', "import type { JobInfo } from '../../api/contract.ts';")).toEqual(
      [],
    );
    expect(check('main/jobs/kinds/x.ts', "import { createService } from '../../api/service.ts';")).toEqual([
      'jobs sit below api and cli (they may read the contract)',
    ]);
  });

  it('reads imports, re-exports and dynamic imports with their lines', () => {
    const found = importsOf(
      "import a from './a.ts';\nexport type { B } from './b.ts';\nconst c = import('./c.ts');\n",
    );
    expect(found).toEqual([
      { specifier: './a.ts', typeOnly: false, line: 1 },
      { specifier: './b.ts', typeOnly: true, line: 2 },
      { specifier: './c.ts', typeOnly: false, line: 3 },
    ]);
  });
});
