/**
 * The Train view's side of the service: what the form offers (presets, named configurations, every
 * setting with what it expects, the workspace's suggestions), the problems of a request at each
 * field, and starting a run, its time-per-epoch estimate or a Table 4 grid as jobs. A request is
 * checked here as `gabn train` checks its options, by the same functions; the run itself is the
 * training use case in a worker (main/jobs/kinds/train.ts).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import {
  NAMED_CONFIGS,
  PRESETS,
  resolveTrainingConfig,
  TABLE4_PRESETS,
  withPreset,
} from '../../gabn/presets.ts';
import { configFields, configProblems, validateConfig } from '../../gabn/training-config.ts';
import type { JobRunner } from '../../jobs/runner.ts';
import { CHECKPOINT_JSON } from '../../models/checkpoint-schema.ts';
import { ablationGrid } from '../../usecases/ablation.ts';
import { demoLayout } from '../../usecases/workspace/demo-workspace.ts';
import { discoverWorkspace } from '../../usecases/workspace/workspace.ts';
import type {
  AblationRequest,
  JobInfo,
  TrainEstimateParams,
  TrainingOptions,
  TrainingProblem,
  TrainJobParams,
} from '../contract.ts';

function family(checkpoint: string): string | undefined {
  try {
    const json = JSON.parse(readFileSync(path.join(checkpoint, CHECKPOINT_JSON), 'utf8')) as {
      architecture?: { family?: string };
    };
    return json.architecture?.family;
  } catch {
    return undefined;
  }
}

export function createTraining(workspace: string, runner: JobRunner) {
  const resolve = (p: string) => path.resolve(workspace, p);

  /** The paths of a request made absolute (relative ones are inside the workspace). */
  function absolute<T extends TrainJobParams>(request: T): T {
    return {
      ...request,
      data: resolve(request.data),
      ...(request.val ? { val: resolve(request.val) } : {}),
      ...(request.from ? { from: resolve(request.from) } : {}),
    };
  }

  function problemsOf(request: {
    preset: string;
    config: unknown;
    data?: string;
    val?: string;
    from?: string;
  }) {
    const problems: TrainingProblem[] = [];
    const preset = PRESETS[request.preset];
    if (preset === undefined) {
      problems.push({
        path: 'preset',
        message: `unknown preset '${request.preset}' (expected one of ${Object.keys(PRESETS).join(', ')})`,
      });
    }
    problems.push(...configProblems(request.config));
    if (!request.data) problems.push({ path: 'data', message: 'a training set is needed' });
    else if (!existsSync(resolve(request.data)))
      problems.push({ path: 'data', message: `no such folder or file: ${resolve(request.data)}` });
    if (request.val && !existsSync(resolve(request.val))) {
      problems.push({ path: 'val', message: `no such folder: ${resolve(request.val)}` });
    }
    if (request.from) {
      const from = resolve(request.from);
      if (!existsSync(path.join(from, CHECKPOINT_JSON))) {
        problems.push({ path: 'from', message: `not a checkpoint (no ${CHECKPOINT_JSON}): ${from}` });
      } else if (family(from) !== 'iresnet') {
        problems.push({
          path: 'from',
          message: `a ${family(from) ?? 'unknown'} network cannot be trained here (expected an iResNet checkpoint)`,
        });
      }
    } else if (preset?.needsCheckpoint) {
      problems.push({ path: 'from', message: `the '${request.preset}' preset starts from a checkpoint` });
    }
    return problems;
  }

  /** Refuses a request with a problem, naming every one, as the form shows them. */
  function checked<T extends TrainJobParams>(request: T): T {
    const problems = problemsOf(request);
    if (problems.length > 0) {
      throw new GabnError(
        'config',
        `the run cannot start:\n  ${problems.map((p) => `${p.path}: ${p.message}`).join('\n  ')}`,
      );
    }
    return { ...absolute(request), config: validateConfig(request.config, 'the request') };
  }

  function suggestions(): TrainingOptions['suggested'] {
    const layout = demoLayout(workspace);
    const data = path.join(layout.data, 'train');
    const val = path.join(layout.data, 'rfw');
    const trainable = discoverWorkspace(workspace).checkpoints.filter((c) => family(c) === 'iresnet');
    const from = trainable.find((c) => path.basename(c).includes('baseline')) ?? trainable[0];
    return {
      ...(existsSync(data) ? { data } : {}),
      ...(existsSync(val) ? { val } : {}),
      ...(from ? { from } : {}),
    };
  }

  return {
    describe(): TrainingOptions {
      const configs = Object.keys(NAMED_CONFIGS);
      const presets = Object.keys(PRESETS);
      return {
        presets: presets.map((name) => ({
          name,
          description: PRESETS[name]!.description,
          needsCheckpoint: PRESETS[name]!.needsCheckpoint === true,
        })),
        configs,
        resolved: Object.fromEntries(
          configs.map((config) => [
            config,
            Object.fromEntries(presets.map((preset) => [preset, resolveTrainingConfig({ preset, config })])),
          ]),
        ),
        fields: configFields(),
        table4: [...TABLE4_PRESETS],
        suggested: suggestions(),
      };
    },
    validate: (request: Parameters<typeof problemsOf>[0]) => problemsOf(request),
    start(params: TrainJobParams): JobInfo {
      const p = checked(params);
      return runner.start('train', { ...p });
    },
    estimate(params: TrainEstimateParams): JobInfo {
      return runner.start('train-estimate', { ...checked(params) });
    },
    ablation(request: AblationRequest): { runs: JobInfo[]; comparison: JobInfo } {
      const base = checked({ ...request.base, preset: request.base.from ? 'fine-tune' : 'baseline' });
      if (!base.val) {
        throw new GabnError('usage', 'an ablation needs a test set with pairs', {
          expected: 'val: the RFW-style set every run is audited on',
        });
      }
      const grid = ablationGrid(request.presets, request.seeds, (preset) =>
        withPreset(base.config, preset, 'the form'),
      );
      const runs = grid.map((run) =>
        runner.start('train', {
          preset: run.preset,
          config: run.config,
          data: base.data,
          val: base.val,
          ...(base.from ? { from: base.from } : {}),
        }),
      );
      const comparison = runner.start(
        'ablation',
        {
          runs: runs.map((job, k) => ({
            id: job.id,
            preset: grid[k]!.preset,
            seed: grid[k]!.seed,
            label: grid[k]!.label,
          })),
          val: base.val,
          ...(request.bootstrap === undefined ? {} : { bootstrap: request.bootstrap }),
        },
        { after: runs.map((job) => job.id) },
      );
      return { runs, comparison };
    },
  };
}
