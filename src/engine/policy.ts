// The one backend-selection policy, for Node (torch → tfjs) and the browser (webgpu → webgl → wasm):
// an explicit backend starts or fails with its own error; 'auto' tries the platform's candidates in order,
// passes over the ones `skip` rules out (e.g. a software GPU), and keeps why each one was passed over.
// Browser-safe.

export interface Attempt<K extends string> {
  kind: K;
  /** Why this candidate was passed over (absent for the one that started). */
  error?: string;
}

export interface StartOptions<K extends string> {
  /** A reason not to try `kind` in 'auto' (null: try it). Never consulted for the last candidate. */
  skip?: (kind: K) => Promise<string | null> | string | null;
  /** Errors that mean "this backend is unusable, try the next" (default: every error). Others stop the search. */
  isBackendError?: (err: unknown) => boolean;
}

const reason = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** Starts `choice`, or for 'auto' the first candidate of `order` that starts. */
export async function startBackend<K extends string, T>(
  choice: K | 'auto', order: readonly K[], start: (kind: K) => Promise<T>, opts: StartOptions<K> = {},
): Promise<{ kind: K; value: T; attempts: Attempt<K>[] }> {
  if (choice !== 'auto') return { kind: choice, value: await start(choice), attempts: [{ kind: choice }] };
  const attempts: Attempt<K>[] = [];
  for (let i = 0; i < order.length; i++) {
    const kind = order[i];
    const last = i === order.length - 1;
    const skipped = last ? null : await opts.skip?.(kind);
    if (skipped) {
      attempts.push({ kind, error: skipped });
      continue;
    }
    try {
      const value = await start(kind);
      attempts.push({ kind });
      return { kind, value, attempts };
    } catch (e) {
      if (last || (opts.isBackendError && !opts.isBackendError(e))) throw e;
      attempts.push({ kind, error: reason(e) });
    }
  }
  throw new Error('no backend to try');
}
