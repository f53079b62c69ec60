// The page's icons as inline SVG (no font or network needed): each state has a shape as well as a colour, so colour
// is never the only signal. Icons are decorative (aria-hidden); the text beside them says the same.
const PATHS: Record<string, string> = {
  disc: '<circle cx="12" cy="12" r="9"/><circle cx="12" cy="12" r="2.5"/>',
  empty: '<circle cx="12" cy="12" r="9" stroke-dasharray="3 3"/>',
  spin: '<path d="M12 3a9 9 0 1 0 9 9"/><path d="M21 4v8h-8" transform="rotate(0)"/>',
  check: '<circle cx="12" cy="12" r="9"/><path d="M7.5 12.5l3 3 6-6.5"/>',
  cross: '<circle cx="12" cy="12" r="9"/><path d="M8.5 8.5l7 7M15.5 8.5l-7 7"/>',
  stop: '<circle cx="12" cy="12" r="9"/><rect x="8.5" y="8.5" width="7" height="7" rx="1"/>',
  warn: '<path d="M12 3.5l9.5 16.5h-19z"/><path d="M12 10v4.5M12 17.2v.3"/>',
  pause: '<circle cx="12" cy="12" r="9"/><path d="M10 8.5v7M14 8.5v7"/>',
  offline: '<path d="M3 3l18 18"/><path d="M8.5 16.5a5 5 0 0 1 7 0M5 13a10 10 0 0 1 4-2.5M19 13a10 10 0 0 0-3.2-2.2M2 9.5a15 15 0 0 1 5-3M22 9.5a15 15 0 0 0-10-4"/>',
  online: '<path d="M8.5 16.5a5 5 0 0 1 7 0M5 13a10 10 0 0 1 14 0M2 9.5a15 15 0 0 1 20 0"/><circle cx="12" cy="19.5" r=".8"/>',
  eject: '<path d="M12 5l7 8H5z"/><path d="M5 18h14"/>',
  play: '<path d="M8 5.5v13l10.5-6.5z"/>',
  rescan: '<path d="M20 12a8 8 0 1 1-2.3-5.7"/><path d="M20 4v5h-5"/>',
  log: '<path d="M6 4h9l3 3v13H6z"/><path d="M9 10h6M9 13.5h6M9 17h4"/>',
  clock: '<circle cx="12" cy="12" r="9"/><path d="M12 7v5l3.5 2"/>',
  hourglass: '<path d="M7 3h10M7 21h10M8 3c0 5 8 5 8 9s-8 4-8 9M16 3c0 5-8 5-8 9s8 4 8 9"/>',
  text: '<path d="M4 18l5-12 5 12M5.8 14h6.4M15 18l3-7 3 7M15.9 16h4.2"/>',
  close: '<path d="M6 6l12 12M18 6L6 18"/>',
};

export type IconName = keyof typeof PATHS;

export function icon(name: IconName, className = ''): SVGSVGElement {
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 24 24');
  svg.setAttribute('aria-hidden', 'true');
  svg.setAttribute('focusable', 'false');
  svg.setAttribute('class', `icon ${className}`.trim());
  svg.innerHTML = PATHS[name] ?? '';
  return svg;
}

/** Swaps an icon in place when the state it shows changes. */
export function setIcon(holder: Element, name: IconName, className = ''): void {
  if (holder.getAttribute('data-icon') === name) return;
  holder.setAttribute('data-icon', name);
  holder.replaceChildren(icon(name, className));
}
