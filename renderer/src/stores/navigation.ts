/**
 * Which view the window shows. A store, not App's own state, so that one view can send the person
 * to another (a worst false match in Audit opens in Browse; a run's checkpoint opens in Checkpoints).
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';

export const useNavigationStore = defineStore('navigation', () => {
  const view = ref('checkpoints');
  function show(id: string): void {
    view.value = id;
  }
  return { view, show };
});
