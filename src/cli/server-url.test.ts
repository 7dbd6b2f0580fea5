import { expect, test } from "bun:test";
import { validateSetup } from "../tui/components/setup.tsx";
import { CliError, EXIT } from "./run.ts";
import { serverUrl } from "./server-url.ts";

test("http(s) URLs keep their scheme; a trailing slash goes", () => {
  expect(serverUrl("http://127.0.0.1:8080/")).toBe("http://127.0.0.1:8080");
  expect(serverUrl("HTTPS://Chat.Example.org")).toBe("https://chat.example.org");
  expect(serverUrl(" https://example.org/natter/ ")).toBe("https://example.org/natter");
});

test("a bare host or host:port means http://, exactly as natter chat's login screen reads it", () => {
  for (const s of ["127.0.0.1:8080", "localhost:8080", "localhost", "chat.example.org:443", "[::1]:8080", "http://h:1/", "https://h"]) {
    const tui = validateSetup(s, "code", "device");
    expect(typeof tui).toBe("object");
    expect(serverUrl(s)).toBe((tui as { server: string }).server);
  }
  expect(serverUrl("127.0.0.1:8080")).toBe("http://127.0.0.1:8080");
});

test("anything else is a usage error (exit 2), not a request", () => {
  for (const s of ["", "ftp://h", "ws://h:1", "http://", "h:notaport", "http://h/?q=1", "http://h/#x", "http://u:p@h"]) {
    let err: unknown;
    try {
      serverUrl(s);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(CliError);
    expect((err as CliError).exitCode).toBe(EXIT.usage);
    expect((err as CliError).message).toContain("must look like http://127.0.0.1:8080");
  }
});
