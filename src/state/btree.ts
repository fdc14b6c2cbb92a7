/**
 * btree: a sorted in-memory map from string keys to values (a B+tree).
 *
 * Keys are ordered by code point, which is Consul's UTF-8 byte order (see
 * keyorder.ts). Leaves hold keys and values; internal nodes hold separators
 * (sep[i] <= every key of child i+1, > every key of child i) and children.
 * get/set/delete cost O(log n); iteration from a key or over a prefix costs
 * O(log n + k); deleteRange(prefix) drops whole covered subtrees and only
 * walks the two boundary paths, O(log n + k) (k to count what it removed).
 * Occupancy is relaxed after range deletes (nodes may be under half full,
 * never empty); neighbours are merged or rebalanced when they underflow, and
 * all leaves stay at the same depth.
 *
 * Must never: compare keys with localeCompare, recurse deeper than the tree
 * height, or hand out its internal arrays.
 */

import { BTREE_NODE_MAX } from "../shared/limits.ts";
import { isPlainKey, lessThan } from "./keyorder.ts";

const MAX = BTREE_NODE_MAX;
const MIN = MAX >> 1;

interface Leaf<V> {
  readonly leaf: true;
  keys: string[];
  values: V[];
}
interface Internal<V> {
  readonly leaf: false;
  keys: string[]; // separators, length = children.length - 1
  children: Node<V>[];
}
type Node<V> = Leaf<V> | Internal<V>;

function newLeaf<V>(keys: string[] = [], values: V[] = []): Leaf<V> {
  return { leaf: true, keys, values };
}
function newInternal<V>(keys: string[], children: Node<V>[]): Internal<V> {
  return { leaf: false, keys, children };
}
function width<V>(n: Node<V>): number {
  return n.leaf ? n.keys.length : n.children.length;
}

/** First index i with keys[i] >= key. */
function lowerBound(keys: readonly string[], key: string, plain: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lessThan(keys[mid]!, key, plain)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
/** Child of an internal node that may hold key: number of separators <= key. */
function childIndex(keys: readonly string[], key: string, plain: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (lessThan(key, keys[mid]!, plain)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Visitor for iteration: return false to stop. */
export type Visit<V> = (key: string, value: V) => boolean | void;

export class BTree<V> {
  private root: Node<V> = newLeaf<V>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Builds a tree from keys in strictly increasing order, O(n). */
  static fromSorted<V>(keys: readonly string[], values: readonly V[]): BTree<V> {
    const t = new BTree<V>();
    const n = keys.length;
    if (n === 0) return t;
    const fill = Math.max(MIN, Math.floor((MAX * 3) / 4));
    let level: Node<V>[] = [];
    let lows: string[] = [];
    for (let i = 0; i < n; i += fill) {
      const end = Math.min(n, i + fill);
      level.push(newLeaf(keys.slice(i, end), values.slice(i, end)));
      lows.push(keys[i]!);
    }
    while (level.length > 1) {
      const next: Node<V>[] = [];
      const nextLows: string[] = [];
      for (let i = 0; i < level.length; i += fill) {
        const end = Math.min(level.length, i + fill);
        next.push(newInternal(lows.slice(i + 1, end), level.slice(i, end)));
        nextLows.push(lows[i]!);
      }
      level = next;
      lows = nextLows;
    }
    t.root = level[0]!;
    t.count = n;
    return t;
  }

  get(key: string): V | undefined {
    const plain = isPlainKey(key);
    let node = this.root;
    while (!node.leaf) node = node.children[childIndex(node.keys, key, plain)]!;
    const i = lowerBound(node.keys, key, plain);
    return i < node.keys.length && node.keys[i] === key ? node.values[i] : undefined;
  }

  has(key: string): boolean {
    return this.get(key) !== undefined;
  }

  /** Inserts or replaces; returns the previous value. */
  set(key: string, value: V): V | undefined {
    const plain = isPlainKey(key);
    const path: Internal<V>[] = [];
    const idx: number[] = [];
    let node = this.root;
    while (!node.leaf) {
      const c = childIndex(node.keys, key, plain);
      path.push(node);
      idx.push(c);
      node = node.children[c]!;
    }
    const i = lowerBound(node.keys, key, plain);
    if (i < node.keys.length && node.keys[i] === key) {
      const prev = node.values[i];
      node.values[i] = value;
      return prev;
    }
    node.keys.splice(i, 0, key);
    node.values.splice(i, 0, value);
    this.count++;
    // Split upward while over capacity.
    let cur: Node<V> = node;
    for (let level = path.length - 1; width(cur) > MAX; level--) {
      const [sep, right] = split(cur);
      if (level < 0) {
        this.root = newInternal([sep], [cur, right]);
        break;
      }
      const parent = path[level]!;
      const c = idx[level]!;
      parent.keys.splice(c, 0, sep);
      parent.children.splice(c + 1, 0, right);
      cur = parent;
    }
    return undefined;
  }

  /** Removes key; returns the removed value. */
  delete(key: string): V | undefined {
    const plain = isPlainKey(key);
    const path: Internal<V>[] = [];
    const idx: number[] = [];
    let node = this.root;
    while (!node.leaf) {
      const c = childIndex(node.keys, key, plain);
      path.push(node);
      idx.push(c);
      node = node.children[c]!;
    }
    const i = lowerBound(node.keys, key, plain);
    if (i >= node.keys.length || node.keys[i] !== key) return undefined;
    const prev = node.values[i];
    node.keys.splice(i, 1);
    node.values.splice(i, 1);
    this.count--;
    for (let level = path.length - 1; level >= 0; level--) {
      const parent = path[level]!;
      const child = parent.children[idx[level]!]!;
      if (width(child) >= MIN) break;
      fixChild(parent, idx[level]!);
    }
    this.collapseRoot();
    return prev;
  }

  /** Visits entries with key >= start in order until visit returns false. */
  forEachFrom(start: string, visit: Visit<V>): void {
    walkFrom(this.root, start, isPlainKey(start), visit);
  }

  /** Visits entries whose key starts with prefix, in order. */
  forEachPrefix(prefix: string, visit: Visit<V>): void {
    if (prefix === "") {
      walkFrom(this.root, "", true, visit);
      return;
    }
    walkFrom(this.root, prefix, isPlainKey(prefix), (k, v) => {
      if (!k.startsWith(prefix)) return false;
      return visit(k, v);
    });
  }

  /** Visits every entry in order. */
  forEach(visit: Visit<V>): void {
    walkFrom(this.root, "", true, visit);
  }

  /** Removes every key starting with prefix; returns how many. onRemove sees each, in order. */
  deleteRange(prefix: string, onRemove?: (key: string, value: V) => void): number {
    if (prefix === "") {
      const n = this.count;
      if (onRemove) this.forEach((k, v) => void onRemove(k, v));
      this.clear();
      return n;
    }
    const removed = rangeDelete(this.root, prefix, isPlainKey(prefix), onRemove);
    this.count -= removed;
    this.collapseRoot();
    return removed;
  }

  clear(): void {
    this.root = newLeaf<V>();
    this.count = 0;
  }

  /** Height (1 = a single leaf); for tests. */
  height(): number {
    let h = 1;
    let n = this.root;
    while (!n.leaf) {
      n = n.children[0]!;
      h++;
    }
    return h;
  }

  /** Checks ordering, separators and uniform depth; throws on violation (tests). */
  checkInvariants(): void {
    let depth = -1;
    let seen = 0;
    const check = (n: Node<V>, lo: string | null, hi: string | null, d: number): void => {
      const inBounds = (k: string): boolean =>
        (lo === null || !lessThan(k, lo, false)) && (hi === null || lessThan(k, hi, false));
      if (n.leaf) {
        if (depth === -1) depth = d;
        if (depth !== d) throw new Error("btree: leaves at different depths");
        if (n.keys.length !== n.values.length) throw new Error("btree: keys/values length");
        if (n !== this.root && n.keys.length === 0) throw new Error("btree: empty leaf");
        for (let i = 0; i < n.keys.length; i++) {
          if (!inBounds(n.keys[i]!)) throw new Error(`btree: key out of bounds ${n.keys[i]}`);
          if (i > 0 && !lessThan(n.keys[i - 1]!, n.keys[i]!, false)) throw new Error("btree: unsorted leaf");
        }
        seen += n.keys.length;
        return;
      }
      if (n.keys.length !== n.children.length - 1) throw new Error("btree: separators/children length");
      if (n.children.length === 0) throw new Error("btree: empty internal node");
      if (n.children.length > MAX) throw new Error("btree: overfull internal node");
      for (let i = 0; i < n.children.length; i++) {
        check(n.children[i]!, i === 0 ? lo : n.keys[i - 1]!, i === n.keys.length ? hi : n.keys[i]!, d + 1);
      }
    };
    check(this.root, null, null, 0);
    if (seen !== this.count) throw new Error(`btree: size ${this.count} but ${seen} keys`);
  }

  private collapseRoot(): void {
    while (!this.root.leaf && this.root.children.length <= 1) {
      this.root = this.root.children[0] ?? newLeaf<V>();
    }
  }
}

function split<V>(n: Node<V>): [string, Node<V>] {
  if (n.leaf) {
    const mid = n.keys.length >>> 1;
    const right = newLeaf(n.keys.splice(mid), n.values.splice(mid));
    return [right.keys[0]!, right];
  }
  const mid = n.children.length >>> 1;
  const rightChildren = n.children.splice(mid);
  const rightKeys = n.keys.splice(mid); // keys[mid-1] is the separator going up
  const sep = n.keys.pop()!;
  return [sep, newInternal(rightKeys, rightChildren)];
}

/** Removes child c of parent, with the separator that bounded it. */
function removeChild<V>(parent: Internal<V>, c: number): void {
  parent.children.splice(c, 1);
  if (parent.keys.length > 0) parent.keys.splice(c > 0 ? c - 1 : 0, 1);
}

/** Child c of parent is empty or under half full: remove, merge or rebalance with a neighbour. */
function fixChild<V>(parent: Internal<V>, c: number): void {
  const child = parent.children[c]!;
  if (width(child) === 0) {
    removeChild(parent, c);
    return;
  }
  if (width(child) >= MIN) return;
  if (c + 1 < parent.children.length) rebalance(parent, c);
  else if (c > 0) rebalance(parent, c - 1);
}

/** Merges children a and a+1 if they fit in one node, else evens them out. */
function rebalance<V>(parent: Internal<V>, a: number): void {
  const left = parent.children[a]!;
  const right = parent.children[a + 1]!;
  const sep = parent.keys[a]!;
  if (left.leaf && right.leaf) {
    const keys = left.keys.concat(right.keys);
    const values = left.values.concat(right.values);
    if (keys.length <= MAX) {
      left.keys = keys;
      left.values = values;
      parent.children.splice(a + 1, 1);
      parent.keys.splice(a, 1);
      return;
    }
    const mid = keys.length >>> 1;
    left.keys = keys.slice(0, mid);
    left.values = values.slice(0, mid);
    right.keys = keys.slice(mid);
    right.values = values.slice(mid);
    parent.keys[a] = right.keys[0]!;
    return;
  }
  if (left.leaf || right.leaf) throw new Error("btree: siblings at different depths");
  const keys = left.keys.concat([sep], right.keys);
  const children = left.children.concat(right.children);
  if (children.length <= MAX) {
    left.keys = keys;
    left.children = children;
    parent.children.splice(a + 1, 1);
    parent.keys.splice(a, 1);
    return;
  }
  const mid = children.length >>> 1;
  left.children = children.slice(0, mid);
  left.keys = keys.slice(0, mid - 1);
  right.children = children.slice(mid);
  right.keys = keys.slice(mid);
  parent.keys[a] = keys[mid - 1]!;
}

function walkFrom<V>(node: Node<V>, start: string, plain: boolean, visit: Visit<V>): boolean {
  if (node.leaf) {
    const keys = node.keys;
    const values = node.values;
    for (let i = start === "" ? 0 : lowerBound(keys, start, plain); i < keys.length; i++) {
      if (visit(keys[i]!, values[i]!) === false) return false;
    }
    return true;
  }
  const children = node.children;
  for (let c = start === "" ? 0 : childIndex(node.keys, start, plain); c < children.length; c++) {
    if (!walkFrom(children[c]!, start, plain, visit)) return false;
  }
  return true;
}

function dropSubtree<V>(node: Node<V>, onRemove: ((key: string, value: V) => void) | undefined): number {
  if (node.leaf) {
    if (onRemove) for (let i = 0; i < node.keys.length; i++) onRemove(node.keys[i]!, node.values[i]!);
    return node.keys.length;
  }
  let n = 0;
  for (const child of node.children) n += dropSubtree(child, onRemove);
  return n;
}

function rangeDelete<V>(
  node: Node<V>,
  prefix: string,
  plain: boolean,
  onRemove: ((key: string, value: V) => void) | undefined,
): number {
  if (node.leaf) {
    const i = lowerBound(node.keys, prefix, plain);
    let j = i;
    while (j < node.keys.length && node.keys[j]!.startsWith(prefix)) j++;
    if (j === i) return 0;
    if (onRemove) for (let x = i; x < j; x++) onRemove(node.keys[x]!, node.values[x]!);
    node.keys.splice(i, j - i);
    node.values.splice(i, j - i);
    return j - i;
  }
  const keys = node.keys;
  const children = node.children;
  const i = childIndex(keys, prefix, plain);
  let removed = rangeDelete(children[i]!, prefix, plain, onRemove);
  // Children after i: fully covered ones are dropped, one partial one is recursed into.
  let dropTo = i + 1;
  let partial = -1;
  for (let c = i + 1; c < children.length; c++) {
    if (!keys[c - 1]!.startsWith(prefix)) break; // child starts past the range
    if (c < keys.length && keys[c]!.startsWith(prefix)) {
      removed += dropSubtree(children[c]!, onRemove);
      dropTo = c + 1;
      continue;
    }
    partial = c;
    break;
  }
  if (partial !== -1) removed += rangeDelete(children[partial]!, prefix, plain, onRemove);
  if (dropTo > i + 1) {
    children.splice(i + 1, dropTo - i - 1);
    keys.splice(i, dropTo - i - 1);
  }
  // Repair the (at most two) boundary children, right one first so indexes hold.
  if (i + 1 < children.length) fixChild(node, i + 1);
  if (i < children.length) fixChild(node, i);
  if (i < children.length && width(children[i]!) < MIN) fixChild(node, i);
  return removed;
}
