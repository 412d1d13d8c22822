/**
 * Measurements taken inside the page (performance.now() of the page itself, so no round trip to the
 * driving process is counted): the time from a thumbnail click to the overlay canvas holding the new
 * image's map, and frame intervals while the thumbnail grid scrolls.
 */
import type { Page } from 'playwright-core';

/**
 * tsx compiles with esbuild's keepNames, which wraps named functions in a `__name` helper that the
 * page does not have: the functions passed to page.evaluate need it defined there.
 */
async function defineNameHelper(page: Page): Promise<void> {
  await page.evaluate('globalThis.__name ??= (f) => f');
}

/**
 * Clicks the `index`-th thumbnail and returns the milliseconds until the last drawing of the overlay
 * canvas that holds a map. A click first draws the canvas without a map (the old one is dropped), then
 * again when the face and the map are in, in either order: the drawing that counts is the last one
 * with a map once the canvas has been quiet for `quietMs`.
 */
export async function clickToOverlay(
  page: Page,
  index: number,
  quietMs = 400,
  timeoutMs = 20_000,
): Promise<number> {
  await defineNameHelper(page);
  return page.evaluate(
    ({ index, quietMs, timeoutMs }) =>
      new Promise<number>((resolve, reject) => {
        const thumb = document.querySelectorAll<HTMLElement>('.thumb')[index];
        if (!thumb) {
          reject(new Error(`no thumbnail ${index}`));
          return;
        }
        const overlay = () => document.querySelector('[data-testid="gam-overlay"]');
        let element = overlay();
        let draws = element?.getAttribute('data-draws') ?? '';
        let lastMapDraw: number | undefined;
        let lastChange = performance.now();
        const observer = new MutationObserver(() => {
          const now = performance.now();
          const current = overlay();
          const n = current?.getAttribute('data-draws') ?? '';
          if (current !== element || n !== draws) {
            element = current;
            draws = n;
            lastChange = now;
            if (current?.getAttribute('data-map') === 'true') lastMapDraw = now;
          }
        });
        observer.observe(document.body, {
          subtree: true,
          childList: true,
          attributes: true,
          attributeFilter: ['data-draws', 'data-map'],
        });
        const start = performance.now();
        thumb.click();
        const poll = setInterval(() => {
          const now = performance.now();
          if (lastMapDraw !== undefined && now - lastChange >= quietMs) {
            clearInterval(poll);
            observer.disconnect();
            resolve(lastMapDraw - start);
          } else if (now - start > timeoutMs) {
            clearInterval(poll);
            observer.disconnect();
            const o = overlay();
            const pane = document
              .querySelector('.detail-pane')
              ?.textContent?.replace(/\s+/g, ' ')
              .slice(0, 300);
            reject(
              new Error(
                `thumbnail ${index}: the overlay was not drawn with a map within ${timeoutMs} ms ` +
                  `(data-draws ${o?.getAttribute('data-draws')}, data-map ${o?.getAttribute('data-map')}, ` +
                  `a map drawn: ${lastMapDraw !== undefined}; the pane reads: ${pane})`,
              ),
            );
          }
        }, 25);
      }),
    { index, quietMs, timeoutMs },
  );
}

export interface ScrollFrames {
  /** Intervals between consecutive animation frames, ms. */
  readonly intervals: number[];
  /** Pixels scrolled in all, and the grid's scrollable height. */
  readonly scrolled: number;
  readonly scrollHeight: number;
  /** .thumb elements in the DOM: the most seen at any frame, and at the end. */
  readonly maxThumbs: number;
  readonly endThumbs: number;
}

/**
 * Scrolls the grid by `step` px each animation frame for `seconds`, back to the top when it reaches
 * the bottom, and records every frame's interval and the number of thumbnails in the DOM.
 */
export async function scrollGrid(page: Page, seconds: number, step: number): Promise<ScrollFrames> {
  await defineNameHelper(page);
  return page.evaluate(
    ({ seconds, step }) =>
      new Promise<ScrollFrames>((resolve) => {
        const grid = document.querySelector<HTMLElement>('[data-testid="image-grid"]')!;
        const intervals: number[] = [];
        let scrolled = 0;
        let maxThumbs = 0;
        let last: number | undefined;
        let start: number | undefined;
        const frame = (now: number) => {
          if (last !== undefined) intervals.push(now - last);
          last = now;
          start ??= now;
          maxThumbs = Math.max(maxThumbs, grid.querySelectorAll('.thumb').length);
          if (now - start >= seconds * 1000) {
            resolve({
              intervals,
              scrolled,
              scrollHeight: grid.scrollHeight,
              maxThumbs,
              endThumbs: grid.querySelectorAll('.thumb').length,
            });
            return;
          }
          const bottom = grid.scrollHeight - grid.clientHeight;
          const before = grid.scrollTop;
          grid.scrollTop = before >= bottom ? 0 : Math.min(bottom, before + step);
          scrolled += Math.abs(grid.scrollTop - before);
          requestAnimationFrame(frame);
        };
        requestAnimationFrame(frame);
      }),
    { seconds, step },
  );
}
