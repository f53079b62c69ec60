// What "1×" means for each kind of disc, as drive speeds are quoted: a multiple of the first drives' read rate.
export type Medium = 'cd' | 'dvd' | 'bluray';

export const ONE_X_BYTES_PER_SECOND: Record<Medium, number> = {
  cd: 153_600, // 75 sectors of 2048 bytes a second (mode 1 data)
  dvd: 1_385_000,
  bluray: 4_500_000,
};

/**
 * The medium a data volume of this size must be on, when nothing better is known (an image on a loop device):
 * over a CD's 900 MB it is at least a DVD, over a dual-layer DVD's 8.5 GB a Blu-ray.
 */
export function mediumForSize(bytes: number): Medium {
  if (bytes <= 900_000_000) return 'cd';
  return bytes <= 8_540_000_000 ? 'dvd' : 'bluray';
}
