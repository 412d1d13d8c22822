/**
 * The views of the window, in the order of the tabs: a new view is one .vue file here and one entry
 * in this list.
 */
import type { Component } from 'vue';
import AuditView from './AuditView.vue';
import BrowseView from './BrowseView.vue';
import CheckpointsView from './CheckpointsView.vue';
import ReportsView from './ReportsView.vue';
import RunsView from './RunsView.vue';
import TrainView from './TrainView.vue';

export interface ViewEntry {
  readonly id: string;
  readonly title: string;
  readonly component: Component;
}

export const VIEWS: readonly ViewEntry[] = [
  { id: 'checkpoints', title: 'Checkpoints', component: CheckpointsView },
  { id: 'browse', title: 'Browse', component: BrowseView },
  { id: 'audit', title: 'Audit', component: AuditView },
  { id: 'reports', title: 'Reports', component: ReportsView },
  { id: 'train', title: 'Train', component: TrainView },
  { id: 'runs', title: 'Runs', component: RunsView },
];
