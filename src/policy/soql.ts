/**
 * Which sObject types a SOQL query reads, so a cached `GET …/query?q=<SOQL>` response can be
 * tagged with them and a write to an Account invalidates queries over Account only. Pure, no
 * dependencies, never throws.
 *
 * This is a tokenizer plus a shallow parser, not a SOQL grammar. Names come from the query text
 * alone; without describe metadata some must be guessed (see `childObjectName` and
 * `parentObjectName`). An empty result means "not understood", not "reads nothing": callers
 * must not treat an untagged query as safe to keep forever.
 */

/**
 * Longer input is not parsed (the result is []): the work is linear, but a cap keeps one hostile
 * `q` parameter from costing much. Salesforce itself limits SOQL to 100 000 characters.
 */
export const MAX_SOQL_LENGTH = 100_000;

/** Deeper parenthesis nesting is not parsed (the result is []); real queries stay far below. */
const MAX_DEPTH = 64;

/** Comparison form of an sObject name: Salesforce names are case-insensitive. */
export function normaliseObjectName(name: string): string {
  return name.toLowerCase();
}

/**
 * sObject type names a SOQL query reads from, for invalidation tags (deduplicated
 * case-insensitively, in first-seen order: a query's own FROM object, then the names in its
 * text in order of appearance; the spelling of the first occurrence is kept).
 *
 * Read: the main FROM; child relationship subqueries in the SELECT list (any depth); semi- and
 * anti-join subqueries (`IN` / `NOT IN (SELECT … FROM X)`); parent relationship paths anywhere
 * (`Account.Owner.Name` → Account, User); `TYPEOF … WHEN X THEN …` types. String literals are
 * skipped. Input that is not a SELECT (SOSL, garbage), malformed (unbalanced parentheses or
 * quotes, no FROM), nested deeper than 64 or longer than `MAX_SOQL_LENGTH` gives [].
 * Expects decoded text, as `URLSearchParams.get('q')` returns it.
 */
export function soqlObjects(soql: string): string[] {
  if (typeof soql !== 'string' || soql.length > MAX_SOQL_LENGTH) return [];
  const tokens = tokenize(soql);
  if (tokens === null) return [];
  const found = new Map<string, string>();
  const add = (name: string): void => {
    const key = normaliseObjectName(name);
    if (!found.has(key)) found.set(key, name);
  };
  return readQuery(tokens, 'main', add) ? [...found.values()] : [];
}

// --- tokens ----------------------------------------------------------------------------------

type Token =
  | { readonly kind: 'word'; readonly text: string }
  | { readonly kind: 'group'; readonly items: Token[] }
  /** A string literal, number, date literal, bind variable or punctuation: never a name. */
  | { readonly kind: 'other' };

const OTHER: Token = { kind: 'other' };

const isWordStart = (c: string): boolean => /[A-Za-z_]/.test(c);
const isWordPart = (c: string): boolean => /[A-Za-z0-9_.]/.test(c);
/** Numbers and date/datetime literals: `10`, `1.5`, `2024-01-01T00:00:00+08:00`. */
const isLiteralPart = (c: string): boolean => /[A-Za-z0-9_.:+-]/.test(c);

/** Words (names and dotted paths, keywords included) grouped by parentheses; null if malformed. */
function tokenize(text: string): Token[] | null {
  const stack: Token[][] = [[]];
  let current = stack[0]!;
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === "'") {
      // Backslash escapes (\' \\ \n …); an unterminated literal makes the query malformed.
      i++;
      while (i < text.length && text[i] !== "'") i += text[i] === '\\' ? 2 : 1;
      if (i >= text.length) return null;
      i++;
      current.push(OTHER);
    } else if (c === '(') {
      if (stack.length > MAX_DEPTH) return null;
      const group: Token[] = [];
      current.push({ kind: 'group', items: group });
      stack.push(group);
      current = group;
      i++;
    } else if (c === ')') {
      if (stack.length === 1) return null;
      stack.pop();
      current = stack[stack.length - 1]!;
      i++;
    } else if (isWordStart(c)) {
      const start = i;
      while (i < text.length && isWordPart(text[i]!)) i++;
      current.push({ kind: 'word', text: text.slice(start, i) });
    } else if (/[0-9]/.test(c)) {
      while (i < text.length && isLiteralPart(text[i]!)) i++;
      current.push(OTHER);
    } else if (c === ':' && i + 1 < text.length && isWordStart(text[i + 1]!)) {
      // Apex bind variable (`:ids`, `:acct.Id`): not a field path.
      i++;
      while (i < text.length && isWordPart(text[i]!)) i++;
      current.push(OTHER);
    } else {
      current.push(OTHER);
      i++;
    }
  }
  return stack.length === 1 ? current : null;
}

// --- queries ---------------------------------------------------------------------------------

/** `main`: the outer query; `child`: a subquery in a SELECT list; `semi`: a subquery in WHERE. */
type QueryKind = 'main' | 'child' | 'semi';

/** Words after a FROM object that start the next clause, so are not an alias. */
const CLAUSE_WORDS = new Set(['WHERE', 'WITH', 'USING', 'GROUP', 'ORDER', 'HAVING', 'LIMIT', 'OFFSET', 'FOR', 'UPDATE']);
/** Reserved words that cannot be an object name after FROM. */
const RESERVED = new Set([...CLAUSE_WORDS, 'SELECT', 'FROM', 'AS', 'AND', 'OR', 'NOT', 'IN', 'TYPEOF']);
const NAME = /^[A-Za-z][A-Za-z0-9_]*$/;

const isWord = (token: Token | undefined, keyword: string): boolean =>
  token?.kind === 'word' && token.text.toUpperCase() === keyword;

/** Reports the names one query reads to `add`; false if it is not a query we understand. */
function readQuery(items: Token[], kind: QueryKind, add: (name: string) => void): boolean {
  if (!isWord(items[0], 'SELECT')) return false;
  const from = items.findIndex((token, index) => index > 0 && isWord(token, 'FROM'));
  if (from < 2) return false;
  const target = items[from + 1];
  if (target?.kind !== 'word') return false;
  // A child subquery may name its relationship through the outer alias (`FROM a.Contacts`).
  const name = kind === 'child' ? (target.text.split('.').pop() ?? '') : target.text;
  if (!NAME.test(name) || RESERVED.has(name.toUpperCase())) return false;
  add(kind === 'child' ? childObjectName(name) : name);

  let skipTo = from + 2;
  let alias: string | undefined;
  const next = items[skipTo];
  if (isWord(next, 'AS')) {
    const aliasToken = items[skipTo + 1];
    if (aliasToken?.kind !== 'word' || !NAME.test(aliasToken.text)) return false;
    alias = aliasToken.text;
    skipTo += 2;
  } else if (next?.kind === 'word' && NAME.test(next.text) && !CLAUSE_WORDS.has(next.text.toUpperCase())) {
    alias = next.text;
    skipTo += 1;
  }

  const context: Context = { alias: alias === undefined ? undefined : normaliseObjectName(alias), add };
  return readItems(items.slice(1, from), 'select', context) && readItems(items.slice(skipTo), 'clauses', context);
}

interface Context {
  /** The query's alias, lower-cased, to strip from field paths (`a.Owner.Name`). */
  readonly alias: string | undefined;
  readonly add: (name: string) => void;
}

/**
 * Walks one stretch of a query: field paths, TYPEOF types and subqueries. Parenthesised
 * non-queries (function arguments, grouped conditions) are walked as part of the same stretch.
 */
function readItems(items: Token[], part: 'select' | 'clauses', context: Context): boolean {
  let inTypeof = false;
  for (let i = 0; i < items.length; i++) {
    const token = items[i]!;
    if (token.kind === 'group') {
      if (isWord(token.items[0], 'SELECT')) {
        if (!readQuery(token.items, part === 'select' ? 'child' : 'semi', context.add)) return false;
      } else if (!readItems(token.items, part, context)) {
        return false;
      }
    } else if (token.kind === 'word') {
      const upper = token.text.toUpperCase();
      if (upper === 'TYPEOF') {
        inTypeof = true;
        i++; // the polymorphic field itself (What, Who, Owner): unresolvable, skip
      } else if (inTypeof && upper === 'END') {
        inTypeof = false;
      } else if (inTypeof && upper === 'WHEN') {
        const type = items[i + 1];
        if (type?.kind === 'word' && NAME.test(type.text)) context.add(type.text);
        i++;
      } else if (token.text.includes('.')) {
        readFieldPath(token.text, context);
      }
    }
  }
  return true;
}

/** `Account.Owner.Name` reads Account and User; the last segment is the field itself. */
function readFieldPath(path: string, context: Context): void {
  const segments = path.split('.');
  if (segments.some((segment) => !NAME.test(segment))) return;
  if (context.alias !== undefined && normaliseObjectName(segments[0]!) === context.alias) segments.shift();
  for (const relationship of segments.slice(0, -1)) {
    const object = parentObjectName(relationship);
    if (object !== null) context.add(object);
  }
}

// --- name heuristics -------------------------------------------------------------------------
// The exact object behind a relationship name is in describe metadata (`childRelationships`,
// `referenceTo`), which a pure function does not have. These guesses cover the common standard
// names; a wrong guess means a tag that no write matches, so that relationship goes stale until
// the entry's TTL. Known misses: irregular standard names (`ChildAccounts` → Account,
// `Histories` → AccountHistory, `Shares` → AccountShare), and custom relationships whose name
// differs from the target object (`Primary_Contact__r` → Contact).

/** Parent relationships whose target is always User. */
const USER_RELATIONSHIPS = new Set(['owner', 'createdby', 'lastmodifiedby']);
/**
 * Polymorphic parents whose target depends on the row: skipped (use TYPEOF to name the types).
 * Owner is polymorphic on Case and Lead (User or Group/queue) but is mapped to User regardless.
 */
const POLYMORPHIC = new Set(['what', 'who']);

/** Matches the case of the replaced suffix's first letter (`__R` → `__C`, `IES` → `Y`). */
const replaceSuffix = (name: string, length: number, lower: string): string =>
  name.slice(0, -length) + (name.at(-length) === name.at(-length)!.toUpperCase() ? lower.toUpperCase() : lower);

/** Custom relationship `Foo__r` (also namespaced `ns__Foo__r`) → object `Foo__c`. */
function customObjectName(relationship: string): string | null {
  return /__r$/i.test(relationship) ? replaceSuffix(relationship, 1, 'c') : null;
}

/**
 * Child relationship name → object: `Foo__r` → `Foo__c`; standard plurals lose `ies` → `y`
 * (`Opportunities` → Opportunity) or a single trailing `s` (`Contacts` → Contact).
 */
function childObjectName(relationship: string): string {
  const custom = customObjectName(relationship);
  if (custom !== null) return custom;
  if (/ies$/i.test(relationship)) return replaceSuffix(relationship, 3, 'y');
  if (/[^s]s$/i.test(relationship)) return relationship.slice(0, -1);
  return relationship;
}

/** Parent relationship name → object, or null when the target cannot be known (What, Who). */
function parentObjectName(relationship: string): string | null {
  const lower = normaliseObjectName(relationship);
  if (POLYMORPHIC.has(lower)) return null;
  if (USER_RELATIONSHIPS.has(lower)) return 'User';
  return customObjectName(relationship) ?? relationship;
}
