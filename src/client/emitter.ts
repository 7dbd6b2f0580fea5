// A tiny typed event emitter. A listener that throws does not stop the
// others or the client; its error is rethrown asynchronously so it is seen.

export class Emitter<Events extends Record<string, unknown>> {
  private listeners = new Map<keyof Events, Set<(v: never) => void>>();

  on<K extends keyof Events>(ev: K, f: (v: Events[K]) => void): () => void {
    let set = this.listeners.get(ev);
    if (!set) this.listeners.set(ev, (set = new Set()));
    const g = f as (v: never) => void;
    set.add(g);
    return () => void set.delete(g);
  }

  emit<K extends keyof Events>(ev: K, v: Events[K]): void {
    const set = this.listeners.get(ev);
    if (!set) return;
    for (const f of [...set]) {
      try {
        (f as (v: Events[K]) => void)(v);
      } catch (e) {
        queueMicrotask(() => {
          throw e;
        });
      }
    }
  }
}
