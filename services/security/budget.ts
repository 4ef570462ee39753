/**
 * A budget of bytes held at once over every request of a program (the proxy's request messages, the codec server's
 * bodies): a request that would pass it is refused before its bytes are read, never queued in memory.
 */
export class ByteBudget {
  private used = 0;

  public constructor(private readonly limit: number) {}

  /** Takes `bytes` of the budget; false (and nothing taken) when they do not fit. */
  public reserve(bytes: number): boolean {
    if (this.used + bytes > this.limit) {
      return false;
    }
    this.used += bytes;
    return true;
  }

  public release(bytes: number): void {
    this.used -= bytes;
  }

  /** Bytes held now. */
  public get bytes(): number {
    return this.used;
  }
}
