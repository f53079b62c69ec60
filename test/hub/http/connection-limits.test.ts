// ConnectionLimits: WebSocket connections counted per address and in total from the upgrade to the socket's close.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ConnectionLimits } from '../../../hub/http/connection-limits.js';
import { fakeRequest } from '../auth/fixtures.js';

const socket = () => new EventEmitter() as unknown as Duplex & EventEmitter;

describe('ConnectionLimits', () => {
  it('admits up to the per-address limit, then refuses that address only', () => {
    const limits = new ConnectionLimits(100, 3);
    for (let i = 0; i < 3; i++) expect(limits.admit(fakeRequest('10.0.0.1'), socket())).toBeUndefined();
    expect(limits.admit(fakeRequest('10.0.0.1'), socket())).toBe('Too many connections from this address');
    expect(limits.admit(fakeRequest('10.0.0.2'), socket())).toBeUndefined();
    expect(limits.open).toBe(4);
    expect(limits.refused).toBe(1);
  });

  it('admits up to the total, then refuses everyone with the total\'s reason', () => {
    const limits = new ConnectionLimits(3, 10);
    for (let i = 0; i < 3; i++) expect(limits.admit(fakeRequest(`10.0.0.${i}`), socket())).toBeUndefined();
    expect(limits.admit(fakeRequest('10.0.0.99'), socket())).toBe('The hub has too many connections; try again later');
    expect(limits.open).toBe(3);
    expect(limits.refused).toBe(1);
  });

  it('frees a place when an admitted socket closes, once however often close fires; refused sockets never count', () => {
    const limits = new ConnectionLimits(2, 2);
    const a = socket();
    const b = socket();
    expect(limits.admit(fakeRequest('10.0.0.1'), a)).toBeUndefined();
    expect(limits.admit(fakeRequest('10.0.0.1'), b)).toBeUndefined();
    const refusedSocket = socket();
    expect(limits.admit(fakeRequest('10.0.0.1'), refusedSocket)).toBeDefined();
    refusedSocket.emit('close'); // a refused socket closing frees nothing
    expect(limits.open).toBe(2);
    a.emit('close');
    a.emit('close');
    expect(limits.open).toBe(1);
    expect(limits.admit(fakeRequest('10.0.0.1'), socket())).toBeUndefined();
    expect(limits.admit(fakeRequest('10.0.0.1'), socket())).toBeDefined();
    expect(limits.refused).toBe(2);
  });

  it('forgets addresses with no connection left, so the map stays small under many addresses', () => {
    const limits = new ConnectionLimits(10_000, 5);
    const sockets = Array.from({ length: 2000 }, (_, i) => {
      const s = socket();
      expect(limits.admit(fakeRequest(`10.0.${Math.floor(i / 250)}.${i % 250}`), s)).toBeUndefined();
      return s;
    });
    for (const s of sockets) s.emit('close');
    expect(limits.open).toBe(0);
    expect((limits as unknown as { byAddress: Map<string, number> }).byAddress.size).toBe(0);
  });

  it('counts sockets with no known address under one key', () => {
    const limits = new ConnectionLimits(10, 1);
    expect(limits.admit(fakeRequest(undefined), socket())).toBeUndefined();
    expect(limits.admit(fakeRequest(undefined), socket())).toBe('Too many connections from this address');
  });

  it('a churn of open/close never drifts the counts', () => {
    const limits = new ConnectionLimits(50, 5);
    const open: (Duplex & EventEmitter)[] = [];
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (let step = 0; step < 5000; step++) {
      if (open.length > 0 && random() < 0.5) {
        open.splice(Math.floor(random() * open.length), 1)[0]?.emit('close');
      } else {
        const s = socket();
        if (limits.admit(fakeRequest(`10.0.0.${Math.floor(random() * 12)}`), s) === undefined) open.push(s);
      }
      expect(limits.open).toBe(open.length);
    }
  });
});
