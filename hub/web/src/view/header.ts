// The page header: the name, a one-line summary of the house (stations, drives working, offline), the connection
// indicator (live / connecting / reconnecting with the attempt and since when / reloading), the clock, and the
// large-type switch for wall screens (remembered on this device).
import type { ConnectionStatus } from '../connection.js';
import { formatClock, formatRelative } from '../format.js';
import { driveStatus } from './stations.js';
import type { ViewContext } from './context.js';
import { button, h, setAttr, setText } from './dom.js';
import { icon, setIcon } from './icons.js';

export interface HeaderView {
  el: HTMLElement;
  render(): void;
  setConnection(status: ConnectionStatus, syncing: boolean): void;
  tick(): void;
}

const LARGE_KEY = 'discbridge.large-type';

export function headerView(ctx: ViewContext, extra: HTMLElement[] = []): HeaderView {
  const summary = h('p', { class: 'summary', attrs: { 'aria-live': 'off' } });
  const connIcon = h('span', 'conn-icon');
  const connText = h('span', 'conn-text');
  const connection = h('div', { class: 'connection', attrs: { role: 'status', 'aria-live': 'polite' } }, connIcon, connText);
  const clock = h('time', 'clock');
  const root = document.documentElement;
  const large = button('Large text', 'btn ghost size-toggle', () => {
    const on = root.dataset.size !== 'large';
    if (on) root.dataset.size = 'large';
    else delete root.dataset.size;
    large.setAttribute('aria-pressed', String(on));
    try {
      localStorage.setItem(LARGE_KEY, on ? '1' : '0');
    } catch { /* private mode: fine */ }
  });
  large.prepend(icon('text'));
  const wanted = new URLSearchParams(location.search).get('large') ?? (() => {
    try { return localStorage.getItem(LARGE_KEY); } catch { return null; }
  })();
  if (wanted === '1') root.dataset.size = 'large';
  large.setAttribute('aria-pressed', String(root.dataset.size === 'large'));

  const el = h('header', 'top',
    h('div', 'brand', h('span', 'logo', icon('disc')), h('div', {}, h('h1', { text: 'discbridge' }), summary)),
    h('div', 'top-right', connection, clock, large, ...extra),
  );
  let status: ConnectionStatus = { state: 'connecting', attempt: 1, since: Date.now() };
  let syncing = true;

  const renderConnection = () => {
    const now = ctx.now();
    let text: string;
    let kind: string;
    if (status.state === 'open' && !syncing) {
      text = 'Live';
      kind = 'live';
    } else if (status.state === 'open') {
      text = 'Catching up…';
      kind = 'sync';
    } else if (status.state === 'connecting' && status.attempt <= 1) {
      text = 'Connecting…';
      kind = 'sync';
    } else {
      const since = formatRelative(status.since, now);
      text = `Disconnected ${since === 'just now' ? 'just now' : `since ${formatClock(status.since, now)}`} · reconnecting (attempt ${status.attempt})`;
      kind = 'down';
    }
    setAttr(connection, 'data-kind', kind);
    setIcon(connIcon, kind === 'live' ? 'online' : kind === 'down' ? 'offline' : 'rescan');
    setText(connText, text);
    setAttr(document.body, 'data-connection', kind);
  };

  return {
    el,
    render() {
      const stations = ctx.state.stations();
      const offline = stations.filter((s) => s.agent.state === 'offline').length;
      let drives = 0;
      let working = 0;
      for (const s of stations) {
        for (const d of s.drives) {
          drives++;
          if (driveStatus(d, ctx.state.jobOnDrive(d)) === 'working') working++;
        }
      }
      const parts = [`${stations.length} station${stations.length === 1 ? '' : 's'}`, `${drives} drive${drives === 1 ? '' : 's'}`];
      if (working) parts.push(`${working} working`);
      if (offline) parts.push(`${offline} offline`);
      setText(summary, ctx.state.hasSnapshot ? parts.join(' · ') : 'Loading…');
    },
    setConnection(next, nextSyncing) {
      status = next;
      syncing = nextSyncing;
      renderConnection();
    },
    tick() {
      const now = ctx.now();
      setText(clock, formatClock(now, now));
      clock.dateTime = new Date(now).toISOString();
      if (status.state !== 'open') renderConnection();
    },
  };
}
