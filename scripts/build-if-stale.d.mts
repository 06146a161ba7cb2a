/** The file whose mtime says when dist/ was last built from the sources. */
export declare const STAMP: string;
/** The newest mtime (ms) of the build's inputs: src/ (tests excluded), the tsconfigs, package.json. */
export declare function newestSource(root: string): number;
/** Whether dist/ is missing or older than a source (no stamp counts as stale). */
export declare function isStale(root: string): boolean;
/** Builds (with `run`) when stale; returns 0 when dist/ is fresh or was built, 1 when the build failed. */
export declare function buildIfStale(
  root: string,
  run?: (root: string) => number,
  say?: (line: string) => void,
): number;
