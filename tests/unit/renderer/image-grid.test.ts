// @vitest-environment happy-dom
import { mount } from '@vue/test-utils';
import { describe, expect, it } from 'vitest';
import { nextTick } from 'vue';
import type { ImageEntry } from '../../../main/api/contract.ts';
import ImageGrid from '../../../renderer/src/components/ImageGrid.vue';

const images: ImageEntry[] = Array.from({ length: 10_000 }, (_, id) => ({
  id,
  relative: `test/data/group-b/id${Math.floor(id / 4)}/id${Math.floor(id / 4)}_${id % 4}.jpg`,
  identity: `id${Math.floor(id / 4)}`,
  group: 'group-b',
}));

function mountGrid() {
  // happy-dom has no layout: the grid falls back to an 800×600 view, so 7 columns of 104 px.
  return mount(ImageGrid, {
    props: { images, thumbnail: (i: ImageEntry) => `thumb/${i.id}`, selectedId: 2 },
  });
}

describe('ImageGrid (virtualised)', () => {
  it('renders only the rows in view and a few beyond, out of 10 000 images', async () => {
    const wrapper = mountGrid();
    await nextTick();
    const thumbs = wrapper.findAll('.thumb');
    // Rows 0..8: six rows fill 600 px (⌈600/104⌉), plus three of overscan below; none above the top.
    expect(thumbs.length).toBe(9 * 7);
    expect(thumbs[0]!.attributes('data-image-id')).toBe('0');
    expect(thumbs.at(-1)!.attributes('data-image-id')).toBe('62');
    // The selected image (prop selectedId 2) is marked.
    // The spacer keeps the scrollbar true to all 10 000: ⌈10 000 / 7⌉ rows of 104 px.
    expect(wrapper.find('.grid-spacer').attributes('style')).toContain(
      `height: ${Math.ceil(10_000 / 7) * 104}px`,
    );
    expect(wrapper.find('[data-image-id="2"]').classes()).toContain('selected');
    wrapper.unmount();
  });

  it('swaps the rendered rows as the view scrolls, placing each thumbnail at its row and column', async () => {
    const wrapper = mountGrid();
    const viewport = wrapper.find('[data-testid="image-grid"]');
    (viewport.element as HTMLElement).scrollTop = 50_000;
    await viewport.trigger('scroll');
    const thumbs = wrapper.findAll('.thumb');
    // First row ⌊50 000/104⌋ − 3 = 477, last ⌈50 600/104⌉ + 3 = 490 (exclusive): 13 rows.
    expect(thumbs.length).toBe(13 * 7);
    expect(thumbs[0]!.attributes('data-image-id')).toBe(String(477 * 7));
    const third = thumbs[2]!;
    expect(third.attributes('style')).toContain(`translate(${2 * 104}px, ${477 * 104}px)`);
    (viewport.element as HTMLElement).scrollTop = Math.ceil(10_000 / 7) * 104;
    await viewport.trigger('scroll');
    const last = wrapper.findAll('.thumb').at(-1)!;
    expect(last.attributes('data-image-id')).toBe('9999');
    wrapper.unmount();
  });

  it('selects by click, and by arrow keys from the selected image (one step, or a row of 7)', async () => {
    const wrapper = mountGrid();
    await nextTick();
    await wrapper.find('[data-image-id="10"]').trigger('click');
    await wrapper.find('[data-testid="image-grid"]').trigger('keydown', { key: 'ArrowDown' });
    await wrapper.find('[data-testid="image-grid"]').trigger('keydown', { key: 'ArrowLeft' });
    expect(wrapper.emitted('select')).toEqual([[10], [9], [1]]);
    wrapper.unmount();
  });
});
