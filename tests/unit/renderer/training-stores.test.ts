// @vitest-environment happy-dom
/**
 * The Train and Runs views' stores with an in-memory client: the form checks its request as the
 * person types and shows each problem at its field, and launches only a request without one; the
 * live view fills a run's series from its file, then from its events (those that arrive during the
 * read are kept), and reads its attention strip after an epoch; the runs store opens a run's
 * checkpoint in another view with a request that view reads once.
 */
import { flushPromises, mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type {
  CheckpointSummary,
  JobInfo,
  RunSummary,
  StepRecord,
  TrainingConfig,
  TrainingOptions,
  TrainJobParams,
} from '../../../main/api/contract.ts';
import { NAMED_CONFIGS, PRESETS, resolveTrainingConfig } from '../../../main/gabn/presets.ts';
import { configFields } from '../../../main/gabn/training-config.ts';
import { setApiClient } from '../../../renderer/src/api/index.ts';
import TrainingForm from '../../../renderer/src/components/TrainingForm.vue';
import { useNavigationStore } from '../../../renderer/src/stores/navigation.ts';
import { useRunMonitorStore } from '../../../renderer/src/stores/run-monitor.ts';
import { useRunsStore } from '../../../renderer/src/stores/runs.ts';
import { useTrainingFormStore } from '../../../renderer/src/stores/training-form.ts';
import { fakeClient } from './fake-client.ts';

const options: TrainingOptions = {
  presets: Object.entries(PRESETS).map(([name, p]) => ({
    name,
    description: p.description,
    needsCheckpoint: p.needsCheckpoint === true,
  })),
  configs: Object.keys(NAMED_CONFIGS),
  resolved: Object.fromEntries(
    Object.keys(NAMED_CONFIGS).map((c) => [
      c,
      Object.fromEntries(
        Object.keys(PRESETS).map((p) => [p, resolveTrainingConfig({ preset: p, config: c })]),
      ),
    ]),
  ),
  fields: configFields(),
  table4: ['baseline', 'gabn'],
  suggested: { data: '/w/synthetic/train', val: '/w/synthetic/rfw', from: '/w/checkpoints/baseline.gabn' },
};

const job = (id: string, extra: Partial<JobInfo> = {}): JobInfo => ({
  id,
  kind: 'train',
  state: 'running',
  params: {},
  createdAt: '2026-01-01T00:00:00.000Z',
  runDir: `/w/runs/${id}`,
  ...extra,
});

function step(n: number): StepRecord {
  return {
    type: 'step',
    epoch: 1,
    step: n,
    loss: n,
    identityLoss: n,
    adversarialLoss: 1.4,
    discriminatorLoss: 1.3,
    discriminatorAccuracy: 0.5,
    confidenceLoss: 1,
    groupConfidence: { 'group-a': 0.9 },
    lr: 0.01,
    imagesPerSecond: 10,
  };
}

/** Problems as the service finds them: the learning rate must be a number. */
function problemsOf(request: TrainJobParams) {
  const lr = (request.config as TrainingConfig).optimizer.learningRate as unknown;
  return typeof lr === 'number'
    ? []
    : [
        {
          path: 'optimizer.learningRate',
          message: `optimizer.learningRate is '${lr}' (expected a number in (0, 10])`,
        },
      ];
}

beforeEach(() => {
  setActivePinia(createPinia());
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('the training form', () => {
  it('starts from the workspace’s suggestions and launches the fine-tune with the settings typed', async () => {
    const client = fakeClient({
      describeTraining: () => options,
      validateTraining: problemsOf,
      startJob: (request) => job('j1', { params: request.params as unknown as Record<string, unknown> }),
    });
    setApiClient(client);
    const form = useTrainingFormStore();
    await form.load();
    expect([form.preset, form.configName, form.data, form.val, form.from]).toEqual([
      'fine-tune',
      'tiny',
      '/w/synthetic/train',
      '/w/synthetic/rfw',
      '/w/checkpoints/baseline.gabn',
    ]);
    form.setSetting('epochs', 3);
    form.setSetting('optimizer.learningRate', 0.005);
    const launched = await form.launch();
    expect(launched?.id).toBe('j1');
    const [request] = client.callsOf('startJob') as { kind: string; params: TrainJobParams }[];
    expect(request!.kind).toBe('train');
    expect(request!.params.config).toEqual({
      ...options.resolved.tiny!['fine-tune']!,
      epochs: 3,
      optimizer: { ...options.resolved.tiny!['fine-tune']!.optimizer, learningRate: 0.005 },
    });
    expect(request!.params.from).toBe('/w/checkpoints/baseline.gabn');
  });

  it('shows a wrong setting’s problem beside its field and starts nothing until it is fixed', async () => {
    const client = fakeClient({ describeTraining: () => options, validateTraining: problemsOf });
    setApiClient(client);
    const wrapper = mount(TrainingForm);
    await vi.runAllTimersAsync();
    await flushPromises();
    const input = wrapper.get('[data-testid="setting-optimizer.learningRate"]');
    await input.setValue('abc');
    await vi.advanceTimersByTimeAsync(300);
    await flushPromises();
    const problem = wrapper.get('[data-testid="problem-optimizer.learningRate"]');
    expect(problem.text()).toBe("optimizer.learningRate is 'abc' (expected a number in (0, 10])");
    // Beside its own field: inside the same setting row.
    expect(problem.element.closest('.setting')?.querySelector('input')).toBe(input.element);
    expect(wrapper.get('[data-testid="launch"]').attributes('disabled')).toBeDefined();
    await wrapper.get('form').trigger('submit');
    expect(client.callsOf('startJob')).toEqual([]);
    await input.setValue('0.02');
    await vi.advanceTimersByTimeAsync(300);
    await flushPromises();
    expect(wrapper.find('[data-testid="problem-optimizer.learningRate"]').exists()).toBe(false);
    expect(wrapper.get('[data-testid="launch"]').attributes('disabled')).toBeUndefined();
  });
});

describe('the live view of a run', () => {
  it('reads the file, then follows the events, keeping those that came during the read', async () => {
    let answer: (value: { records: StepRecord[]; next: number }) => void = () => {};
    const client = fakeClient({
      readRunMetrics: () => new Promise((resolve) => (answer = resolve)),
      readRunStrip: () => null,
      readRunLog: () => 'line one\nline two',
    });
    setApiClient(client);
    const monitor = useRunMonitorStore();
    const watching = monitor.watch('j1');
    await flushPromises();
    // Step 3 is written and sent while the file is read: the read holds steps 1-2 only.
    client.emit('job-metrics', { id: 'j1', record: step(3) });
    answer({ records: [step(1), step(2)], next: 2 });
    await watching;
    client.emit('job-metrics', { id: 'j1', record: step(4) });
    const before = monitor.version;
    await vi.advanceTimersByTimeAsync(300);
    expect(monitor.version).toBeGreaterThan(before);
    expect(monitor.seriesOf('j1')!.steps).toEqual([1, 2, 3, 4]);
    expect(monitor.log).toEqual(['line one', 'line two']);
    client.emit('job-log', { id: 'j1', line: 'epoch 1 validation' });
    expect(monitor.log.at(-1)).toBe('epoch 1 validation');
    // An epoch's end: its strip is read.
    client.emit('job-metrics', {
      id: 'j1',
      record: { type: 'epoch', epoch: 1, step: 4, seconds: 3, checkpoint: 'checkpoints/epoch-1.gabn' },
    });
    await flushPromises();
    expect(client.callsOf('readRunStrip').length).toBeGreaterThanOrEqual(2);
    monitor.stop();
  });
});

describe('the runs store', () => {
  it('opens a run’s checkpoint in Audit: opened and selected, and the view finds the request once', async () => {
    const opened: CheckpointSummary = {
      id: 'c1',
      path: '/w/runs/r1/checkpoints/epoch-2.gabn',
      name: 'epoch-2.gabn',
      family: 'iresnet',
      architecture: 'iresnet18',
      inputSize: 56,
      embeddingSize: 128,
      parameterCount: 1,
      groups: [],
      classCount: 4,
      hasHead: true,
      trainable: true,
    };
    const client = fakeClient({
      openCheckpoint: () => opened,
      describeCheckpoint: () => ({
        ...opened,
        formatVersion: 1,
        provenance: {},
        architectureJson: {},
        files: [],
        methods: ['gam'],
      }),
    });
    setApiClient(client);
    const runs = useRunsStore();
    const run: RunSummary = { job: job('r1', { state: 'succeeded' }), epochRecords: [], checkpoints: [] };
    await runs.openIn('audit', run, 'checkpoints/epoch-2.gabn');
    expect(client.callsOf('openCheckpoint')).toEqual(['/w/runs/r1/checkpoints/epoch-2.gabn']);
    const navigation = useNavigationStore();
    expect(navigation.view).toBe('audit');
    expect(navigation.takeCheckpointRequest('browse')).toBeUndefined();
    expect(navigation.takeCheckpointRequest('audit')).toEqual({
      view: 'audit',
      path: '/w/runs/r1/checkpoints/epoch-2.gabn',
      checkpointId: 'c1',
    });
    expect(navigation.takeCheckpointRequest('audit')).toBeUndefined();
  });
});
