// label_png.js: label images (one channel, 8- or 16-bit grayscale PNGs) to and from a
// Uint16Array, exactly. A canvas cannot do this: it decodes to 8-bit RGBA (16-bit labels
// would be rounded) and may colour-manage. Uses the browser's zlib streams
// (DecompressionStream / CompressionStream 'deflate').
//
//   decodeLabelPng(bytes) -> {width, height, bitDepth, labels: Uint16Array}
//   encodeLabelPng(labels, width, height) -> Blob (8-bit when every label <= 255)

const SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n += 1) {
    let c = n;
    for (let k = 0; k < 8; k += 1) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

function crc32(parts) {
  let c = 0xffffffff;
  for (const bytes of parts) {
    for (let i = 0; i < bytes.length; i += 1) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  }
  return (c ^ 0xffffffff) >>> 0;
}

async function pipe(bytes, stream) {
  const out = new Response(new Blob([bytes]).stream().pipeThrough(stream));
  return new Uint8Array(await out.arrayBuffer());
}

/** Decodes a one-channel 8/16-bit PNG (non-interlaced); throws Error otherwise. */
export async function decodeLabelPng(buffer) {
  const bytes = new Uint8Array(buffer);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let i = 0; i < 8; i += 1) if (bytes[i] !== SIGNATURE[i]) throw new Error('not a PNG');
  let p = 8;
  let width = 0; let height = 0; let bitDepth = 0;
  const idat = [];
  while (p + 8 <= bytes.length) {
    const length = view.getUint32(p);
    const type = String.fromCharCode(...bytes.subarray(p + 4, p + 8));
    const data = bytes.subarray(p + 8, p + 8 + length);
    if (type === 'IHDR') {
      width = view.getUint32(p + 8);
      height = view.getUint32(p + 12);
      bitDepth = data[8];
      const colourType = data[9];
      if (colourType !== 0 || (bitDepth !== 8 && bitDepth !== 16) || data[12] !== 0) {
        throw new Error('the mask is not a one-channel 8/16-bit non-interlaced PNG');
      }
    } else if (type === 'IDAT') {
      idat.push(data);
    } else if (type === 'IEND') {
      break;
    }
    p += 12 + length;
  }
  if (!width || !height) throw new Error('PNG without IHDR');
  const raw = await pipe(new Blob(idat), new DecompressionStream('deflate'));
  const bpp = bitDepth / 8;
  const stride = width * bpp;
  if (raw.length < (stride + 1) * height) throw new Error('PNG data is truncated');
  const labels = new Uint16Array(width * height);
  let prev = new Uint8Array(stride);
  let cur = new Uint8Array(stride);
  for (let y = 0; y < height; y += 1) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let i = 0; i < stride; i += 1) {
      const a = i >= bpp ? cur[i - bpp] : 0;
      const b = prev[i];
      const c = i >= bpp ? prev[i - bpp] : 0;
      let v = line[i];
      if (filter === 1) v += a;
      else if (filter === 2) v += b;
      else if (filter === 3) v += (a + b) >> 1;
      else if (filter === 4) {
        const pa = Math.abs(b - c); const pb = Math.abs(a - c); const pc = Math.abs(a + b - 2 * c);
        v += pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
      } else if (filter !== 0) throw new Error(`PNG filter ${filter}`);
      cur[i] = v & 0xff;
    }
    const row = y * width;
    if (bpp === 1) for (let x = 0; x < width; x += 1) labels[row + x] = cur[x];
    else for (let x = 0; x < width; x += 1) labels[row + x] = (cur[2 * x] << 8) | cur[2 * x + 1];
    [prev, cur] = [cur, prev];
  }
  return { width, height, bitDepth, labels };
}

function chunk(type, data) {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  const typeBytes = new TextEncoder().encode(type);
  out.set(typeBytes, 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32([typeBytes, data]));
  return out;
}

/** A label PNG of `labels` (8-bit when every value fits, else 16-bit). */
export async function encodeLabelPng(labels, width, height) {
  let max = 0;
  for (let i = 0; i < labels.length; i += 1) if (labels[i] > max) max = labels[i];
  const bpp = max > 255 ? 2 : 1;
  const stride = width * bpp;
  const raw = new Uint8Array((stride + 1) * height);
  for (let y = 0; y < height; y += 1) {
    const o = y * (stride + 1);
    raw[o] = 0; // filter: none (label images compress well as they are)
    const row = y * width;
    if (bpp === 1) for (let x = 0; x < width; x += 1) raw[o + 1 + x] = labels[row + x];
    else {
      for (let x = 0; x < width; x += 1) {
        raw[o + 1 + 2 * x] = labels[row + x] >> 8;
        raw[o + 2 + 2 * x] = labels[row + x] & 0xff;
      }
    }
  }
  const ihdr = new Uint8Array(13);
  const v = new DataView(ihdr.buffer);
  v.setUint32(0, width);
  v.setUint32(4, height);
  ihdr[8] = bpp * 8;
  ihdr[9] = 0; // grayscale
  const compressed = await pipe(raw, new CompressionStream('deflate'));
  return new Blob([new Uint8Array(SIGNATURE), chunk('IHDR', ihdr), chunk('IDAT', compressed),
    chunk('IEND', new Uint8Array(0))], { type: 'image/png' });
}
