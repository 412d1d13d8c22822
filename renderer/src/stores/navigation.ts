/**
 * Which view the window shows. A store, not App's own state, so that one view can send the person
 * to another (a worst false match in Audit opens in Browse; a run's checkpoint opens in Checkpoints).
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';

/** A checkpoint another view asked `view` to open with (Runs' "Open in Audit"). */
export interface CheckpointRequest {
  readonly view: string;
  /** The checkpoint folder. */
  readonly path: string;
  /** Its id once opened (the checkpoints store selects it). */
  readonly checkpointId?: string;
}

export const useNavigationStore = defineStore('navigation', () => {
  const view = ref('checkpoints');
  const checkpointRequest = ref<CheckpointRequest>();
  function show(id: string): void {
    view.value = id;
  }
  /** Shows `target` with a checkpoint to use: the view reads it with takeCheckpointRequest. */
  function openCheckpointIn(target: string, path: string, checkpointId?: string): void {
    checkpointRequest.value = { view: target, path, ...(checkpointId ? { checkpointId } : {}) };
    show(target);
  }
  /** The checkpoint a view was sent with, once: undefined when none was asked of `target`. */
  function takeCheckpointRequest(target: string): CheckpointRequest | undefined {
    const request = checkpointRequest.value;
    if (request?.view !== target) return undefined;
    checkpointRequest.value = undefined;
    return request;
  }
  return { view, checkpointRequest, show, openCheckpointIn, takeCheckpointRequest };
});
