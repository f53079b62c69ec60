// Small DOM helpers for the views: element creation, writes that touch the DOM only when a value changed, and a
// keyed list that reuses, reorders, adds and removes child components by key (the whole of the page's "framework").
export type Child = Node | string | false | null | undefined;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K, props: { class?: string; text?: string; attrs?: Record<string, string> } | string = {}, ...children: Child[]
): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  const options = typeof props === 'string' ? { class: props } : props;
  if (options.class) element.className = options.class;
  if (options.text !== undefined) element.textContent = options.text;
  for (const [name, value] of Object.entries(options.attrs ?? {})) element.setAttribute(name, value);
  for (const child of children) if (child !== false && child !== null && child !== undefined) element.append(child);
  return element;
}

export function button(label: string, className: string, onClick: (event: MouseEvent) => void, attrs: Record<string, string> = {}): HTMLButtonElement {
  const element = h('button', { class: className, text: label, attrs: { type: 'button', ...attrs } });
  element.addEventListener('click', onClick);
  return element;
}

/** Sets text only when it differs: no layout work for an unchanged value. */
export function setText(element: Element, text: string): void {
  if (element.textContent !== text) element.textContent = text;
}

export function setAttr(element: Element, name: string, value: string | undefined): void {
  if (value === undefined) {
    if (element.hasAttribute(name)) element.removeAttribute(name);
  } else if (element.getAttribute(name) !== value) {
    element.setAttribute(name, value);
  }
}

export function show(element: HTMLElement, visible: boolean): void {
  if (element.hidden === visible) element.hidden = !visible;
}

export function setClass(element: Element, name: string, on: boolean): void {
  if (element.classList.contains(name) !== on) element.classList.toggle(name, on);
}

/** A progress bar: a track and a fill scaled on the GPU (no layout per update), with its ARIA value. */
export function progressBar(className: string, label: string): { el: HTMLElement; set(percent: number | undefined): void } {
  const fill = h('div', 'bar-fill');
  const el = h('div', { class: `bar ${className}`, attrs: { role: 'progressbar', 'aria-label': label, 'aria-valuemin': '0', 'aria-valuemax': '100' } }, fill);
  let last: number | undefined = -1;
  return {
    el,
    set(percent) {
      const value = percent === undefined ? undefined : Math.min(100, Math.max(0, percent));
      if (value === last) return;
      last = value;
      setClass(el, 'indeterminate', value === undefined);
      fill.style.transform = `scaleX(${(value ?? 0) / 100})`;
      setAttr(el, 'aria-valuenow', value === undefined ? undefined : String(Math.floor(value)));
    },
  };
}

export interface Component {
  el: HTMLElement;
}

/**
 * Makes `container`'s children the components of `items`, in order: existing ones (by key) are updated and moved only
 * if out of place, new ones created, missing ones removed.
 */
export function keyedList<T, C extends Component>(
  container: HTMLElement, cache: Map<string, C>, items: readonly T[], key: (item: T) => string, create: (item: T) => C, update: (component: C, item: T) => void,
): void {
  const wanted = new Set<string>();
  let cursor: ChildNode | null = container.firstChild;
  for (const item of items) {
    const k = key(item);
    wanted.add(k);
    let component = cache.get(k);
    if (!component) {
      component = create(item);
      cache.set(k, component);
    }
    update(component, item);
    if (component.el === cursor) {
      cursor = cursor.nextSibling;
    } else {
      container.insertBefore(component.el, cursor);
    }
  }
  for (const [k, component] of cache) {
    if (!wanted.has(k)) {
      component.el.remove();
      cache.delete(k);
    }
  }
}
