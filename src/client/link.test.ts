import { expect, test } from "bun:test";
import { loginCommand, terminalQr } from "./link.ts";

test("the login command is the exact line to run; odd server URLs are shell-quoted", () => {
  expect(loginCommand("https://chat.example.org", "K7MX-2QPA-9FHD")).toBe("natter login --server https://chat.example.org --code K7MX-2QPA-9FHD");
  expect(loginCommand("http://[::1]:8080", "AB")).toBe("natter login --server 'http://[::1]:8080' --code AB");
  expect(loginCommand("http://h/it's", "AB")).toBe(`natter login --server 'http://h/it'\\''s' --code AB`);
});

test("terminalQr is the library's terminal rendering (ANSI colors, half blocks)", async () => {
  const s = await terminalQr("natter login --server http://h:1 --code AB");
  expect(s).toContain("\u001b[47m");
  expect(s).toMatch(/[▀▄█]/);
});
