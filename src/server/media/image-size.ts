// Width and height of PNG, JPEG, GIF and WebP images, read from their headers
// (no decoding, no library). JPEG EXIF orientation is not applied.

export interface Dimensions {
  width: number;
  height: number;
}

/** Dimensions from the first bytes of an image (enough: 512 KiB), or null if not found. */
export function imageSize(b: Uint8Array, mime: string): Dimensions | null {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ok = (d: Dimensions | null) => (d && d.width > 0 && d.height > 0 ? d : null);
  try {
    switch (mime) {
      case "image/png":
        if (b.length < 24 || String.fromCharCode(...b.subarray(12, 16)) !== "IHDR") return null;
        return ok({ width: dv.getUint32(16), height: dv.getUint32(20) });
      case "image/gif":
        if (b.length < 10) return null;
        return ok({ width: dv.getUint16(6, true), height: dv.getUint16(8, true) });
      case "image/webp":
        return ok(webp(b, dv));
      case "image/jpeg":
        return ok(jpeg(b, dv));
      default:
        return null;
    }
  } catch {
    return null; // truncated header
  }
}

function webp(b: Uint8Array, dv: DataView): Dimensions | null {
  const chunk = String.fromCharCode(...b.subarray(12, 16));
  if (chunk === "VP8 ") return { width: dv.getUint16(26, true) & 0x3fff, height: dv.getUint16(28, true) & 0x3fff };
  if (chunk === "VP8L") {
    const bits = dv.getUint32(21, true);
    return { width: (bits & 0x3fff) + 1, height: ((bits >>> 14) & 0x3fff) + 1 };
  }
  if (chunk === "VP8X") {
    const w = b[24]! | (b[25]! << 8) | (b[26]! << 16);
    const h = b[27]! | (b[28]! << 8) | (b[29]! << 16);
    return { width: w + 1, height: h + 1 };
  }
  return null;
}

function jpeg(b: Uint8Array, dv: DataView): Dimensions | null {
  let i = 2; // after SOI
  while (i + 9 < b.length) {
    if (b[i] !== 0xff) return null;
    const marker = b[i + 1]!;
    if (marker === 0xff) {
      i++; // fill byte
      continue;
    }
    if (marker === 0xd8 || (marker >= 0xd0 && marker <= 0xd7) || marker === 0x01) {
      i += 2; // markers without a length
      continue;
    }
    const len = dv.getUint16(i + 2);
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc)
      return { height: dv.getUint16(i + 5), width: dv.getUint16(i + 7) };
    if (marker === 0xda) return null; // start of scan before any frame header
    i += 2 + len;
  }
  return null;
}
