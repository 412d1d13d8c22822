/**
 * Whether a process of this machine still runs: what a run folder's lock and a leftover temporary
 * (its writer's pid is in its name) both ask before they treat work as abandoned.
 */

/** True while a process with this pid exists (EPERM: it does, and belongs to someone else). */
export function isProcessAlive(pid: number): boolean {
  // kill(0) and kill(-n) would ask about process groups: no single process has such a pid.
  if (!(Number.isInteger(pid) && pid > 0)) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
