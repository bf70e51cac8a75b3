/**
 * Hostile image files (issue 17, item 7): formats other than PNG/JPEG are refused by their
 * content whatever their name, and the pixel limit is enforced from the header before decoding.
 */
import assert from "node:assert/strict";
import {
  decodeImage,
  DEFAULT_MAX_PIXELS,
  encodeImage,
  ImageFileTooLargeError,
  ImageFormatError,
  ImageReadError,
  ImageTooLargeError,
  loadImage,
  readPixels,
} from "../src/data/mod.ts";
import { PerceptualError } from "../src/errors/mod.ts";
import { initBackend } from "../src/backend/mod.ts";

const grey = (h: number, w: number) => ({
  height: h,
  width: w,
  channels: 3,
  data: new Float32Array(h * w * 3).fill(0.5),
});

/** CRC-32 (PNG's, polynomial 0xEDB88320), written from the PNG specification's annex D. */
function crc32(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

/** A valid PNG whose IHDR (with a correct CRC) declares `width`×`height`. */
async function pngDeclaring(width: number, height: number): Promise<Uint8Array> {
  const png = new Uint8Array(await encodeImage(grey(1, 1), "png"));
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  // signature (8) | length (4) | "IHDR" (4) | width (4) | height (4) | … 5 more | CRC
  assert.equal(new TextDecoder().decode(png.subarray(12, 16)), "IHDR");
  view.setUint32(16, width);
  view.setUint32(20, height);
  view.setUint32(29, crc32(png.subarray(12, 29)));
  return png;
}

const SVG = new TextEncoder().encode(
  '<svg xmlns="http://www.w3.org/2000/svg" width="8000" height="8000">' +
    '<rect width="100%" height="100%" fill="red"/></svg>',
);
// A 1×1 GIF89a.
const GIF = Uint8Array.from(
  atob("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7"),
  (c) => c.charCodeAt(0),
);

Deno.test("an SVG named .png is refused by content, before any decoding", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/bomb.png`;
  await Deno.writeFile(path, SVG);
  await assert.rejects(readPixels(path), (e: Error) => {
    assert.ok(e instanceof ImageFormatError && e instanceof ImageReadError);
    assert.ok(e instanceof PerceptualError);
    assert.equal(e.found, "an SVG document");
    assert.equal(e.path, path);
    assert.match(e.message, /its content is an SVG document, not PNG or JPEG/);
    return true;
  });
  await Deno.remove(dir, { recursive: true });
});

Deno.test("GIF, WebP-like, empty and random bytes are refused with what they look like", async () => {
  const cases: [Uint8Array, string][] = [
    [GIF, "a GIF image"],
    [new TextEncoder().encode("RIFF\0\0\0\0WEBPVP8 "), "a WebP image"],
    [new Uint8Array(0), "empty (0 bytes)"],
    [new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), "unknown content (no PNG or JPEG signature)"],
  ];
  for (const [bytes, found] of cases) {
    await assert.rejects(
      decodeImage(bytes, "x.jpg"),
      (e: Error) => e instanceof ImageFormatError && e.found === found,
      found,
    );
  }
});

Deno.test("the extension does not matter: PNG bytes named .jpg and JPEG named .png load", async () => {
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/a.jpg`, await encodeImage(grey(4, 6), "png"));
  await Deno.writeFile(`${dir}/b.png`, await encodeImage(grey(4, 6), "jpeg"));
  for (const f of ["a.jpg", "b.png"]) {
    const p = await readPixels(`${dir}/${f}`);
    assert.deepEqual([p.height, p.width, p.channels], [4, 6, 3]);
  }
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the pixel limit is read from the header: 8000x8000 PNG header refused by default", async () => {
  assert.equal(DEFAULT_MAX_PIXELS, 40_000_000);
  const png = await pngDeclaring(8000, 8000);
  await assert.rejects(decodeImage(png, "bomb.png"), (e: Error) => {
    assert.ok(e instanceof ImageTooLargeError);
    assert.deepEqual([e.width, e.height, e.maxPixels], [8000, 8000, 40_000_000]);
    assert.match(e.message, /declares 8000x8000 = 64000000 pixels, more than the limit/);
    assert.match(e.message, /maxPixels/);
    return true;
  });
  // just under the default: the header passes, and the (lying) data then fails to decode
  await assert.rejects(
    decodeImage(await pngDeclaring(8000, 5000), "liar.png"),
    (e: Error) => e instanceof ImageReadError && !(e instanceof ImageTooLargeError),
  );
});

Deno.test("maxPixels is configurable, exactly at the limit passes; bad limits are RangeErrors", async () => {
  const png = await encodeImage(grey(64, 64), "png");
  const jpeg = await encodeImage(grey(64, 64), "jpeg");
  for (const bytes of [png, jpeg]) {
    await assert.rejects(decodeImage(bytes, "x", { maxPixels: 4095 }), ImageTooLargeError);
    assert.equal((await decodeImage(bytes, "x", { maxPixels: 4096 })).height, 64);
  }
  await assert.rejects(decodeImage(png, "x", { maxPixels: 0 }), RangeError);
  await assert.rejects(decodeImage(png, "x", { maxPixels: 1.5 }), RangeError);
  await initBackend("cpu");
  const dir = await Deno.makeTempDir();
  await Deno.writeFile(`${dir}/a.png`, png);
  await assert.rejects(loadImage(`${dir}/a.png`, { maxPixels: 100 }), ImageTooLargeError);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("a huge file is judged by its first bytes and its size before it is read", async () => {
  const dir = await Deno.makeTempDir();
  // 3 GB of holes (sparse: no disk, and reading it whole would take seconds and 3 GB of RAM).
  const other = `${dir}/huge.png`;
  await Deno.writeFile(other, new TextEncoder().encode("GIF89a"));
  await Deno.truncate(other, 3e9);
  await assert.rejects(
    readPixels(other),
    (e: Error) => e instanceof ImageFormatError && /GIF/.test(e.message),
  );
  // A PNG signature, but far more bytes than 100 pixels can take (8 B/px + 16 MiB).
  const png = `${dir}/big.png`;
  await Deno.writeFile(png, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  await Deno.truncate(png, 3e9);
  await assert.rejects(
    readPixels(png, { maxPixels: 100 }),
    (e: Error) =>
      e instanceof ImageFileTooLargeError && e.bytes === 3e9 && e.maxBytes === 800 + 16 * 2 ** 20 &&
      e instanceof PerceptualError,
  );
  await Deno.remove(dir, { recursive: true });
});
