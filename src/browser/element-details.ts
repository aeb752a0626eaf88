/**
 * What the audit record says about the element a user activated: its label
 * and a short name of the element, both bounded.
 */

/** Characters of a label kept. */
export const MAX_LABEL_CHARS = 64;
/** Characters of the element name (`tag#id`) kept. */
export const MAX_ELEMENT_CHARS = 64;
/**
 * What counts as the activated element when the click lands inside it (the
 * icon or the text of a button): the closest of these, else the target.
 */
const ACTIONABLE = 'button, a[href], input, select, textarea, summary, label, [role="button"], [role="link"], [role="menuitem"], [role="tab"], [role="checkbox"], [role="switch"], [role="option"]';
/** Input types whose value is the visible caption of a button (other inputs' values are what the user typed). */
const BUTTON_INPUTS = new Set(['button', 'submit', 'reset']);

/** The user interaction, as carried in the `audit.ui.*` baggage entries. */
export interface UiDetails {
  /** `audit.ui.label`: aria-label, else the trimmed text content. */
  label?: string;
  /** `audit.ui.element`: tag name and id, e.g. `button#delete-user`. */
  element: string;
  /** `audit.ui.event`: the event type, e.g. `click`. */
  event: string;
}

/** Whitespace collapsed, trimmed, at most `max` characters (cut with `…`). */
export function boundedText(text: string, max: number): string {
  const t = text.replace(/\s+/g, ' ').trim();
  return t.length <= max ? t : `${t.slice(0, max - 1)}…`;
}

/** The element of `target` that was activated: the closest actionable one, else the target itself. */
export function activatedElement(target: EventTarget | null): Element | undefined {
  if (target === null || typeof (target as Element).closest !== 'function') return undefined;
  const element = target as Element;
  return element.closest(ACTIONABLE) ?? element;
}

/** aria-label, else the caption of a button input, else the text content; undefined when empty. */
export function labelOf(element: Element): string | undefined {
  const aria = element.getAttribute('aria-label');
  let text = aria !== null && aria.trim() !== '' ? aria : undefined;
  if (text === undefined && element.tagName === 'INPUT') {
    const input = element as HTMLInputElement;
    if (BUTTON_INPUTS.has(input.type)) text = input.value;
  } else if (text === undefined && element.tagName !== 'SELECT' && element.tagName !== 'TEXTAREA') {
    text = element.textContent ?? undefined;
  }
  if (text === undefined) return undefined;
  const label = boundedText(text, MAX_LABEL_CHARS);
  return label === '' ? undefined : label;
}

/** `tag#id`, lower-case tag; the id only when the element has one. */
export function elementName(element: Element): string {
  const tag = element.tagName.toLowerCase();
  return boundedText(element.id === '' ? tag : `${tag}#${element.id}`, MAX_ELEMENT_CHARS);
}

/**
 * The details of an event on `target`, or undefined when the target is not
 * an element. `label` replaces {@link labelOf} (return undefined to carry no
 * label); its result is bounded the same way.
 */
export function uiDetails(target: EventTarget | null, event: string, label: (element: Element) => string | undefined = labelOf): UiDetails | undefined {
  const element = activatedElement(target);
  if (element === undefined) return undefined;
  const raw = label(element);
  const bounded = raw === undefined ? undefined : boundedText(String(raw), MAX_LABEL_CHARS);
  return { ...(bounded ? { label: bounded } : {}), element: elementName(element), event };
}
