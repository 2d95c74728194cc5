/**
 * A pickle virtual machine (protocols 0-5) that never executes anything.
 *
 * Globals resolve only through a caller-given whitelist of pure functions on the unpickled values;
 * every other global becomes an opaque placeholder (its name is reported), and calling it merely
 * records the arguments. Op count, memo size, stack size and MARK nesting are bounded so hostile or
 * absurdly deep pickles end with a clear error instead of exhausting memory.
 */

/** A Python tuple (kept apart from lists so callers can tell them apart). */
export class PyTuple {
  constructor(readonly items: unknown[]) {}
}

/** A Python dict; keys keep their unpickled values (strings, numbers, tuples, ...). */
export class PyDict {
  readonly map = new Map<unknown, unknown>();
  /** State given by BUILD (e.g. an OrderedDict's `_metadata`), kept but not interpreted. */
  state?: unknown;
}

/** A global that is not whitelisted: `module.name`, never resolved to anything executable. */
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}

  get qualifiedName(): string {
    return `${this.module}.${this.name}`;
  }
}

/** The result of "calling" or instantiating a non-whitelisted global: its name, arguments and state. */
export class PyOpaque {
  state?: unknown;
  readonly items: unknown[] = [];
  readonly dictItems = new Map<unknown, unknown>();

  constructor(
    readonly global: string,
    readonly args: unknown[],
  ) {}
}

export type PickleCallable = (args: unknown[]) => unknown;

export interface PickleOptions {
  /** Callables for `module.name`, applied by REDUCE/NEWOBJ. They must be pure. */
  callables?: Record<string, PickleCallable>;
  /** Globals that stand for plain values (dtype objects, storage classes): `module.name` -> value. */
  values?: Record<string, unknown>;
  /** Resolves persistent ids (PyTorch storages). */
  persistentLoad?: (pid: unknown) => unknown;
  maxOps?: number;
  maxMemo?: number;
  maxStack?: number;
  maxMarkDepth?: number;
}

export class PickleError extends Error {
  constructor(
    message: string,
    readonly position: number,
  ) {
    super(`${message} (pickle byte ${position})`);
    this.name = 'PickleError';
  }
}

export interface UnpickleResult {
  value: unknown;
  /** Names of the non-whitelisted globals met, each once. */
  skippedGlobals: string[];
}

export function unpickle(bytes: Uint8Array, options: PickleOptions = {}): UnpickleResult {
  const maxOps = options.maxOps ?? 50_000_000;
  const maxMemo = options.maxMemo ?? 10_000_000;
  const maxStack = options.maxStack ?? 10_000_000;
  const maxMarkDepth = options.maxMarkDepth ?? 1000;
  const callables = options.callables ?? {};
  const values = options.values ?? {};
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const latin1 = new TextDecoder('latin1');
  const utf8 = new TextDecoder('utf-8');
  const skipped = new Set<string>();

  let pos = 0;
  let opStart = 0;
  let stack: unknown[] = [];
  const marks: unknown[][] = [];
  const memo = new Map<number, unknown>();

  const fail = (message: string): never => {
    throw new PickleError(message, opStart);
  };
  const need = (count: number): void => {
    if (pos + count > bytes.length) fail(`truncated: opcode needs ${count} more bytes`);
  };
  const u8 = () => {
    need(1);
    return bytes[pos++];
  };
  const u16 = () => {
    need(2);
    pos += 2;
    return view.getUint16(pos - 2, true);
  };
  const u32 = () => {
    need(4);
    pos += 4;
    return view.getUint32(pos - 4, true);
  };
  const u64 = () => {
    need(8);
    const value = view.getBigUint64(pos, true);
    pos += 8;
    if (value > BigInt(bytes.length)) fail(`length ${value} exceeds the pickle size`);
    return Number(value);
  };
  const take = (count: number): Uint8Array => {
    need(count);
    pos += count;
    return bytes.subarray(pos - count, pos);
  };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) fail('truncated: text opcode without a newline');
    const text = latin1.decode(bytes.subarray(pos, end));
    pos = end + 1;
    return text;
  };
  const push = (value: unknown): void => {
    if (stack.length >= maxStack) fail(`stack exceeds ${maxStack} items`);
    stack.push(value);
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack.pop();
  };
  const top = (): unknown => {
    if (stack.length === 0) fail('stack underflow');
    return stack[stack.length - 1];
  };
  const popMark = (): unknown[] => {
    const items = stack;
    const previous = marks.pop();
    if (!previous) fail('MARK missing');
    stack = previous as unknown[];
    return items;
  };
  const memoPut = (index: number, value: unknown): void => {
    if (!memo.has(index) && memo.size >= maxMemo) fail(`memo exceeds ${maxMemo} entries`);
    memo.set(index, value);
  };
  const memoGet = (index: number): unknown => {
    if (!memo.has(index)) fail(`memo entry ${index} is missing`);
    return memo.get(index);
  };
  const littleEndianInt = (data: Uint8Array): number | bigint => {
    if (data.length === 0) return 0;
    let value = 0n;
    for (let i = data.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(data[i]);
    if (data[data.length - 1] & 0x80) value -= 1n << BigInt(data.length * 8);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  };
  const resolveGlobal = (module: string, name: string): unknown => {
    const qualified = `${module}.${name}`;
    if (Object.prototype.hasOwnProperty.call(values, qualified)) return values[qualified];
    if (!Object.prototype.hasOwnProperty.call(callables, qualified)) skipped.add(qualified);
    return new PyGlobal(module, name);
  };
  const call = (target: unknown, args: unknown[]): unknown => {
    if (target instanceof PyGlobal) {
      const callable = Object.prototype.hasOwnProperty.call(callables, target.qualifiedName) ? callables[target.qualifiedName] : undefined;
      if (callable) return callable(args);
      return new PyOpaque(target.qualifiedName, args);
    }
    return new PyOpaque(target instanceof PyOpaque ? `${target.global}(...)` : typeof target, args);
  };
  const argsOf = (value: unknown): unknown[] => (value instanceof PyTuple ? value.items : Array.isArray(value) ? value : [value]);
  const setItem = (target: unknown, key: unknown, value: unknown): void => {
    if (target instanceof PyDict) target.map.set(key, value);
    else if (target instanceof PyOpaque) target.dictItems.set(key, value);
    else fail('SETITEM on something that is not a dict');
  };
  const appendTo = (target: unknown, items: unknown[]): void => {
    if (Array.isArray(target)) {
      if (target.length + items.length > maxStack) fail(`list exceeds ${maxStack} items`);
      for (const item of items) target.push(item);
    } else if (target instanceof PyOpaque) {
      for (const item of items) target.items.push(item);
    } else fail('APPEND on something that is not a list');
  };

  for (let ops = 0; ; ops++) {
    if (ops >= maxOps) fail(`more than ${maxOps} opcodes`);
    opStart = pos;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol above 5');
        break;
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length === 0) fail('STOP with an empty stack');
        return { value: stack[stack.length - 1], skippedGlobals: [...skipped] };
      case 0x28: // MARK
        if (marks.length >= maxMarkDepth) fail(`MARKs nest deeper than ${maxMarkDepth}`);
        marks.push(stack);
        stack = [];
        break;
      case 0x30: // POP
        if (stack.length > 0) stack.pop();
        else popMark();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        push(top());
        break;
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4a: // BININT
        need(4);
        pos += 4;
        push(view.getInt32(pos - 4, true));
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x8a: // LONG1
        push(littleEndianInt(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const length = u32();
        if (length > 1 << 16) fail(`LONG4 of ${length} bytes`);
        push(littleEndianInt(take(length)));
        break;
      }
      case 0x49: {
        // INT (text): also True/False as 01/00
        const text = line().trim();
        if (text === '01') push(true);
        else if (text === '00') push(false);
        else {
          const value = Number(text);
          if (!Number.isFinite(value)) fail(`bad INT "${text.slice(0, 20)}"`);
          push(value);
        }
        break;
      }
      case 0x4c: {
        // LONG (text)
        const text = line().trim().replace(/L$/, '');
        if (!/^-?\d+$/.test(text) || text.length > 1000) fail('bad LONG');
        const big = BigInt(text);
        push(big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big);
        break;
      }
      case 0x46: {
        // FLOAT (text)
        const value = Number(line().trim());
        push(value);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        need(8);
        pos += 8;
        push(view.getFloat64(pos - 8, false));
        break;
      case 0x53: {
        // STRING (text, quoted repr)
        const text = line().trim();
        push(text.length >= 2 ? text.slice(1, -1) : text);
        break;
      }
      case 0x54: // BINSTRING
        push(latin1.decode(take(u32())));
        break;
      case 0x55: // SHORT_BINSTRING
        push(latin1.decode(take(u8())));
        break;
      case 0x56: // UNICODE (raw-unicode-escape text)
        push(line());
        break;
      case 0x58: // BINUNICODE
        push(utf8.decode(take(u32())));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8.decode(take(u8())));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8.decode(take(u64())));
        break;
      case 0x42: // BINBYTES
        push(take(u32()));
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()));
        break;
      case 0x8e: // BINBYTES8
      case 0x96: // BYTEARRAY8
        push(take(u64()));
        break;
      case 0x97: // NEXT_BUFFER
      case 0x98: // READONLY_BUFFER
        fail('out-of-band buffers (protocol 5 NEXT_BUFFER) are not supported');
        break;
      case 0x29: // EMPTY_TUPLE
        push(new PyTuple([]));
        break;
      case 0x85: // TUPLE1
        push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const second = pop();
        push(new PyTuple([pop(), second]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const third = pop();
        const second = pop();
        push(new PyTuple([pop(), second, third]));
        break;
      }
      case 0x74: // TUPLE
        push(new PyTuple(popMark()));
        break;
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x61: {
        // APPEND
        const item = pop();
        appendTo(top(), [item]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new PyDict());
        break;
      case 0x64: {
        // DICT
        const items = popMark();
        const dict = new PyDict();
        for (let i = 0; i + 1 < items.length; i += 2) dict.map.set(items[i], items[i + 1]);
        push(dict);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItem(top(), key, value);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        const target = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(target, items[i], items[i + 1]);
        break;
      }
      case 0x8f: // EMPTY_SET
        push([]);
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        appendTo(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        push(popMark());
        break;
      case 0x67: // GET
        push(memoGet(Number(line())));
        break;
      case 0x68: // BINGET
        push(memoGet(u8()));
        break;
      case 0x6a: // LONG_BINGET
        push(memoGet(u32()));
        break;
      case 0x70: // PUT
        memoPut(Number(line()), top());
        break;
      case 0x71: // BINPUT
        memoPut(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size, top());
        break;
      case 0x63: {
        // GLOBAL "module\nname\n"
        const module = line();
        push(resolveGlobal(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        push(resolveGlobal(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        push(call(pop(), argsOf(args)));
        break;
      }
      case 0x81: {
        // NEWOBJ
        const args = pop();
        push(call(pop(), argsOf(args)));
        break;
      }
      case 0x92: {
        // NEWOBJ_EX
        pop(); // kwargs
        const args = pop();
        push(call(pop(), argsOf(args)));
        break;
      }
      case 0x69: {
        // INST "module\nname\n" with MARKed args
        const module = line();
        const name = line();
        push(call(resolveGlobal(module, name), popMark()));
        break;
      }
      case 0x6f: {
        // OBJ: MARK cls args...
        const items = popMark();
        if (items.length === 0) fail('OBJ without a class');
        push(call(items[0], items.slice(1)));
        break;
      }
      case 0x62: {
        // BUILD
        const state = pop();
        const target = top();
        if (target instanceof PyOpaque || target instanceof PyDict) target.state = state;
        break;
      }
      case 0x50: // PERSID (text)
        push(options.persistentLoad ? options.persistentLoad(line()) : fail('persistent id without a loader'));
        break;
      case 0x51: {
        // BINPERSID
        const pid = pop();
        push(options.persistentLoad ? options.persistentLoad(pid) : fail('persistent id without a loader'));
        break;
      }
      case 0x82: // EXT1
      case 0x83: // EXT2
      case 0x84: // EXT4
        fail('extension registry opcodes (EXT1/2/4) are not supported');
        break;
      default:
        fail(`unknown opcode 0x${op.toString(16).padStart(2, '0')}`);
    }
  }
}
