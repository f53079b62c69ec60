import { describe, expect, it } from 'vitest';
import { PresenceDebouncer, type PresenceChange } from '../../../agent/drives/presence.js';

/** Feeds readings [presence, time] and returns every change reported, with its time. */
function feed(debouncer: PresenceDebouncer, readings: [boolean, number][]): [PresenceChange, number][] {
  const changes: [PresenceChange, number][] = [];
  for (const [present, at] of readings) {
    const change = debouncer.observe(present, at);
    if (change) changes.push([change, at]);
  }
  return changes;
}

describe('PresenceDebouncer', () => {
  it('reports the first reading as initial, whatever it is', () => {
    const empty = new PresenceDebouncer(1000);
    expect(empty.present).toBeUndefined();
    expect(empty.observe(false, 0)).toBe('initial');
    expect(empty.present).toBe(false);

    const loaded = new PresenceDebouncer(1000);
    expect(loaded.observe(true, 5000)).toBe('initial');
    expect(loaded.present).toBe(true);
  });

  it('reports nothing while the reading stays the same', () => {
    const d = new PresenceDebouncer(1000);
    d.observe(false, 0);
    for (let t = 500; t <= 10_000; t += 500) expect(d.observe(false, t)).toBeUndefined();
    expect(d.present).toBe(false);
  });

  it('ignores a flap shorter than the debounce', () => {
    const d = new PresenceDebouncer(1000);
    expect(feed(d, [[false, 0], [true, 100], [true, 600], [true, 1099], [false, 1100], [false, 5000]])).toEqual([['initial', 0]]);
    expect(d.present).toBe(false);
  });

  it('reports one insert once the disc has stayed for the debounce time', () => {
    const d = new PresenceDebouncer(1000);
    const changes = feed(d, [
      [false, 0],
      [true, 500],
      [true, 1000],
      [true, 1499],
      [true, 1500],
      [true, 2000],
      [true, 10_000],
    ]);
    expect(changes).toEqual([['initial', 0], ['inserted', 1500]]);
    expect(d.present).toBe(true);
  });

  it('reports one removal once the disc has stayed out for the debounce time', () => {
    const d = new PresenceDebouncer(1000);
    const changes = feed(d, [
      [true, 0],
      [false, 2000],
      [false, 2999],
      [false, 3000],
      [false, 3500],
    ]);
    expect(changes).toEqual([['initial', 0], ['removed', 3000]]);
    expect(d.present).toBe(false);
  });

  it('measures the debounce from the first reading of the change, not from later ones', () => {
    const d = new PresenceDebouncer(1000);
    expect(feed(d, [[false, 0], [true, 100], [true, 900], [true, 1100]])).toEqual([['initial', 0], ['inserted', 1100]]);
  });

  it('restarts the debounce after a flap back', () => {
    const d = new PresenceDebouncer(1000);
    // In at 100, back out at 800 (cancels), in again at 900: the clock restarts at 900.
    expect(feed(d, [[false, 0], [true, 100], [false, 800], [true, 900], [true, 1500], [true, 1899], [true, 1900]])).toEqual([
      ['initial', 0],
      ['inserted', 1900],
    ]);
  });

  it('reports nothing for rapid flapping (every 100 ms for 5 s with a 1000 ms debounce)', () => {
    const d = new PresenceDebouncer(1000);
    const readings: [boolean, number][] = [];
    for (let t = 0; t <= 5000; t += 100) readings.push([(t / 100) % 2 === 1, t]);
    expect(feed(d, readings)).toEqual([['initial', 0]]);
    expect(d.present).toBe(false);
  });

  it('reports once flapping stops on the other state', () => {
    const d = new PresenceDebouncer(1000);
    const readings: [boolean, number][] = [];
    for (let t = 0; t <= 5000; t += 100) readings.push([(t / 100) % 2 === 1, t]);
    // Flapping ends with the disc in, from 5100 on.
    for (let t = 5100; t <= 8000; t += 100) readings.push([true, t]);
    expect(feed(d, readings)).toEqual([['initial', 0], ['inserted', 6100]]);
  });

  it('reports each full insert and removal exactly once', () => {
    const d = new PresenceDebouncer(500);
    const readings: [boolean, number][] = [];
    const states = [false, true, false, true];
    states.forEach((present, i) => {
      for (let t = 0; t < 2000; t += 250) readings.push([present, i * 2000 + t]);
    });
    expect(feed(d, readings).map(([change]) => change)).toEqual(['initial', 'inserted', 'removed', 'inserted']);
  });

  it('reports at once with a debounce of 0', () => {
    const d = new PresenceDebouncer(0);
    expect(feed(d, [[false, 0], [true, 10], [true, 20], [false, 30], [true, 30]])).toEqual([
      ['initial', 0],
      ['inserted', 10],
      ['removed', 30],
      ['inserted', 30],
    ]);
  });

  describe('a medium that already reads', () => {
    /** Readings [presence, time, readable]. */
    const feedReadable = (d: PresenceDebouncer, readings: [boolean, number, boolean][]) =>
      readings.flatMap(([present, at, readable]) => {
        const change = d.observe(present, at, readable);
        return change ? [[change, at] as const] : [];
      });

    it('counts at once, without waiting for the debounce', () => {
      const d = new PresenceDebouncer(1000);
      expect(feedReadable(d, [[false, 0, false], [true, 500, true], [true, 1000, true]])).toEqual([['initial', 0], ['inserted', 500]]);
    });

    it('a tray that bounces out and back in after a readable insert gives one insert and no removal', () => {
      const d = new PresenceDebouncer(1000);
      expect(feedReadable(d, [
        [false, 0, false], [true, 500, true], [false, 1000, false], [true, 1500, true], [false, 1700, false], [true, 2000, true], [true, 9000, true],
      ])).toEqual([['initial', 0], ['inserted', 500]]);
    });

    it('a removal is still debounced', () => {
      const d = new PresenceDebouncer(1000);
      expect(feedReadable(d, [[true, 0, true], [false, 500, false], [false, 1499, false], [false, 1500, false]])).toEqual([['initial', 0], ['removed', 1500]]);
    });

    it('a medium that does not read yet waits for the debounce, then counts; reading meanwhile counts at once', () => {
      const spinning = new PresenceDebouncer(1000);
      expect(feedReadable(spinning, [[false, 0, false], [true, 100, false], [true, 600, false], [true, 1100, false]])).toEqual([['initial', 0], ['inserted', 1100]]);
      const spunUp = new PresenceDebouncer(1000);
      expect(feedReadable(spunUp, [[false, 0, false], [true, 100, false], [true, 600, true]])).toEqual([['initial', 0], ['inserted', 600]]);
    });

    it('is asked about only while an insert could start', () => {
      const d = new PresenceDebouncer(1000);
      expect(d.wouldInsert(true)).toBe(false); // before the baseline
      d.observe(false, 0);
      expect(d.wouldInsert(true)).toBe(true);
      expect(d.wouldInsert(false)).toBe(false);
      d.observe(true, 10, true);
      expect(d.wouldInsert(true)).toBe(false);
    });
  });

  describe('with the medium\'s size', () => {
    it('tells a disc of another size in place of the reported one as a swap, however short the empty moment', () => {
      const d = new PresenceDebouncer(1000);
      expect(d.observe(true, 0, true, 8000)).toBe('initial');
      // Out for 300 ms (a flap to the debounce), back with another size: the poll sees only the new disc.
      expect(d.observe(false, 100, false, 0)).toBeUndefined();
      expect(d.observe(true, 400, true, 12_000)).toBe('swapped');
      expect(d.present).toBe(true);
      expect(d.observe(true, 600, true, 12_000)).toBeUndefined();
    });

    it('keeps a flap of the same disc (same size) silent, and remembers the size of a disc inserted after a removal', () => {
      const d = new PresenceDebouncer(1000);
      d.observe(true, 0, true, 8000);
      expect(d.observe(false, 100, false, 0)).toBeUndefined();
      expect(d.observe(true, 300, true, 8000)).toBeUndefined();
      expect(d.observe(false, 400, false, 0)).toBeUndefined();
      expect(d.observe(false, 1500, false, 0)).toBe('removed');
      expect(d.observe(true, 1600, true, 9000)).toBe('inserted');
      expect(d.observe(true, 1800, true, 9000)).toBeUndefined();
      expect(d.observe(true, 2000, true, 7000)).toBe('swapped');
    });

    it('never calls a change a swap when the source does not know sizes', () => {
      const d = new PresenceDebouncer(1000);
      d.observe(true, 0, true);
      expect(d.observe(true, 100, true, 5000)).toBeUndefined();
    });
  });
});
