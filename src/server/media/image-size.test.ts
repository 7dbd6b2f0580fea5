import { describe, expect, test } from "bun:test";
import { imageSize } from "./image-size.ts";

const u8 = (...parts: (number[] | string)[]) =>
  new Uint8Array(parts.flatMap((p) => (typeof p === "string" ? Array.from(p, (c) => c.charCodeAt(0)) : p)));
const be32 = (n: number) => [(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255];
const le16 = (n: number) => [n & 255, (n >>> 8) & 255];
const be16 = (n: number) => [(n >>> 8) & 255, n & 255];

describe("imageSize", () => {
  test("PNG: IHDR width and height", () => {
    const b = u8([0x89], "PNG\r\n\x1a\n", be32(13), "IHDR", be32(1920), be32(1080), [8, 2, 0, 0, 0]);
    expect(imageSize(b, "image/png")).toEqual({ width: 1920, height: 1080 });
  });
  test("GIF: logical screen size", () => {
    expect(imageSize(u8("GIF89a", le16(320), le16(200), [0, 0, 0]), "image/gif")).toEqual({ width: 320, height: 200 });
  });
  test("JPEG: skips APP segments to the SOF frame header", () => {
    const app0 = [0xff, 0xe0, ...be16(16), ...Array(14).fill(0)];
    const sof2 = [0xff, 0xc2, ...be16(17), 8, ...be16(480), ...be16(640), 3, ...Array(9).fill(0)];
    expect(imageSize(u8([0xff, 0xd8], app0, sof2), "image/jpeg")).toEqual({ width: 640, height: 480 });
    // DHT (C4) is not a frame header.
    const dht = [0xff, 0xc4, ...be16(4), 0, 0];
    expect(imageSize(u8([0xff, 0xd8], dht, sof2), "image/jpeg")).toEqual({ width: 640, height: 480 });
    expect(imageSize(u8([0xff, 0xd8], app0), "image/jpeg")).toBeNull();
  });
  test("JPEG: an EXIF orientation of a quarter turn (5-8) swaps width and height", () => {
    const sof0 = [0xff, 0xc0, ...be16(17), 8, ...be16(3000), ...be16(4000), 3, ...Array(9).fill(0)];
    const exif = (orientation: number, little: boolean) => {
      const u16 = little ? le16 : be16;
      const u32 = (n: number) => (little ? [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, n >>> 24] : be32(n));
      const tiff = [...(little ? [0x49, 0x49] : [0x4d, 0x4d]), ...u16(42), ...u32(8), ...u16(1), ...u16(0x0112), ...u16(3), ...u32(1), ...u16(orientation), 0, 0, ...u32(0)];
      const body = [...Array.from("Exif", (c) => c.charCodeAt(0)), 0, 0, ...tiff];
      return [0xff, 0xe1, ...be16(body.length + 2), ...body];
    };
    for (const little of [true, false]) {
      expect(imageSize(u8([0xff, 0xd8], exif(6, little), sof0), "image/jpeg")).toEqual({ width: 3000, height: 4000 });
      expect(imageSize(u8([0xff, 0xd8], exif(8, little), sof0), "image/jpeg")).toEqual({ width: 3000, height: 4000 });
      expect(imageSize(u8([0xff, 0xd8], exif(1, little), sof0), "image/jpeg")).toEqual({ width: 4000, height: 3000 });
      expect(imageSize(u8([0xff, 0xd8], exif(3, little), sof0), "image/jpeg")).toEqual({ width: 4000, height: 3000 });
    }
  });
  test("WebP: lossy, lossless and extended", () => {
    const riff = (chunk: string, body: number[]) => u8("RIFF", be32(0), "WEBP", chunk, body);
    const vp8 = riff("VP8 ", [0, 0, 0, 0, 0, 0, 0, 0x9d, 0x01, 0x2a, ...le16(800), ...le16(600), 0, 0]);
    expect(imageSize(vp8, "image/webp")).toEqual({ width: 800, height: 600 });
    const w = 100 - 1, h = 50 - 1;
    const bits = w | (h << 14);
    const vp8l = riff("VP8L", [0, 0, 0, 0, 0x2f, bits & 255, (bits >>> 8) & 255, (bits >>> 16) & 255, (bits >>> 24) & 255, 0]);
    expect(imageSize(vp8l, "image/webp")).toEqual({ width: 100, height: 50 });
    const vp8x = riff("VP8X", [0, 0, 0, 0, 0, 0, 0, 0, 4999 & 255, (4999 >> 8) & 255, 0, 2999 & 255, (2999 >> 8) & 255, 0]);
    expect(imageSize(vp8x, "image/webp")).toEqual({ width: 5000, height: 3000 });
  });
  test("truncated or unknown input gives null, never throws", () => {
    expect(imageSize(u8([0x89], "PNG"), "image/png")).toBeNull();
    expect(imageSize(u8("RIFF"), "image/webp")).toBeNull();
    expect(imageSize(u8([1, 2, 3]), "video/mp4")).toBeNull();
  });
});
