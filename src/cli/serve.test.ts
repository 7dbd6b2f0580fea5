import { expect, test } from "bun:test";
import { firstAdminCommand } from "./serve.ts";

test("serve's first admin command adds --server and --data only where admin's defaults would miss", () => {
  expect(firstAdminCommand("http://0.0.0.0:8080", "./data", "/srv")).toBe("natter admin users add --name NAME --phone PHONE");
  expect(firstAdminCommand("http://127.0.0.1:8080", "/srv/data", "/srv")).toBe("natter admin users add --name NAME --phone PHONE");
  expect(firstAdminCommand("http://0.0.0.0:9000", "data", "/srv")).toBe("natter admin --server http://127.0.0.1:9000 users add --name NAME --phone PHONE");
  expect(firstAdminCommand("http://[::]:8080", "/var/natter", "/srv")).toBe("natter admin --data /var/natter users add --name NAME --phone PHONE");
  expect(firstAdminCommand("http://10.0.0.5:8080", "./data", "/srv")).toBe("natter admin --server http://10.0.0.5:8080 users add --name NAME --phone PHONE");
});
