/** Activities of the end-to-end workflow (run by the test's worker, outside the workflow sandbox). */
export async function composeGreeting(greeting: string, name: string): Promise<string> {
  return `${greeting}, ${name}!`;
}
