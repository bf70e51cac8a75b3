// Two small photo-like images (crops of the shipped photos), so example runs on the cpu backend
// stay quick: the examples score each held-out strip whole at the end.
import { cropPixels, readPixels, writePixels } from "../src/data/mod.ts";

/** Writes `cat.png` and `coffee.png` (24×48 crops by default) into `dir`; returns their names. */
export async function tinyPhotos(dir: string, height = 24, width = 48): Promise<string[]> {
  const names: string[] = [];
  for (const [name, top, left] of [["cat", 60, 120], ["coffee", 100, 200]] as const) {
    const src = await readPixels(
      new URL(
        `../examples/data/skimage_${name === "cat" ? "chelsea" : "coffee"}.png`,
        import.meta.url,
      )
        .pathname,
    );
    const crop = cropPixels(src, top, left, height, width);
    await writePixels(`${dir}/${name}.png`, crop);
    names.push(name);
  }
  return names;
}
