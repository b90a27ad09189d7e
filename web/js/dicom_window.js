// dicom_window.js: the VOI windows of DICOM images as the page names them, and their
// forms on the wire (the server's src/dicom/windowing.h):
//   - the thumbnail/image routes' `?window=` : a preset name or "centre,width";
//   - a job's `params.window`                 : "file", a preset name or [centre, width].
// A window here is {kind: 'file'} | {kind: 'preset', name, center, width} |
// {kind: 'explicit', center, width}.

/** The server's presets (dicom/windowing.cc WindowPresets), in Hounsfield units. */
export const WINDOW_PRESETS = [
  { name: 'lung', label: 'Lung', center: -600, width: 1500 },
  { name: 'soft_tissue', label: 'Soft tissue', center: 40, width: 400 },
  { name: 'bone', label: 'Bone', center: 400, width: 1800 },
  { name: 'brain', label: 'Brain', center: 40, width: 80 },
];

export const FILE_WINDOW = Object.freeze({ kind: 'file' });

export function presetWindow(name) {
  const p = WINDOW_PRESETS.find((x) => x.name === name);
  return p ? { kind: 'preset', name: p.name, center: p.center, width: p.width } : null;
}

/** An explicit window; the width is at least 1 (the server refuses less). */
export function explicitWindow(center, width) {
  return { kind: 'explicit', center: Number(center), width: Math.max(1, Number(width)) };
}

/** The `?window=` value of the image routes; '' for the file's own window (the default). */
export function windowQuery(w) {
  if (!w || w.kind === 'file') return '';
  if (w.kind === 'preset') return w.name;
  return `${w.center},${w.width}`;
}

/** A job's `params.window`. */
export function windowParam(w) {
  if (!w || w.kind === 'file') return 'file';
  if (w.kind === 'preset') return w.name;
  return [w.center, w.width];
}

/**
 * Reads what a person (or a #/run?window= link) typed: "file", a preset name, or
 * "centre,width" / "centre width". Returns the window, or null when it is none of these.
 */
export function parseWindowText(text) {
  const t = String(text ?? '').trim().toLowerCase();
  if (!t || t === 'file') return FILE_WINDOW;
  const preset = presetWindow(t.replace(/[\s-]+/g, '_'));
  if (preset) return preset;
  const m = /^(-?\d+(?:\.\d+)?)\s*[, ]\s*(\d+(?:\.\d+)?)$/.exec(t);
  if (m && Number(m[2]) >= 1) return explicitWindow(Number(m[1]), Number(m[2]));
  return null;
}

/** A short description: "lung (C -600, W 1500)", "C 40, W 400", "the file's window". */
export function describeWindow(w, fileWindow = null) {
  if (!w || w.kind === 'file') {
    return fileWindow ? `the file's window (C ${fileWindow[0]}, W ${fileWindow[1]})` : "the file's window (the frame's range)";
  }
  if (w.kind === 'preset') return `${w.name.replace('_', ' ')} (C ${w.center}, W ${w.width})`;
  return `C ${w.center}, W ${w.width}`;
}
