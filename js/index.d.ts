// Types of the package's entry point: the bindings' own types, and the
// SDK's error class.
import type { ErrorCode, FhirIssue, HostedLink, LinkAccess, ShlHost, ShlHostLinkRequest } from "./patient_portal_sdk.js";

export * from "./patient_portal_sdk.js";
export { default } from "./patient_portal_sdk.js";

/**
 * Every error the SDK throws or rejects with. `code` says what happened;
 * the message is for people and never quotes record content, keys,
 * passcodes or tokens.
 */
export declare class PatientPortalError extends Error {
  constructor(message: string, code: ErrorCode);
  name: "PatientPortalError";
  code: ErrorCode;
  /** The HTTP status, for `httpStatus` (429 when rate limiting outlasted the waits) and `fhirError`. */
  status?: number;
  /** Passcode attempts left before the link is disabled, when the host said. */
  remainingAttempts?: number;
  /** Seconds the host asked to wait, when rate limiting outlasted the waits (status 429). */
  retryAfter?: number;
  /** For `fhirError`: the OperationOutcome's issues (their `diagnostics` are never included). */
  issues?: FhirIssue[];
  /** For `hostError` from `HttpShlHost`: the host's own error code. */
  hostCode?: string;
}

/** Whether `value` is a `PatientPortalError` (also one from another copy of the SDK on the page). */
export declare function isPatientPortalError(value: unknown): value is PatientPortalError;

/** Options of `new HttpShlHost(options)`. */
export interface HttpShlHostOptions {
  /** The link host API's base URL, e.g. "https://links.example/api/". */
  baseUrl: string;
  /** The account's bearer token (sent as `Authorization: Bearer`, never in messages). */
  token: string;
  /** A `fetch` to use instead of the global one. */
  fetch?: (input: string, init: { method: string; headers: Record<string, string>; body?: string; credentials: "omit"; cache: "no-store" }) => Promise<{
    ok: boolean;
    status: number;
    headers: { get(name: string): string | null };
    text(): Promise<string>;
    json(): Promise<unknown>;
  }>;
}

/**
 * A `ShlHost` over a link host's HTTP API (the development backend's `/api/`). Rejects with a
 * `PatientPortalError`: `network`, `unauthorized`, `badInput`, or `hostError` with `status`.
 */
export declare class HttpShlHost implements ShlHost {
  constructor(options: HttpShlHostOptions);
  createLink(request: ShlHostLinkRequest): Promise<{ id: string; url: string; viewerUrl?: string; label?: string; flag: string; expiresAt?: number | null; createdAt: number }>;
  addFile(id: string, file: { contentType: string; jwe: string }): Promise<void>;
  revoke(id: string): Promise<void>;
  list(): Promise<HostedLink[]>;
  accesses(id: string): Promise<LinkAccess[]>;
}
