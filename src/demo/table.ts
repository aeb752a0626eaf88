/**
 * Plain-text tables for a terminal: left-aligned columns separated by two
 * spaces, a rule under the header, fitted to a maximum width by shortening
 * the columns that allow it (with `…`).
 */

export interface Column {
  header: string;
  /** May be shortened to fit the width; the header always stays whole. */
  shrink?: boolean;
  /** Right-align (numbers). */
  right?: boolean;
}

export interface TableOptions {
  /** Widest line wanted, in characters. Default 120. */
  maxWidth?: number;
}

const GAP = '  ';

/**
 * A value as one line that cannot upset a terminal: control characters
 * (escape sequences, line breaks) become `�`.
 */
export function printable(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f-\u009f]/g, '\ufffd');
}

function width(text: string): number {
  return [...text].length;
}

function fit(text: string, w: number): string {
  const chars = [...text];
  if (chars.length <= w) return text;
  return w <= 1 ? '…'.slice(0, w) : chars.slice(0, w - 1).join('') + '…';
}

function pad(text: string, w: number, right: boolean): string {
  const room = ' '.repeat(Math.max(0, w - width(text)));
  return right ? room + text : text + room;
}

/**
 * Format rows (one string per column) as a table. When the natural width
 * exceeds `maxWidth`, the widest shrinkable column loses a character at a
 * time, never below its header; what still does not fit is left wider.
 */
export function formatTable(columns: readonly Column[], rows: readonly (readonly string[])[], options: TableOptions = {}): string {
  const maxWidth = options.maxWidth ?? 120;
  const cells = rows.map((row) => columns.map((_, i) => printable(row[i] ?? '')));
  const widths = columns.map((c, i) => Math.max(width(c.header), ...cells.map((r) => width(r[i] as string))));
  const total = (): number => widths.reduce((a, b) => a + b, 0) + GAP.length * (columns.length - 1);
  while (total() > maxWidth) {
    let pick = -1;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i] as Column;
      if (!c.shrink || (widths[i] as number) <= width(c.header)) continue;
      if (pick < 0 || (widths[i] as number) > (widths[pick] as number)) pick = i;
    }
    if (pick < 0) break;
    widths[pick] = (widths[pick] as number) - 1;
  }
  const line = (values: readonly string[]): string =>
    columns
      .map((c, i) => pad(fit(values[i] as string, widths[i] as number), widths[i] as number, c.right === true))
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.header)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)].join('\n') + '\n';
}
