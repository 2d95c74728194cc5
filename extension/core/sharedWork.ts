/**
 * One computation shared by every caller that asks for the same thing while it runs (an explorer
 * badge, a hover and the Weight Inspector all wanting the same file's report). Each caller waits
 * with its own AbortSignal: when it aborts, only that caller's promise rejects; the computation
 * itself is cancelled only once every caller has aborted, so closing one view never cancels the
 * work another view still waits for. Progress reaches every caller that is still waiting.
 */

export interface WorkHooks {
  signal?: AbortSignal;
  onProgress?(fraction: number, message?: string): void;
}

function abortError(): Error {
  const error = new Error('cancelled');
  error.name = 'AbortError';
  return error;
}

export class SharedWork<T> {
  private readonly controller = new AbortController();
  private readonly waiters = new Set<WorkHooks>();
  private lastProgress: [number, string | undefined] | undefined;
  /** Settles with the computation itself, whoever waits for it. */
  readonly result: Promise<T>;

  constructor(compute: (hooks: { signal: AbortSignal; onProgress(fraction: number, message?: string): void }) => Promise<T>) {
    this.result = compute({
      signal: this.controller.signal,
      onProgress: (fraction, message) => {
        this.lastProgress = [fraction, message];
        for (const waiter of this.waiters) waiter.onProgress?.(fraction, message);
      },
    });
    // Callers see failures through wait(); this keeps an abandoned computation from being unhandled.
    this.result.catch(() => undefined);
  }

  /** True once every caller has aborted: the computation was told to stop. */
  get cancelled(): boolean {
    return this.controller.signal.aborted;
  }

  /** Waits for the result; rejects with an AbortError as soon as `hooks.signal` aborts. */
  wait(hooks: WorkHooks = {}): Promise<T> {
    if (this.cancelled) return Promise.reject(abortError());
    if (hooks.signal?.aborted) return Promise.reject(abortError());
    const waiter: WorkHooks = { ...hooks };
    this.waiters.add(waiter);
    if (this.lastProgress) waiter.onProgress?.(...this.lastProgress);
    return new Promise<T>((resolve, reject) => {
      const onAbort = (): void => {
        this.leave(waiter);
        reject(abortError());
      };
      hooks.signal?.addEventListener('abort', onAbort, { once: true });
      this.result.then(
        (value) => {
          hooks.signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          resolve(value);
        },
        (error: unknown) => {
          hooks.signal?.removeEventListener('abort', onAbort);
          this.waiters.delete(waiter);
          reject(error);
        },
      );
    });
  }

  private leave(waiter: WorkHooks): void {
    this.waiters.delete(waiter);
    if (this.waiters.size === 0) this.controller.abort();
  }
}
