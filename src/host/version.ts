// Kept for the host's imports; the one implementation is beside projectDir().
export { nestboxVersion } from "../cli/project.js";
