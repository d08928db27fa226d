/**
 * Runs `step`; when it throws, runs `undo` and throws the step's error. For a write that must
 * not stay if what follows it fails (a link into its chat, a check that its account is open).
 * A failing `undo` does not hide the step's error: the step's is what the caller must see.
 */
export async function orUndo<T>(step: () => Promise<T>, undo: () => Promise<unknown>): Promise<T> {
  try {
    return await step();
  } catch (error) {
    await undo().catch(() => undefined);
    throw error;
  }
}
