/**
 * What the audit's charts share: the Chart.js parts they use (registered once) and the group colours,
 * the Okabe–Ito palette of the HTML report, distinguishable with colour vision deficiencies.
 */
import {
  BarController,
  BarElement,
  CategoryScale,
  Chart,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Title,
  Tooltip,
} from 'chart.js';
import colormaps from '../../../resources/colormaps.json';

Chart.register(
  BarController,
  BarElement,
  CategoryScale,
  Legend,
  LinearScale,
  LineController,
  LineElement,
  LogarithmicScale,
  PointElement,
  ScatterController,
  Title,
  Tooltip,
);

/** The report's palette (resources/colormaps.json), so a group has one colour everywhere. */
export const GROUP_COLOURS: readonly string[] = colormaps.groupColours;

export function groupColour(k: number): string {
  return GROUP_COLOURS[k % GROUP_COLOURS.length]!;
}

/** An axis title as Chart.js takes it. */
export function axisTitle(text: string) {
  return { display: true, text, font: { size: 12 } };
}
