/**
 * Limits of the write contract that more than one room states: the planner enforces them, the OpenAPI document
 * tells clients about them. Declared here, below both, so that neither imports the other.
 */

/** Deepest nesting of records inside records in a sync payload; deeper input is an error, not a stack overflow. */
export const MAX_NESTING = 8;
