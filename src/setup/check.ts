/** How one doctor check came out: ok, a warning (works, but look), or a failure (exit 1). */
export type CheckStatus = "ok" | "warn" | "fail";

/** One doctor check: what was found, how to fix it, and what `--fix` did about it. */
export interface Check {
  name: string;
  status: CheckStatus;
  detail: string;
  fix?: string;
  /** What `--fix` changed (present only when it acted). */
  fixed?: string;
}
