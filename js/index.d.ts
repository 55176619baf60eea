// Types of the package's entry point: the bindings' own types, and the
// SDK's error class.
import type { ErrorCode, FhirIssue } from "./patient_portal_sdk.js";

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
}

/** Whether `value` is a `PatientPortalError` (also one from another copy of the SDK on the page). */
export declare function isPatientPortalError(value: unknown): value is PatientPortalError;
