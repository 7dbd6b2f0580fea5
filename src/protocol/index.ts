// The one protocol module: wire types, op schemas and errors of protocol v1.
export * from "./types.ts";
export * from "./schema.ts";
export * from "./errors.ts";
