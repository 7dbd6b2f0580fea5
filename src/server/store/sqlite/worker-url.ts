// Where a worker thread's module is. From source it sits beside this file; in
// the compiled binary (scripts/build.ts adds each worker as an entrypoint)
// every module lives under /$bunfs/root/ by its path below src/, with a .js
// extension.

/** The URL to start worker module `name` (writer-worker, checkpoint-worker) from. */
export function workerUrl(name: string): string {
  if (import.meta.path.startsWith("/$bunfs/")) return `/$bunfs/root/server/store/sqlite/${name}.js`;
  return new URL(`./${name}.ts`, import.meta.url).href;
}
