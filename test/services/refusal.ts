/** The message of what `run` throws, or 'accepted' when it throws nothing (for the programs' configuration tests). */
export function refusal(run: () => unknown): string {
  try {
    run();
  } catch (e) {
    return (e as Error).message;
  }
  return 'accepted';
}
