// Waiting for a condition instead of sleeping a fixed time: unit tests poll
// for what they expect, so a busy machine makes them slower, never red.

/**
 * Polls `check` (every 5 ms) until it returns anything but false without throwing; an
 * `expect(...)` inside makes a good check. After `ms` it throws the last failure, named by `what`.
 */
export async function until(check: () => unknown, what = "condition", ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    let failure: unknown = null;
    try {
      if (check() !== false) return;
    } catch (e) {
      failure = e;
    }
    if (Date.now() > deadline) {
      const why = failure instanceof Error ? `: ${failure.message}` : "";
      throw new Error(`timed out after ${ms} ms waiting for ${what}${why}`);
    }
    await Bun.sleep(5);
  }
}
