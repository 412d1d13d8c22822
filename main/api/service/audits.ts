/**
 * Starting an 'audit' job from the app: its paths resolved in the workspace and the request checked
 * as `gabn audit` checks it, so that a wrong combination or a missing file is said at once, beside
 * the form, instead of failing in the worker a moment later.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { GabnError } from '../../base/errors.ts';
import { checkAuditRequest } from '../../usecases/audit/run-audit.ts';
import type { AuditJobParams } from '../contract.ts';

export function auditJobParams(workspace: string, params: AuditJobParams): AuditJobParams {
  const resolve = (p: string, what: string) => {
    const full = path.resolve(workspace, p);
    if (!existsSync(full)) throw new GabnError('missing-file', `no such ${what}`, { file: full });
    return full;
  };
  const resolved: AuditJobParams = {
    ...params,
    ...(params.checkpoints ? { checkpoints: params.checkpoints.map((c) => resolve(c, 'checkpoint')) } : {}),
    ...(params.data === undefined ? {} : { data: resolve(params.data, 'dataset') }),
    ...(params.scores ? { scores: params.scores.map((s) => resolve(s, 'scores file')) } : {}),
  };
  checkAuditRequest({
    ...resolved,
    out: ['report.json', ...(params.formats ?? []).map((f) => `report.${f}`)],
    commandLine: [],
  });
  return resolved;
}
