/**
 * The 'audit' job: `gabn audit` in a worker, the run folder as its output. Each phase of the audit
 * (embedding with each checkpoint, pairs, bootstrap, paired bootstrap, attention maps) is reported as
 * progress with its name as the message; cancel stops it between steps and writes no report. The
 * folder gets report.json (the first source's report with the comparison of the second, as
 * `gabn audit --out report.json` writes it), the other formats asked for, preview.json while the
 * bootstrap runs, and audit.json (every source, every comparison, the attention figures) at the end.
 */
import path from 'node:path';
import type { AuditJobParams, AuditJobResult } from '../../api/contract.ts';
import { loadEngine } from '../../engine/index.ts';
import { writeAuditPreview, writeAuditSet } from '../../usecases/audit/audit-set.ts';
import { type AuditRequest, runAudit } from '../../usecases/audit/run-audit.ts';
import { mergeEmbeddingCaches } from '../../usecases/audit/shards.ts';
import type { JobContext } from '../protocol.ts';
import { shardCacheDir } from './audit-shard.ts';

/** The `gabn audit` command that does the same, for the report's provenance. */
export function equivalentCommand(params: AuditJobParams, out: readonly string[]): string[] {
  const line = ['gabn', 'audit'];
  for (const c of params.checkpoints ?? []) line.push('--checkpoint', c);
  if (params.data !== undefined) line.push('--data', params.data);
  const [scores, ...compare] = params.scores ?? [];
  if (scores !== undefined) line.push('--scores', scores, ...compare.flatMap((c) => ['--compare', c]));
  if (params.scoreKind !== undefined) line.push('--score-kind', params.scoreKind);
  if (params.flip === false) line.push('--no-flip');
  if (params.bootstrap !== undefined) line.push('--bootstrap', String(params.bootstrap));
  if (params.seed !== undefined) line.push('--seed', String(params.seed));
  for (const f of params.targetFmrs ?? []) line.push('--target-fmr', String(f));
  if (params.attentionImages !== undefined) line.push('--attention-images', String(params.attentionImages));
  if (params.noFaces === true) line.push('--no-faces');
  for (const file of out) line.push('--out', file);
  return line;
}

export async function runAuditJob(params: AuditJobParams, context: JobContext): Promise<AuditJobResult> {
  const files = ['report.json', ...(params.formats ?? []).map((f) => `report.${f}`)];
  const out = files.map((f) => path.join(context.runDir, f));
  const noFaces = params.noFaces === true;
  const request: AuditRequest = {
    ...(params.checkpoints && params.checkpoints.length > 0 ? { checkpoints: params.checkpoints } : {}),
    ...(params.data === undefined ? {} : { data: params.data }),
    ...(params.scores && params.scores.length > 0 ? { scores: params.scores } : {}),
    ...(params.scoreKind === undefined ? {} : { scoreKind: params.scoreKind }),
    flip: params.flip ?? true,
    ...(params.bootstrap === undefined ? {} : { bootstrap: params.bootstrap }),
    ...(params.seed === undefined ? {} : { seed: params.seed }),
    ...(params.targetFmrs === undefined ? {} : { targetFmrs: params.targetFmrs }),
    ...(params.attentionImages === undefined ? {} : { attentionImages: params.attentionImages }),
    noFaces,
    out,
    ...(params.shards === undefined ? {} : { cacheDir: shardCacheDir(context.runDir) }),
    everySource: true,
    commandLine: equivalentCommand(params, out),
  };
  if (params.shards !== undefined) {
    // A sharded audit: its shards' embeddings, in run folders beside its own, become its cache.
    const runsDir = path.dirname(context.runDir);
    const copied = mergeEmbeddingCaches(
      params.shards.map((id) => shardCacheDir(path.join(runsDir, id))),
      shardCacheDir(context.runDir),
    );
    // What a failed shard left undone, the audit embeds itself (the figures are the same).
    context.log(`${copied} embeddings from ${params.shards.length} shards`);
  }
  if (request.checkpoints !== undefined) {
    const engine = await loadEngine();
    context.log(`backend ${engine.backend} (${engine.choice.why})`);
  }
  const outcome = await runAudit(request, {
    signal: context.signal,
    onProgress: (phase, done, total) => context.progress(done, total, phase),
    onLog: context.log,
    onPreview: (preview) => writeAuditPreview(context.runDir, preview, noFaces),
  });
  for (const source of outcome.sources) {
    if (source.failed.length === 0) continue;
    context.log(
      `${source.label}: ${source.failed.length} unreadable images (${source.droppedPairs} pairs left out)`,
    );
    for (const f of source.failed) context.log(`  ${f.file}: ${f.message}`);
  }
  await writeAuditSet(context.runDir, outcome, noFaces);
  const first = outcome.reports[0]!;
  context.log(
    `${outcome.labels[0]}: ${first.groups.map((g) => `${g.name} ${g.accuracy.value?.toFixed(2)}%`).join(', ')}; STD ${first.overall.std.value?.toFixed(2)}`,
  );
  return { files: [...files, 'audit.json'], labels: outcome.labels };
}
