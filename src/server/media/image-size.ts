// Width and height of PNG, JPEG, GIF and WebP images, read from their headers
// (no decoding, no library). For JPEG the EXIF orientation is applied: a phone
// photo stored sideways (orientation 5-8) reports the size it is shown at.

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
  let rotated = false;
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
    if (marker === 0xe1) rotated ||= exifSwapsAxes(b, dv, i + 4, Math.min(b.length, i + 2 + len));
    // SOF0..SOF15 except DHT (C4), JPG (C8) and DAC (CC) carry the frame size.
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = dv.getUint16(i + 5);
      const width = dv.getUint16(i + 7);
      return rotated ? { width: height, height: width } : { width, height };
    }
    if (marker === 0xda) return null; // start of scan before any frame header
    i += 2 + len;
  }
  return null;
}

/** True if the APP1 segment at [start, end) is Exif whose IFD0 Orientation is 5..8 (a quarter turn). */
function exifSwapsAxes(b: Uint8Array, dv: DataView, start: number, end: number): boolean {
  if (end - start < 14 || String.fromCharCode(...b.subarray(start, start + 4)) !== "Exif") return false;
  const tiff = start + 6;
  const order = String.fromCharCode(b[tiff]!, b[tiff + 1]!);
  if (order !== "II" && order !== "MM") return false;
  const le = order === "II";
  const ifd = tiff + dv.getUint32(tiff + 4, le);
  if (ifd + 2 > end) return false;
  const count = dv.getUint16(ifd, le);
  for (let k = 0; k < count; k++) {
    const e = ifd + 2 + k * 12;
    if (e + 12 > end) return false;
    if (dv.getUint16(e, le) === 0x0112) {
      const v = dv.getUint16(e + 8, le);
      return v >= 5 && v <= 8;
    }
  }
  return false;
}
