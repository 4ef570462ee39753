/** The caller could not be authenticated (gRPC UNAUTHENTICATED, HTTP 401). The message names only the credential. */
export class Unauthenticated extends Error {
  public constructor(reason: string) {
    super(reason);
    this.name = 'Unauthenticated';
  }
}

/**
 * Too many credentials are being verified at once (each may wait on the identity provider): the caller is refused at
 * once (gRPC RESOURCE_EXHAUSTED, HTTP 503) and may retry. Callers whose credentials verify without waiting never get it.
 */
export class Busy extends Error {
  public constructor(reason: string) {
    super(reason);
    this.name = 'Busy';
  }
}
