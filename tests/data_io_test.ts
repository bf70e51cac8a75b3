import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import * as tf from "@tensorflow/tfjs-core";
import { initBackend } from "../src/backend/mod.ts";
import { assertNoLeak } from "../src/lifetime/mod.ts";
import {
  decodeImage,
  encodeImage,
  imageFileInfo,
  imageFolder,
  ImageFolderError,
  ImageReadError,
  ImageWriteError,
  loadImage,
  type Pixels,
  readPixels,
  saveImage,
  toGrayscale,
  writePixels,
} from "../src/data/mod.ts";
import { jpegReencode } from "../src/data/degrade.ts";
import { mulberry32 } from "../src/data/rng.ts";
import { psnr } from "../src/metrics/mod.ts";
import sharp from "sharp";
import { quietly } from "./_quietly.ts";

await initBackend("cpu");

const TRAIN = "../shared/data/train";
const trainPresent = (() => {
  try {
    return Deno.statSync(TRAIN).isDirectory;
  } catch {
    return false;
  }
})();
if (!trainPresent) console.log(`data_io_test: shared-image tests skipped, ${TRAIN} is absent`);

const fixture = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/data_reference.json", import.meta.url)),
) as { decodeMd5: Record<string, string>; grey16: number[] };

const tmp = await Deno.makeTempDir({ prefix: "data_io_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

function randomBytesImage(seed: number, h: number, w: number, c: number): Pixels {
  const rng = mulberry32(seed);
  const data = new Float32Array(h * w * c).map(() => rng.int(256) / 255);
  return { height: h, width: w, channels: c, data };
}

/** A smooth test picture (JPEG-friendly). */
function smoothImage(h: number, w: number): tf.Tensor3D {
  const data = new Float32Array(h * w * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      data.set(
        [0.5 + 0.4 * Math.sin(x / 5), 0.5 + 0.4 * Math.cos(y / 7), (x + y) / (h + w)],
        (y * w + x) * 3,
      );
    }
  }
  return tf.tensor3d(data, [h, w, 3]);
}

Deno.test("PNG round trip is lossless for 1, 3 and 4 channels", async () => {
  for (const c of [1, 3, 4] as const) {
    const p = randomBytesImage(c, 7, 9, c);
    const path = `${tmp}/rt${c}.png`;
    await writePixels(path, p);
    const back = await readPixels(path, { channels: c });
    assert.deepEqual([back.height, back.width, back.channels], [7, 9, c]);
    assert.ok(back.data.every((v, i) => Math.abs(v - p.data[i]!) < 1e-7), `channels ${c}`);
  }
});

Deno.test("saveImage/loadImage with tensors; JPEG honours quality", async () => {
  const img = smoothImage(48, 64);
  await saveImage(`${tmp}/a.png`, img);
  const png = await loadImage(`${tmp}/a.png`);
  assert.deepEqual(png.shape, [48, 64, 3]);
  assert.ok((await psnr(png, img)) > 50); // 8-bit rounding only: ~59 dB
  const sizes: number[] = [];
  for (const q of [20, 95]) {
    await saveImage(`${tmp}/a_${q}.jpg`, img, { quality: q });
    const bytes = await Deno.readFile(`${tmp}/a_${q}.jpg`);
    assert.deepEqual([bytes[0], bytes[1]], [0xff, 0xd8]); // JPEG SOI marker
    sizes.push(bytes.length);
    const back = await loadImage(`${tmp}/a_${q}.jpg`);
    const p = await psnr(back, img);
    assert.ok(q === 95 ? p > 35 : p > 25 && p < 45, `quality ${q}: ${p} dB`);
    back.dispose();
  }
  assert.ok(sizes[0]! < sizes[1]!, `quality 20 should be smaller: ${sizes}`);
  // .jpeg and upper case extensions work; a batch of one is accepted.
  const batch = tf.expandDims(img, 0) as tf.Tensor4D;
  await saveImage(`${tmp}/b.JPEG`, batch);
  tf.dispose([img, png, batch]);
});

Deno.test({
  name: "loadImage decodes the shared images exactly as PIL does (no colour management)",
  ignore: !trainPresent,
  fn: async () => {
    for (const [name, md5] of Object.entries(fixture.decodeMd5)) {
      const p = await readPixels(`${TRAIN}/${name}`);
      const bytes = Uint8Array.from(p.data, (v) => Math.round(v * 255));
      assert.equal(createHash("md5").update(bytes).digest("hex"), md5, name);
    }
  },
});

Deno.test("16-bit PNGs keep their 16 bits", async () => {
  const path = new URL("./fixtures/data_grey16.png", import.meta.url).pathname;
  for (const c of [1, 3] as const) {
    const p = await readPixels(path, { channels: c });
    assert.deepEqual([p.height, p.width, p.channels], [4, 4, c]);
    fixture.grey16.forEach((v, i) =>
      assert.ok(
        Math.abs(p.data[i * c]! * 65535 - v) < 1e-3,
        `sample ${i}: ${p.data[i * c]! * 65535} vs ${v}`,
      )
    );
  }
});

Deno.test("channels: 1 gives BT.601 luma, grey files load as RGB by default", async () => {
  const p: Pixels = {
    height: 1,
    width: 3,
    channels: 3,
    data: new Float32Array([1, 0, 0, 0, 1, 0, 0, 0, 1]),
  };
  await writePixels(`${tmp}/rgb.png`, p);
  const grey = await readPixels(`${tmp}/rgb.png`, { channels: 1 });
  [0.299, 0.587, 0.114].forEach((w, i) => assert.ok(Math.abs(grey.data[i]! - w) < 1e-6));
  await writePixels(`${tmp}/grey.png`, {
    height: 1,
    width: 2,
    channels: 1,
    data: new Float32Array([0.2, 0.8]),
  });
  const rgb = await readPixels(`${tmp}/grey.png`);
  assert.equal(rgb.channels, 3);
  assert.deepEqual(Array.from(rgb.data, (v) => Math.round(v * 255)), [51, 51, 51, 204, 204, 204]);
  const rgba = await readPixels(`${tmp}/grey.png`, { channels: 4 });
  assert.equal(rgba.data[3], 1); // opaque alpha added
});

Deno.test("an unreadable, corrupt, truncated or missing image names the file", async () => {
  await Deno.writeTextFile(`${tmp}/corrupt.png`, "this is not a PNG");
  const good = await encodeImage(randomBytesImage(3, 32, 32, 3), "png");
  await Deno.writeFile(`${tmp}/truncated.png`, good.subarray(0, good.length >> 1));
  const jpeg = await encodeImage(randomBytesImage(4, 32, 32, 3), "jpeg");
  await Deno.writeFile(`${tmp}/truncated.jpg`, jpeg.subarray(0, jpeg.length >> 1));
  for (const name of ["corrupt.png", "truncated.png", "truncated.jpg", "missing.png"]) {
    const path = `${tmp}/${name}`;
    await assert.rejects(
      () => loadImage(path),
      (e: Error) => e instanceof ImageReadError && e.path === path && e.message.includes(path),
      name,
    );
  }
  await assert.rejects(
    () => decodeImage(new Uint8Array(4), "buffer from the network"),
    /buffer from the network/,
  );
});

Deno.test("saveImage: unknown extension and bad quality are clear errors", async () => {
  const img = tf.zeros([4, 4, 3]) as tf.Tensor3D;
  await assert.rejects(
    () => saveImage(`${tmp}/x.gif`, img),
    (e: Error) => e instanceof ImageWriteError && e.message.includes("x.gif"),
  );
  await assert.rejects(
    () => saveImage(`${tmp}/x.jpg`, img, { quality: 0 }),
    /quality must be an integer in 1..100/,
  );
  const two = tf.zeros([2, 4, 4, 3]) as tf.Tensor4D;
  await assert.rejects(() => saveImage(`${tmp}/x.png`, two), /batch of 2/);
  tf.dispose([img, two]);
});

Deno.test("imageFolder: sorted PNG/JPEG paths; missing, file and empty folders name the folder", async () => {
  const dir = `${tmp}/folder`;
  await Deno.mkdir(`${dir}/sub`, { recursive: true });
  const p = randomBytesImage(1, 2, 2, 3);
  for (const name of ["b.png", "a.JPG", "c.jpeg", "sub/d.png"]) {
    await writePixels(`${dir}/${name}`, p);
  }
  await Deno.writeTextFile(`${dir}/notes.txt`, "not an image");
  assert.deepEqual(await imageFolder(dir), [`${dir}/a.JPG`, `${dir}/b.png`, `${dir}/c.jpeg`]);
  assert.equal((await imageFolder(dir, { recursive: true })).length, 4);
  await Deno.mkdir(`${tmp}/empty`);
  await Deno.writeTextFile(`${tmp}/empty/readme.md`, "");
  await assert.rejects(
    () => imageFolder(`${tmp}/empty`),
    (e: Error) =>
      e instanceof ImageFolderError && e.message.includes(`${tmp}/empty`) &&
      /holds no/.test(e.message),
  );
  await assert.rejects(() => imageFolder(`${tmp}/nope`), /nope' does not exist/);
  await assert.rejects(() => imageFolder(`${dir}/b.png`), /is a file, not a folder/);
});

Deno.test("toGrayscale and jpegReencode", async () => {
  const rgb = tf.tensor4d([1, 0, 0, 0, 0, 1], [1, 1, 2, 3]);
  const g = toGrayscale(rgb);
  assert.deepEqual(g.shape, [1, 1, 2, 1]);
  const gv = await g.data();
  assert.ok(Math.abs(gv[0]! - 0.299) < 1e-6 && Math.abs(gv[1]! - 0.114) < 1e-6);
  const g3 = toGrayscale(rgb, { keepChannels: true });
  assert.deepEqual(g3.shape, [1, 1, 2, 3]);
  const img = smoothImage(32, 32);
  const low = await jpegReencode(img, 10);
  const high = await jpegReencode(img, 95);
  assert.deepEqual(low.shape, [32, 32, 3]);
  assert.ok((await psnr(high, img)) > (await psnr(low, img)) + 3);
  tf.dispose([rgb, g, g3, img, low, high]);
});

Deno.test("image IO entry points leak no tensors", async () => {
  const img = smoothImage(16, 16);
  await saveImage(`${tmp}/leak.png`, img);
  await assertNoLeak(() => loadImage(`${tmp}/leak.png`), { label: "loadImage" });
  await assertNoLeak(() => saveImage(`${tmp}/leak2.jpg`, img), { label: "saveImage" });
  const batch = tf.expandDims(img, 0) as tf.Tensor4D;
  await assertNoLeak(() => saveImage(`${tmp}/leak3.png`, batch), { label: "saveImage batch" });
  await assertNoLeak(() => jpegReencode(img, 50), { label: "jpegReencode" });
  await assertNoLeak(() => toGrayscale(img), { label: "toGrayscale" });
  await assertNoLeak(() => loadImage(`${tmp}/nothing.png`).catch(() => undefined), {
    label: "loadImage error",
  });
  await assertNoLeak(() => saveImage(`${tmp}/x.gif`, batch).catch(() => undefined), {
    label: "saveImage error",
  });
  tf.dispose([img, batch]);
});

/** A raw RGBA image encoded by sharp directly (the library's encoder writes no alpha mix). */
async function rgbaPng(data: number[], width: number, height: number): Promise<Uint8Array> {
  const buf = await sharp(new Uint8Array(data), { raw: { width, height, channels: 4 } }).png()
    .toBuffer();
  return new Uint8Array(buf);
}

Deno.test("alpha: transparent pixels are composited over white (a browser's page), with a note; opaque RGBA is unchanged", async () => {
  // red at alpha 128, green fully transparent, blue opaque
  const png = await rgbaPng([255, 0, 0, 128, 0, 255, 0, 0, 0, 0, 255, 255], 3, 1);
  await Deno.writeFile(`${tmp}/alpha.png`, png);
  const notes: string[] = [];
  const p = await readPixels(`${tmp}/alpha.png`, { onNote: (n) => notes.push(n) });
  // By hand: a·c + (1 − a)·255 with a = 128/255, rounded: R 255, G and B 127.
  assert.deepEqual(Array.from(p.data, (v) => Math.round(v * 255)), [
    255,
    127,
    127,
    255,
    255,
    255,
    0,
    0,
    255,
  ]);
  assert.deepEqual(notes, [
    `${tmp}/alpha.png: 2 of 3 pixels are transparent; composited over white, as a browser ` +
    "shows the image on such a page (set background, or load 4 channels to keep alpha)",
  ]);
  const black = await readPixels(`${tmp}/alpha.png`, { background: [0, 0, 0], onNote: () => {} });
  assert.deepEqual(Array.from(black.data, (v) => Math.round(v * 255)), [
    128,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    255,
  ]);
  // Luma of the composited pixels, for a grey load: 0.299·255 + 0.587·127 + 0.114·127.
  const grey = await readPixels(`${tmp}/alpha.png`, { channels: 1, onNote: () => {} });
  assert.ok(Math.abs(grey.data[0]! * 255 - (0.299 * 255 + 0.701 * 127)) < 1e-3);
  // 4 channels keep alpha as stored, without a note; so is an opaque RGBA file loaded as RGB.
  const quiet: string[] = [];
  const rgba = await readPixels(`${tmp}/alpha.png`, { channels: 4, onNote: (n) => quiet.push(n) });
  assert.deepEqual(Array.from(rgba.data.slice(0, 4), (v) => Math.round(v * 255)), [255, 0, 0, 128]);
  await Deno.writeFile(`${tmp}/opaque.png`, await rgbaPng([10, 20, 30, 255], 1, 1));
  const opaque = await readPixels(`${tmp}/opaque.png`, { onNote: (n) => quiet.push(n) });
  assert.deepEqual(Array.from(opaque.data, (v) => Math.round(v * 255)), [10, 20, 30]);
  assert.deepEqual(quiet, []);
  // The default says it on stderr.
  const { err } = await quietly(() => readPixels(`${tmp}/alpha.png`));
  assert.match(err, /^note: .*alpha\.png: 2 of 3 pixels are transparent; composited over white/);
});

Deno.test("EXIF orientation is applied as browsers do (upright), with a note", async () => {
  // Stored 32 wide × 16 high: left half red, right half blue; orientation 6 shows it rotated
  // 90° clockwise: 16 wide × 32 high, the left (red) half on top.
  const stored = new Uint8Array(32 * 16 * 3);
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 32; x++) stored.set(x < 16 ? [255, 0, 0] : [0, 0, 255], (y * 32 + x) * 3);
  }
  const jpeg = await sharp(stored, { raw: { width: 32, height: 16, channels: 3 } })
    .jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
  await Deno.writeFile(`${tmp}/sideways.jpg`, jpeg);
  const info = await imageFileInfo(`${tmp}/sideways.jpg`);
  assert.deepEqual(info, { width: 16, height: 32, channels: 3, alpha: false, orientation: 6 });
  const notes: string[] = [];
  const p = await readPixels(`${tmp}/sideways.jpg`, { onNote: (n) => notes.push(n) });
  assert.deepEqual([p.width, p.height], [16, 32]);
  const at = (x: number, y: number) =>
    Array.from(p.data.slice((y * 16 + x) * 3, (y * 16 + x) * 3 + 3), (v) => Math.round(v * 255));
  const near = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - b[i]!) < 24);
  assert.ok(near(at(8, 4), [255, 0, 0]), `top ${at(8, 4)}`);
  assert.ok(near(at(8, 27), [0, 0, 255]), `bottom ${at(8, 27)}`);
  assert.deepEqual(notes, [
    `${tmp}/sideways.jpg: EXIF orientation 6 applied (rotated 90° clockwise), as browsers show ` +
    "it; stored 32x16, loaded 16x32",
  ]);
});

Deno.test("imageFileInfo: a grey FILE is 1 channel; an RGB file of grey pixels is 3", async () => {
  const grey = { height: 2, width: 2, channels: 1, data: new Float32Array([0, 0.25, 0.5, 1]) };
  await writePixels(`${tmp}/grey1.png`, grey);
  await writePixels(`${tmp}/grey3.png`, {
    ...grey,
    channels: 3,
    data: Float32Array.from([...grey.data].flatMap((v) => [v, v, v])),
  });
  assert.equal((await imageFileInfo(`${tmp}/grey1.png`)).channels, 1);
  assert.equal((await imageFileInfo(`${tmp}/grey3.png`)).channels, 3);
  await assert.rejects(imageFileInfo(`${tmp}/absent.png`), ImageReadError);
});
