/**
 * The Reports view: every report of the workspace, the one shown (its HTML, as the host renders it),
 * whether face images are left out, and exports. The renderer never touches the file system: the
 * desktop host saves a file itself (save dialog); in the browser the bytes become a download.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { ReportFormat, ReportSummary } from '../../../main/api/contract.ts';
import { apiClient } from '../api/index.ts';

/** The bytes of an export handed to the browser as a download of `fileName`. */
function download(fileName: string, mime: string, base64: string): void {
  const binary = atob(base64);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  const url = URL.createObjectURL(new Blob([bytes], { type: mime }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export const useReportsStore = defineStore('reports', () => {
  const list = ref<ReportSummary[]>([]);
  const selectedId = ref<string>();
  const noFaces = ref(false);
  const exporting = ref<ReportFormat>();
  const message = ref<string>();
  const error = ref<string>();

  const selected = computed(() => list.value.find((r) => r.id === selectedId.value));
  /** The HTML the host renders for the selected report (media path, the same in both hosts). */
  const htmlUrl = computed(() =>
    selectedId.value === undefined
      ? undefined
      : `media/report/${encodeURIComponent(selectedId.value)}.html${noFaces.value ? '?faces=0' : ''}`,
  );

  async function refresh(): Promise<void> {
    try {
      list.value = await apiClient().call('listReports', undefined);
      error.value = undefined;
      if (!list.value.some((r) => r.id === selectedId.value)) selectedId.value = list.value[0]?.id;
    } catch (e) {
      error.value = (e as Error).message;
    }
  }

  function select(id: string): void {
    selectedId.value = id;
    message.value = undefined;
  }

  async function exportAs(format: ReportFormat): Promise<void> {
    const id = selectedId.value;
    if (id === undefined) return;
    exporting.value = format;
    message.value = undefined;
    error.value = undefined;
    const request = { reportId: id, format, noFaces: noFaces.value };
    try {
      const client = apiClient();
      if (client.saveReport) {
        const saved = await client.saveReport(request);
        if (saved) message.value = `saved ${saved}`;
      } else {
        const file = await client.call('exportReport', request);
        download(file.fileName, file.mime, file.base64);
        message.value = `downloaded ${file.fileName}`;
      }
    } catch (e) {
      error.value = (e as Error).message;
    } finally {
      exporting.value = undefined;
    }
  }

  return {
    list,
    selectedId,
    selected,
    noFaces,
    exporting,
    message,
    error,
    htmlUrl,
    refresh,
    select,
    exportAs,
  };
});
