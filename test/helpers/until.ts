/** Poll `fn` until it gives a value: every `everyMs`, at most `seconds` in all; then fail naming `what`. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, { seconds = 60, everyMs = 100 }: { seconds?: number; everyMs?: number } = {}): Promise<T> {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await fn();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
