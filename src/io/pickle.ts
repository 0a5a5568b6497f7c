// A pickle virtual machine that only builds data: it never imports or calls anything itself. Every global a
// pickle names goes through `hooks.global` (which refuses what it does not know), and every call (REDUCE,
// NEWOBJ), BUILD and persistent id through the other hooks. Binary opcodes of protocols 2–5 that plain data
// needs are supported; the text opcodes of protocol 0/1 and the object-building INST/OBJ are not.
//
// Python values map to: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
// str → string, bytes → Uint8Array, list → array, tuple → frozen array, dict → Map.

export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL: the object `module.name` stands for; throw to refuse it. */
  global(module: string, name: string): unknown;
  /** REDUCE / NEWOBJ: `fn(...args)` where `fn` came from `global`. */
  call(fn: unknown, args: readonly unknown[]): unknown;
  /** BUILD: apply `state` to `obj` (returns the object to leave on the stack). */
  build(obj: unknown, state: unknown): unknown;
  /** BINPERSID: the object a persistent id refers to. */
  persistentLoad(pid: unknown): unknown;
}

/** LONG4 integers longer than this are refused (torch writes at most 10 bytes, for its magic number). */
const MAX_LONG_BYTES = 64;

export const isTuple = (v: unknown): v is readonly unknown[] => Array.isArray(v) && Object.isFrozen(v);
const tuple = (items: unknown[]): readonly unknown[] => Object.freeze(items);

/**
 * Run the pickle that starts at `bytes[start]`; returns its value and the offset just after its STOP.
 * Errors are plain sentences ("pickle …"); callers add the file name.
 */
export function unpickle(bytes: Uint8Array, start: number, hooks: PickleHooks): { value: unknown; end: number } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const latin1 = new TextDecoder('latin1');
  let pos = start;
  let op = 0;
  let opAt = start;
  const fail = (why: string): never => {
    throw new Error(`pickle is corrupt: ${why} (opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt})`);
  };
  const need = (n: number) => {
    if (n < 0) fail(`negative length ${n}`);
    if (pos + n > bytes.length) {
      throw new Error(`pickle is truncated: opcode 0x${op.toString(16).padStart(2, '0')} at byte ${opAt} needs ${n} more bytes but the file ends at byte ${bytes.length}`);
    }
  };
  const take = (n: number) => {
    need(n);
    pos += n;
    return bytes.subarray(pos - n, pos);
  };
  const u8 = () => (need(1), bytes[pos++]);
  const u16 = () => (need(2), (pos += 2), view.getUint16(pos - 2, true));
  const u32 = () => (need(4), (pos += 4), view.getUint32(pos - 4, true));
  const i32 = () => (need(4), (pos += 4), view.getInt32(pos - 4, true));
  const u64 = () => {
    need(8);
    pos += 8;
    const v = view.getBigUint64(pos - 8, true);
    return v > BigInt(bytes.length) ? fail(`length ${v} is larger than the file`) : Number(v);
  };
  const text = (b: Uint8Array) => {
    try {
      return utf8.decode(b);
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) throw new Error(`pickle is truncated: the GLOBAL name at byte ${opAt} has no end of line before the end of the file`);
    const s = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  /** Little-endian two's-complement integer (LONG1/LONG4). */
  const long = (b: Uint8Array): number | bigint => {
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (b.length && b[b.length - 1] & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  let stack: unknown[] = [];
  const metastack: unknown[][] = [];
  const memo = new Map<number, unknown>();
  const pop = () => (stack.length ? stack.pop() : fail('stack underflow'));
  const top = () => (stack.length ? stack[stack.length - 1] : fail('stack underflow'));
  const popMark = () => {
    const items = stack;
    const prev = metastack.pop();
    if (!prev) return fail('no MARK to pop to');
    stack = prev;
    return items;
  };
  const get = (i: number) => (memo.has(i) ? memo.get(i) : fail(`memo entry ${i} was never stored`));
  const asDict = (d: unknown) => (d instanceof Map ? d : fail('SETITEM on something that is not a dict'));
  const asList = (l: unknown): unknown[] => (Array.isArray(l) && !Object.isFrozen(l) ? l : fail('APPEND on something that is not a list'));
  const setItems = (d: Map<unknown, unknown>, items: unknown[]) => {
    if (items.length % 2) fail('SETITEMS with an odd number of items');
    for (let i = 0; i < items.length; i += 2) d.set(items[i], items[i + 1]);
  };

  for (;;) {
    opAt = pos;
    op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: a length prefix we do not need
        take(8);
        break;
      case 0x2e: // STOP
        if (stack.length !== 1 || metastack.length) fail(`STOP with ${stack.length} values on the stack`);
        return { value: stack[0], end: pos };
      case 0x28: // MARK
        metastack.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(u16());
        break;
      case 0x4a: // BININT
        stack.push(i32());
        break;
      case 0x8a: // LONG1
        stack.push(long(take(u8())));
        break;
      case 0x8b: { // LONG4 (decoding is quadratic in the length: a huge one would hang)
        const n = i32();
        if (n > MAX_LONG_BYTES) fail(`a ${n}-byte integer (a state_dict needs at most 8 bytes)`);
        stack.push(long(take(n)));
        break;
      }
      case 0x47: // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      case 0x58: // BINUNICODE
        stack.push(text(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(text(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(text(take(u64())));
        break;
      case 0x54: // BINSTRING (Python 2 str)
        stack.push(latin1.decode(take(i32())));
        break;
      case 0x55: // SHORT_BINSTRING
        stack.push(latin1.decode(take(u8())));
        break;
      case 0x42: // BINBYTES
        stack.push(take(u32()).slice());
        break;
      case 0x43: // SHORT_BINBYTES
        stack.push(take(u8()).slice());
        break;
      case 0x8e: // BINBYTES8
        stack.push(take(u64()).slice());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push(tuple([]));
        break;
      case 0x85: // TUPLE1
        stack.push(tuple([pop()]));
        break;
      case 0x86: { // TUPLE2
        const b = pop();
        stack.push(tuple([pop(), b]));
        break;
      }
      case 0x87: { // TUPLE3
        const c = pop();
        const b = pop();
        stack.push(tuple([pop(), b, c]));
        break;
      }
      case 0x74: { // TUPLE (pop first: popMark replaces `stack`)
        const items = tuple(popMark());
        stack.push(items);
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x6c: { // LIST
        const items = popMark();
        stack.push(items);
        break;
      }
      case 0x61: { // APPEND
        const v = pop();
        asList(top()).push(v);
        break;
      }
      case 0x65: { // APPENDS
        const items = popMark();
        const list = asList(top());
        for (const v of items) list.push(v); // push(...items) overflows the call stack for long lists
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: { // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: { // SETITEM
        const v = pop();
        const k = pop();
        asDict(top()).set(k, v);
        break;
      }
      case 0x75: { // SETITEMS
        const items = popMark();
        setItems(asDict(top()), items);
        break;
      }
      case 0x63: { // GLOBAL
        const module = line();
        stack.push(hooks.global(module, line()));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        stack.push(hooks.global(module as string, name as string));
        break;
      }
      case 0x52: { // REDUCE
        const args = pop();
        if (!isTuple(args)) fail('REDUCE arguments are not a tuple');
        stack.push(hooks.call(pop(), args as readonly unknown[]));
        break;
      }
      case 0x81: { // NEWOBJ (cls.__new__(cls, *args))
        const args = pop();
        if (!isTuple(args)) fail('NEWOBJ arguments are not a tuple');
        stack.push(hooks.call(pop(), args as readonly unknown[]));
        break;
      }
      case 0x62: { // BUILD
        const state = pop();
        stack.push(hooks.build(pop(), state));
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(get(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(get(u32()));
        break;
      default:
        throw new Error(`pickle uses opcode 0x${op.toString(16).padStart(2, '0')}${op >= 0x20 && op < 0x7f ? ` ('${String.fromCharCode(op)}')` : ''} at byte ${opAt}, which a PyTorch state_dict never needs; refusing to interpret it`);
    }
  }
}
