// A pool of load-worker processes (bench/worker.ts) driven over Bun IPC.
// Each worker reports its own CPU so a run can show the generator is not the bottleneck.

import { join } from "node:path";
import type { Subprocess } from "bun";
import type { FromWorker, ToWorker } from "./messages.ts";
import { BUN, ROOT } from "./target.ts";

interface Waiter {
  t: FromWorker["t"];
  resolve: (m: any) => void;
  reject: (e: Error) => void;
}

class WorkerProc {
  private waiters: Waiter[] = [];
  readonly proc: Subprocess;
  constructor(readonly index: number) {
    this.proc = Bun.spawn([BUN, join(ROOT, "bench/worker.ts")], {
      stdio: ["ignore", "inherit", "inherit"],
      ipc: (m: FromWorker) => this.onMessage(m),
      serialization: "json",
    });
    void this.proc.exited.then((code) => {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`load worker ${index} exited with ${code}`));
    });
  }

  private onMessage(m: FromWorker): void {
    if (m.t === "error") {
      for (const w of this.waiters.splice(0)) w.reject(new Error(`load worker ${this.index}: ${m.message}`));
      return;
    }
    const i = this.waiters.findIndex((w) => w.t === m.t);
    if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
  }

  ask<T extends FromWorker["t"]>(m: ToWorker, answer: T): Promise<Extract<FromWorker, { t: T }>> {
    return new Promise((resolve, reject) => {
      this.waiters.push({ t: answer, resolve, reject });
      this.proc.send(m);
    });
  }
}

export class Pool {
  readonly workers: WorkerProc[];
  constructor(n: number) {
    this.workers = Array.from({ length: n }, (_, i) => new WorkerProc(i));
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends each worker its own message and collects the answers in worker order. */
  all<T extends FromWorker["t"]>(make: (i: number) => ToWorker, answer: T): Promise<Extract<FromWorker, { t: T }>[]> {
    return Promise.all(this.workers.map((w, i) => w.ask(make(i), answer)));
  }

  pids(): number[] {
    return this.workers.map((w) => w.proc.pid);
  }

  async close(): Promise<void> {
    for (const w of this.workers) {
      try {
        w.proc.send({ t: "close" } satisfies ToWorker);
      } catch {}
    }
    await Promise.race([Promise.all(this.workers.map((w) => w.proc.exited)), Bun.sleep(3000)]);
    for (const w of this.workers) if (w.proc.exitCode === null) w.proc.kill("SIGKILL");
  }
}
