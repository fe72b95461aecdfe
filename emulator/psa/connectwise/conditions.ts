// The `conditions` query parameter of ConnectWise list endpoints, the subset clients use:
// comparisons on `a/b` paths joined by and/or with parentheses, e.g.
//   company/id = 250 and (cancelledDate = null or cancelledDate > [2025-01-01T00:00:00Z])
// Strings compare case-insensitively, as on ConnectWise's SQL Server collation.

type Literal = string | number | boolean | null | Date;
type Comparison = '=' | '!=' | '<' | '>' | '<=' | '>=' | 'contains' | 'like';

export type Condition =
  | { kind: 'and' | 'or'; left: Condition; right: Condition }
  | { kind: 'compare'; path: string[]; op: Comparison; value: Literal }
  | { kind: 'in'; path: string[]; negated: boolean; values: Literal[] };

export class ConditionsError extends Error {}

type Token =
  | { type: 'word'; text: string }
  | { type: 'op'; text: string }
  | { type: 'literal'; value: Literal }
  | { type: 'punct'; text: '(' | ')' | ',' };

function tokenize(input: string): Token[] {
  const tokens: Token[] = [];
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (/\s/.test(c)) i += 1;
    else if (c === '(' || c === ')' || c === ',') {
      tokens.push({ type: 'punct', text: c });
      i += 1;
    } else if (c === "'" || c === '"') {
      const end = input.indexOf(c, i + 1);
      if (end < 0) throw new ConditionsError(`unterminated string at position ${i}`);
      tokens.push({ type: 'literal', value: input.slice(i + 1, end) });
      i = end + 1;
    } else if (c === '[') {
      const end = input.indexOf(']', i);
      const date = end < 0 ? NaN : Date.parse(input.slice(i + 1, end));
      if (Number.isNaN(date)) throw new ConditionsError(`invalid date at position ${i}`);
      tokens.push({ type: 'literal', value: new Date(date) });
      i = end + 1;
    } else if (/[<>=!]/.test(c)) {
      const op = /^(<=|>=|!=|<>|=|<|>)/.exec(input.slice(i))?.[1];
      if (!op) throw new ConditionsError(`unknown operator at position ${i}`);
      tokens.push({ type: 'op', text: op === '<>' ? '!=' : op });
      i += op.length;
    } else {
      const word = /^[A-Za-z0-9_./+:-]+/.exec(input.slice(i))?.[0];
      if (!word) throw new ConditionsError(`unexpected '${c}' at position ${i}`);
      tokens.push(wordToken(word));
      i += word.length;
    }
  }
  return tokens;
}

function wordToken(word: string): Token {
  const lower = word.toLowerCase();
  if (lower === 'true' || lower === 'false') return { type: 'literal', value: lower === 'true' };
  if (lower === 'null') return { type: 'literal', value: null };
  if (/^-?\d+(\.\d+)?$/.test(word)) return { type: 'literal', value: Number(word) };
  return { type: 'word', text: word };
}

/** Parses a conditions string; throws ConditionsError saying what is wrong and where. */
export function parseConditions(input: string): Condition {
  const tokens = tokenize(input);
  let at = 0;
  const peekWord = () => {
    const t = tokens[at];
    return t?.type === 'word' ? t.text.toLowerCase() : undefined;
  };
  const expectPunct = (text: string) => {
    const t = tokens[at];
    if (t?.type !== 'punct' || t.text !== text) throw new ConditionsError(`expected '${text}'`);
    at += 1;
  };
  const literal = (): Literal => {
    const t = tokens[at];
    if (t?.type !== 'literal') throw new ConditionsError('expected a value');
    at += 1;
    return t.value;
  };

  const comparison = (): Condition => {
    const t = tokens[at];
    if (t?.type === 'punct' && t.text === '(') {
      at += 1;
      const inner = or();
      expectPunct(')');
      return inner;
    }
    if (t?.type !== 'word') throw new ConditionsError('expected a field name');
    at += 1;
    const path = t.text.split('/');
    const next = tokens[at];
    if (next?.type === 'op') {
      at += 1;
      return { kind: 'compare', path, op: next.text as Comparison, value: literal() };
    }
    const word = peekWord();
    const negated = word === 'not';
    if (negated) at += 1;
    const keyword = peekWord();
    if (keyword === 'in') {
      at += 1;
      expectPunct('(');
      const values = [literal()];
      while (tokens[at]?.type === 'punct' && (tokens[at] as { text: string }).text === ',') {
        at += 1;
        values.push(literal());
      }
      expectPunct(')');
      return { kind: 'in', path, negated, values };
    }
    if (!negated && (keyword === 'contains' || keyword === 'like')) {
      at += 1;
      return { kind: 'compare', path, op: keyword, value: literal() };
    }
    throw new ConditionsError(`expected an operator after ${t.text}`);
  };
  const and = (): Condition => {
    let left = comparison();
    while (peekWord() === 'and') {
      at += 1;
      left = { kind: 'and', left, right: comparison() };
    }
    return left;
  };
  const or = (): Condition => {
    let left = and();
    while (peekWord() === 'or') {
      at += 1;
      left = { kind: 'or', left, right: and() };
    }
    return left;
  };

  const condition = or();
  if (at < tokens.length) throw new ConditionsError('unexpected text after the condition');
  return condition;
}

/** The value at an `a/b` path of a record, or undefined when a step is missing. */
export function valueAt(record: unknown, path: string[]): unknown {
  let value = record;
  for (const step of path) {
    if (value === null || typeof value !== 'object') return undefined;
    const entry = Object.entries(value).find(([k]) => k.toLowerCase() === step.toLowerCase());
    value = entry?.[1];
  }
  return value;
}

/** A field's value as text; objects (references) compare by their JSON. */
function asText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return v === undefined || v === null ? '' : JSON.stringify(v);
}

/** Orders two values of one field: numbers, dates (ISO strings) and strings. */
export function compareValues(a: unknown, b: unknown): number {
  const date = (v: unknown) =>
    v instanceof Date ? v.getTime() : typeof v === 'string' ? Date.parse(v) : NaN;
  if (a instanceof Date || b instanceof Date) return date(a) - date(b);
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  return asText(a).localeCompare(asText(b), 'en', { sensitivity: 'accent' });
}

function equal(actual: unknown, expected: Literal): boolean {
  if (expected === null) return actual === null || actual === undefined || actual === '';
  if (actual === undefined || actual === null) return false;
  return compareValues(actual, expected) === 0;
}

function like(actual: unknown, pattern: string): boolean {
  const body = pattern
    .split('')
    .map((c) => (c === '%' || c === '*' ? '.*' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
    .join('');
  return new RegExp(`^${body}$`, 'is').test(asText(actual));
}

/** Whether a record (as the API shows it) satisfies the condition. */
export function matches(record: unknown, condition: Condition): boolean {
  switch (condition.kind) {
    case 'and':
      return matches(record, condition.left) && matches(record, condition.right);
    case 'or':
      return matches(record, condition.left) || matches(record, condition.right);
    case 'in': {
      const actual = valueAt(record, condition.path);
      return condition.values.some((v) => equal(actual, v)) !== condition.negated;
    }
    case 'compare': {
      const actual = valueAt(record, condition.path);
      const { op, value } = condition;
      if (op === '=') return equal(actual, value);
      if (op === '!=') return !equal(actual, value);
      if (op === 'contains')
        return asText(actual).toLowerCase().includes(String(value).toLowerCase());
      if (op === 'like') return like(actual, String(value));
      if (actual === undefined || actual === null || value === null) return false;
      const order = compareValues(actual, value);
      return op === '<'
        ? order < 0
        : op === '>'
          ? order > 0
          : op === '<='
            ? order <= 0
            : order >= 0;
    }
  }
}
