#!/usr/bin/env python3
"""Writes the seed corpus of the fuzz targets (fuzz/corpus/<target>/seed-*): small valid
and nearly valid inputs, made here so the corpus is reproducible. Files the fuzzers found
(regressions) are committed beside them as <target>/regress-*; this script leaves those
alone. Usage: fuzz/make_corpus.py [CORPUS_ROOT] (default: fuzz/corpus)."""
import ctypes
import ctypes.util
import hashlib
import hmac
import base64
import io
import json
import os
import struct
import sys
import zipfile
import zlib

ROOT = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "corpus")


def write(target, name, data):
    d = os.path.join(ROOT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, "seed-" + name), "wb") as f:
        f.write(data)


# --- PNG ---
def png_chunk(kind, body):
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png(width, height, depth, color, rows, palette=None, interlace=0, extra=b"", trns=None):
    ihdr = struct.pack(">IIBBBBB", width, height, depth, color, 0, 0, interlace)
    out = b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", ihdr) + extra
    if palette:
        out += png_chunk(b"PLTE", palette)
    if trns:
        out += png_chunk(b"tRNS", trns)
    raw = b"".join(b"\x00" + r for r in rows)
    return out + png_chunk(b"IDAT", zlib.compress(raw)) + png_chunk(b"IEND", b"")


PNGS = {
    "gray8.png": png(4, 3, 8, 0, [bytes([0, 80, 160, 255])] * 3),
    "rgb8.png": png(3, 2, 8, 2, [bytes(range(9)), bytes(range(9, 18))]),
    "rgba16.png": png(2, 2, 16, 6, [bytes(16), bytes(range(16))]),
    "gray_alpha.png": png(2, 1, 8, 4, [bytes([1, 2, 3, 4])]),
    "palette2.png": png(4, 2, 2, 3, [b"\x1b", b"\xe4"], palette=bytes(range(12))),
    # 8-bit palette with a short tRNS, one index past the palette (libpng: black, opaque)
    "palette8_trns.png": png(3, 2, 8, 3, [bytes([0, 1, 5]), bytes([3, 2, 1])],
                             palette=bytes(range(12)), trns=b"\x00\x80"),
    "gray1.png": png(8, 1, 1, 0, [b"\xa5"]),
    "with_text.png": png(1, 1, 8, 0, [b"\x07"], extra=png_chunk(b"tEXt", b"k\x00v")),
}

# --- TIFF (classic, little-endian) ---
def tiff(width, height, spp, bps, data, fmt=1, compression=1, planar=1, photometric=None, pages=1):
    if photometric is None:
        photometric = 2 if spp >= 3 else 1
    if compression == 8:
        data = zlib.compress(data)
    out = bytearray(b"II*\x00" + struct.pack("<I", 0))
    offsets = []
    for _ in range(pages):
        offsets.append(len(out))
        out += data
    ifd_pos = []
    for p in range(pages):
        entries = [
            (256, 3, 1, width), (257, 3, 1, height), (258, 3, 1, bps), (259, 3, 1, compression),
            (262, 3, 1, photometric), (273, 4, 1, offsets[p]), (277, 3, 1, spp),
            (278, 3, 1, height), (279, 4, 1, len(data)), (284, 3, 1, planar), (339, 3, 1, fmt),
        ]
        ifd_pos.append(len(out))
        out += struct.pack("<H", len(entries))
        for tag, typ, count, value in entries:
            if typ == 3:
                out += struct.pack("<HHIHH", tag, typ, count, value, 0)
            else:
                out += struct.pack("<HHII", tag, typ, count, value)
        out += struct.pack("<I", 0)
    struct.pack_into("<I", out, 4, ifd_pos[0])
    for p in range(pages - 1):
        n = struct.unpack_from("<H", out, ifd_pos[p])[0]
        struct.pack_into("<I", out, ifd_pos[p] + 2 + 12 * n, ifd_pos[p + 1])
    return bytes(out)


TIFFS = {
    "gray8.tif": tiff(4, 2, 1, 8, bytes(range(8))),
    "gray16.tif": tiff(2, 2, 1, 16, bytes(range(8))),
    "float32.tif": tiff(2, 1, 1, 32, struct.pack("<ff", 0.5, 2.0), fmt=3),
    "rgb8.tif": tiff(2, 2, 3, 8, bytes(range(12))),
    "rgb8_planar.tif": tiff(2, 1, 3, 8, bytes(range(6)), planar=2),
    "gray8_deflate.tif": tiff(4, 4, 1, 8, bytes(16), compression=8),
    "two_pages.tif": tiff(2, 2, 1, 8, bytes(range(4)), pages=2),
    "miniswhite.tif": tiff(2, 1, 1, 8, b"\x00\xff", photometric=0),
}

# --- JPEG (libturbojpeg through ctypes) ---
def jpegs():
    lib = ctypes.util.find_library("turbojpeg")
    tj = ctypes.CDLL(lib)
    tj.tjInitCompress.restype = ctypes.c_void_p
    tj.tjCompress2.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int, ctypes.c_int,
                               ctypes.c_int, ctypes.c_int, ctypes.POINTER(ctypes.c_void_p),
                               ctypes.POINTER(ctypes.c_ulong), ctypes.c_int, ctypes.c_int,
                               ctypes.c_int]
    tj.tjFree.argtypes = [ctypes.c_void_p]
    out = {}
    # (name, width, height, pixel format (0 RGB, 6 GRAY), subsampling (0 444, 2 420, 3 gray),
    #  flags (16384 progressive))
    for name, w, h, pf, ss, flags in [("gray8.jpg", 8, 8, 6, 3, 0), ("rgb444.jpg", 8, 8, 0, 0, 0),
                                      ("rgb420.jpg", 16, 8, 0, 2, 0),
                                      ("progressive.jpg", 9, 7, 0, 2, 16384)]:
        ch = 1 if pf == 6 else 3
        src = bytes((x * 37 + y * 11 + c * 5) & 255 for y in range(h) for x in range(w) for c in range(ch))
        handle = tj.tjInitCompress()
        buf = ctypes.c_void_p()
        size = ctypes.c_ulong()
        if tj.tjCompress2(handle, src, w, 0, h, pf, ctypes.byref(buf), ctypes.byref(size), ss, 75, flags) != 0:
            raise SystemExit("tjCompress2 failed for " + name)
        out[name] = ctypes.string_at(buf, size.value)
        tj.tjFree(buf)
    return out


JPEGS = jpegs()

for name, data in PNGS.items():
    write("decode_png", name, data)
for name, data in TIFFS.items():
    write("decode_tiff", name, data)
for name, data in JPEGS.items():
    write("decode_jpeg", name, data)
for name, data in list(PNGS.items())[:3] + list(TIFFS.items())[:3] + list(JPEGS.items())[:3]:
    write("image_header", name, data)
write("image_header", "tiff_big_endian.tif", b"MM\x00*\x00\x00\x00\x08\x00\x01\x01\x00\x00\x03\x00\x00\x00\x01\x00\x10\x00\x00\x00\x00\x00\x00")
write("image_header", "bigtiff.tif", b"II+\x00\x08\x00\x00\x00\x10\x00\x00\x00\x00\x00\x00\x00")
write("image_header", "not_an_image.txt", "hello")

# --- OIP JSON ---
OIP = {
    "fp32.json": {"inputs": [{"name": "x", "shape": [1, 3], "datatype": "FP32", "data": [1, 2.5, -3]}]},
    "nested.json": {"id": "r1", "inputs": [{"name": "x", "shape": [2, 2], "datatype": "INT32",
                                            "data": [[1, 2], [3, 4]]}],
                    "outputs": [{"name": "y", "parameters": {"binary_data": True, "classification": 2}}]},
    "bytes.json": {"inputs": [{"name": "image", "shape": [2], "datatype": "BYTES", "data": ["aGk=", "x"]}],
                   "parameters": {"priority": 1, "timeout": 1000}},
    "bool_fp16.json": {"inputs": [{"name": "a", "shape": [2], "datatype": "BOOL", "data": [True, False]},
                                  {"name": "b", "shape": [1], "datatype": "FP16", "data": [0.5]}]},
}
for name, doc in OIP.items():
    write("oip_json", name, json.dumps(doc))
write("oip_json", "deep.json", '{"inputs":[{"name":"x","shape":[1],"datatype":"UINT8","data":' + "[" * 40 + "1" + "]" * 40 + "}]}")

# --- OIP binary: "<header length>\n" + JSON header + tensor bytes ---
def binary(header, payload):
    h = json.dumps(header).encode()
    return str(len(h)).encode() + b"\n" + h + payload


write("oip_binary", "fp32.bin", binary({"inputs": [{"name": "x", "shape": [1, 2], "datatype": "FP32",
                                                    "parameters": {"binary_data_size": 8}}]},
                                       struct.pack("<ff", 1.0, 2.0)))
write("oip_binary", "bytes.bin", binary({"inputs": [{"name": "s", "shape": [2], "datatype": "BYTES",
                                                     "parameters": {"binary_data_size": 11}}]},
                                        struct.pack("<I", 3) + b"abc" + struct.pack("<I", 0)))
write("oip_binary", "mixed.bin", binary({"inputs": [{"name": "a", "shape": [1], "datatype": "INT64",
                                                     "data": [7]},
                                                    {"name": "b", "shape": [2], "datatype": "UINT16",
                                                     "parameters": {"binary_data_size": 4}}]},
                                        b"\x01\x00\x02\x00"))
write("oip_binary", "raw_fp32.bin", b"R\x0a\xff" + struct.pack("<ffff", 1, 2, 3, 4))
write("oip_binary", "raw_uint8.bin", b"R\x01\x01\x01\x02")

# --- multipart: "<content type>\n" + body ---
def multipart(boundary, parts, content_type=None):
    body = b""
    for headers, content in parts:
        body += b"--" + boundary.encode() + b"\r\n" + headers.encode() + b"\r\n\r\n" + content + b"\r\n"
    body += b"--" + boundary.encode() + b"--\r\n"
    ct = content_type or "multipart/form-data; boundary=" + boundary
    return ct.encode() + b"\n" + body


write("multipart", "two_files.txt", multipart("XyZ", [
    ('Content-Disposition: form-data; name="files"; filename="a.png"\r\nContent-Type: image/png', PNGS["gray8.png"]),
    ('Content-Disposition: form-data; name="files"; filename="b.png"', b"hello\r\n--XyZ nearly")]))
write("multipart", "fields.txt", multipart("----WebKitFormBoundary7MA4YWxkTrZu0gW", [
    ('Content-Disposition: form-data; name="name"', b"value"),
    ("Content-Disposition: form-data; name=\"f\"; filename*=UTF-8''%C3%A9t%C3%A9.png", b"x" * 40)]))
write("multipart", "quoted_boundary.txt", multipart("a b", [
    ('Content-Disposition: form-data; name="files"; filename=""', b"")],
    content_type='Multipart/Form-Data; charset=utf-8; boundary="a b"'))
write("multipart", "preamble.txt", b"multipart/form-data; boundary=q\npreamble\r\n--q\r\n"
      b"Content-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--q--\r\nepilogue")

# --- ZIP ---
def zip_bytes(entries, compression=zipfile.ZIP_DEFLATED):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression) as z:
        for name, data, attr in entries:
            info = zipfile.ZipInfo(name, (2020, 1, 1, 0, 0, 0))
            info.compress_type = compression
            if attr is not None:
                info.external_attr = attr << 16
            z.writestr(info, data)
    return buf.getvalue()


write("zip_reader", "images.zip", zip_bytes([("a.png", PNGS["gray8.png"], None),
                                             ("photos/", b"", 0o40755),
                                             ("photos/b.tif", TIFFS["gray8.tif"], None)]))
write("zip_reader", "stored.zip", zip_bytes([("s.txt", b"stored bytes", None),
                                             ("x-refused.png", b"refused by the check", None)],
                                            zipfile.ZIP_STORED))
write("zip_reader", "unsafe.zip", zip_bytes([("../evil.png", b"1", None), ("link", b"target", 0o120777),
                                             ("ok.png", b"fine", None)]))
write("zip_reader", "zeros.zip", zip_bytes([("zeros.png", bytes(200000), None)]))

# --- model.yaml ---
YAMLS = {
    "classify.yaml": "backend: torchscript\nrunner: classify\ninput:\n  width: 224\n  height: 224\n"
                     "  channels: 3\n  mean: [0.485, 0.456, 0.406]\n  std: [0.229, 0.224, 0.225]\n"
                     "batching:\n  max_batch_size: 8\n  max_queue_delay_ms: 5\ninstances:\n  count: 1\n",
    "versions.yaml": "name: fuzz_model\nversion_policy: {latest: 2}\nparams:\n  threshold: 0.5\n"
                     "warmup: 2\noptimize: false\nlabels: labels.txt\n",
    "outputs.yaml": "backend: onnx\nartifact: model.onnx\nrunner: binary_sigmoid\noutputs: {mask: 0}\n"
                    "input: {width: 64, height: 64, channels: 1, resize: letterbox}\n",
    "specific.yaml": "version_policy:\n  specific: [1, 3]\ndescription: \"x\"\n",
    "empty.yaml": "",
}
for name, text in YAMLS.items():
    write("model_yaml", name, text)

# --- JWT (HS256 with the target's key) ---
KEY = b"infera-fuzz-key-0123456789abcdef0123456789"


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=")


def jwt(header, claims, key=KEY):
    signing = b64(json.dumps(header, separators=(",", ":")).encode()) + b"." + \
        b64(json.dumps(claims, separators=(",", ":")).encode())
    return signing + b"." + b64(hmac.new(key, signing, hashlib.sha256).digest())


H = {"alg": "HS256", "typ": "JWT"}
C = {"sub": "1", "role": "admin", "iat": 1699999000, "exp": 1700001000, "jti": "abcdefghijklmnopqrstuv"}
write("jwt", "valid.txt", jwt(H, C))
write("jwt", "session.txt", jwt(H, dict(C, sid="fam1", pwv=1699999000123, nbf=1699999000)))
write("jwt", "expired.txt", jwt(H, dict(C, exp=1600000000, iat=1500000000)))
write("jwt", "none_alg.txt", jwt({"alg": "none"}, C))
write("jwt", "wrong_key.txt", jwt(H, C, key=b"x" * 32))
write("jwt", "garbage.txt", b"a.b.c")
print("corpus written to", ROOT)
