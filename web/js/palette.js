// palette.js: the server's class colours (imaging/overlay.h: Sasha Trubetskoy's 20
// distinct colours; label k >= 1 is PALETTE[(k - 1) % 20], 0 is background), and
// colorizeMask(), which colours an 8-bit class mask in the browser the way
// GET /api/files/{id}/overlay?palette=classes does. Only used with servers that lack the
// overlay endpoint; the server's overlay is preferred (it also handles 16-bit masks).

export const PALETTE = [
  [0xe6, 0x19, 0x4b], [0x3c, 0xb4, 0x4b], [0xff, 0xe1, 0x19], [0x43, 0x63, 0xd8],
  [0xf5, 0x82, 0x31], [0x91, 0x1e, 0xb4], [0x42, 0xd4, 0xf4], [0xf0, 0x32, 0xe6],
  [0xbf, 0xef, 0x45], [0xfa, 0xbe, 0xd4], [0x46, 0x99, 0x90], [0xdc, 0xbe, 0xff],
  [0x9a, 0x63, 0x24], [0xff, 0xfa, 0xc8], [0x80, 0x00, 0x00], [0xaa, 0xff, 0xc3],
  [0x80, 0x80, 0x00], [0xff, 0xd8, 0xb1], [0x00, 0x00, 0x75], [0xa9, 0xa9, 0xa9],
];

/** "#rrggbb" of class `label` (>= 1). */
export function labelColor(label) {
  const [r, g, b] = PALETTE[(label - 1) % PALETTE.length];
  return `#${[r, g, b].map((v) => v.toString(16).padStart(2, '0')).join('')}`;
}

/**
 * An ImageBitmap of an 8-bit label mask -> an RGBA ImageBitmap: 0 transparent, label k
 * opaque in its class colour; a mask of only 0 and 255 (binary) is drawn as class 1.
 */
export async function colorizeMask(maskBitmap) {
  const { width, height } = maskBitmap;
  const canvas = new OffscreenCanvas(width, height);
  const g = canvas.getContext('2d', { willReadFrequently: true });
  g.drawImage(maskBitmap, 0, 0);
  maskBitmap.close();
  const image = g.getImageData(0, 0, width, height);
  const px = image.data;
  let binary = true;
  for (let i = 0; i < px.length && binary; i += 4) binary = px[i] === 0 || px[i] === 255;
  for (let i = 0; i < px.length; i += 4) {
    const label = px[i];
    if (label === 0) {
      px[i] = px[i + 1] = px[i + 2] = px[i + 3] = 0;
      continue;
    }
    const [r, gr, b] = PALETTE[((binary ? 1 : label) - 1) % PALETTE.length];
    px[i] = r;
    px[i + 1] = gr;
    px[i + 2] = b;
    px[i + 3] = 255;
  }
  return createImageBitmap(image);
}
