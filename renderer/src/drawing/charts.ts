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

export const GROUP_COLOURS = [
  '#0072B2',
  '#E69F00',
  '#009E73',
  '#CC79A7',
  '#56B4E9',
  '#D55E00',
  '#000000',
  '#F0E442',
];

export function groupColour(k: number): string {
  return GROUP_COLOURS[k % GROUP_COLOURS.length]!;
}

/** An axis title as Chart.js takes it. */
export function axisTitle(text: string) {
  return { display: true, text, font: { size: 12 } };
}
