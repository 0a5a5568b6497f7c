// Ordered container: children named '0', '1', … like torch.nn.ModuleList.
import type { Ops } from '../engine/ops.js';
import { Module } from './module.js';

export class ModuleList<M extends Module> extends Module {
  readonly items: readonly M[];

  constructor(ops: Ops, items: M[]) {
    super(ops);
    items.forEach((m, i) => this.child(String(i), m));
    this.items = items;
  }

  at(i: number): M {
    const m = this.items[i];
    if (!m) throw new Error(`ModuleList index ${i} out of range (length ${this.items.length})`);
    return m;
  }

  get length(): number {
    return this.items.length;
  }
}
