// The one protocol module: wire types, op schemas and errors of protocol v1,
// and the admin surface's schemas and shapes.
export * from "./types.ts";
export * from "./schema.ts";
export * from "./errors.ts";
export * from "./admin.ts";
export * from "./emoji.ts";
export * from "./changes.ts";
