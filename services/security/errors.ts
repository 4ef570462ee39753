/** The caller could not be authenticated (gRPC UNAUTHENTICATED, HTTP 401). The message names only the credential. */
export class Unauthenticated extends Error {
  public constructor(reason: string) {
    super(reason);
    this.name = 'Unauthenticated';
  }
}
