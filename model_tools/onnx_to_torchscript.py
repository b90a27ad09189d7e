#!/usr/bin/python3
"""Convert an ONNX model into a self-contained TorchScript (.pt) file.

Usage:
    /usr/bin/python3 onnx_to_torchscript.py IN.onnx OUT.pt --input-shape 1,3,640,640

The ONNX graph is interpreted node by node with torch functions inside an
nn.Module (weights / constants become registered buffers), the module is traced
with torch.jit.trace at the given shape of the first graph input (float32), and
saved with torch.jit.save.  forward(x) returns the graph output, or a tuple if
the graph has several outputs.  After saving, the file is reloaded (as is, and
frozen + optimize_for_inference like the server) and checked against the eager
interpreter at the traced batch size and at batch+1.

Dynamic dimensions: Shape/Slice/Concat/Reshape/Flatten/Softmax/Resize(scales)
are expressed with traced size ops, so the batch dimension stays dynamic (and
for the conv-only models, H/W too).  Static attributes (pads, Slice starts,
Resize nearest-index tables on the general path, auto_pad) are baked in.

Supported ops (ONNX default domain; attribute/input forms per opset):
  Add Sub Mul Div Pow Sqrt Exp Log Abs Neg Reciprocal Floor Ceil Erf
  Relu LeakyRelu Sigmoid HardSigmoid HardSwish Tanh Clip Identity Dropout
  Conv ConvTranspose BatchNormalization MaxPool AveragePool GlobalAveragePool
  GlobalMaxPool Gemm MatMul Flatten Reshape Transpose Squeeze Unsqueeze Concat
  Slice Gather Shape Cast Constant Pad Resize Upsample Softmax LogSoftmax
"""
import argparse
import sys
import warnings

import numpy as np
import onnx
import torch
import torch.nn.functional as F
from onnx import helper, numpy_helper

# ONNX TensorProto data type -> torch dtype (for Cast).
DTYPES = {1: torch.float32, 2: torch.uint8, 3: torch.int8, 5: torch.int16, 6: torch.int32,
          7: torch.int64, 9: torch.bool, 10: torch.float16, 11: torch.float64, 16: torch.bfloat16}

def _clamp(t, lo=None, hi=None):
    # clamp_min/clamp_max with float bounds, never clamp/hardtanh: in torch 1.13,
    # optimize_for_inference turns clamp(int bounds) into an assert failure and
    # clamp-after-conv into prim::MKLDNNClamp_, which is wrong for batch > 1 when
    # channels are padded in the blocked layout (only the first N*C values clamped).
    if lo is not None:
        t = t.clamp_min(float(lo))
    return t if hi is None else t.clamp_max(float(hi))


# Elementwise ops: name -> f(inputs, attrs).
def _div(a, b):  # ONNX integer Div truncates
    if a.is_floating_point() or b.is_floating_point():
        return a / b
    return torch.div(a, b, rounding_mode='trunc')

ELEMENTWISE = {
    'Add': lambda i, a: i[0] + i[1], 'Sub': lambda i, a: i[0] - i[1],
    'Mul': lambda i, a: i[0] * i[1], 'Div': lambda i, a: _div(i[0], i[1]),
    'Pow': lambda i, a: torch.pow(i[0], i[1]), 'Sqrt': lambda i, a: torch.sqrt(i[0]),
    'Exp': lambda i, a: torch.exp(i[0]), 'Log': lambda i, a: torch.log(i[0]),
    'Abs': lambda i, a: torch.abs(i[0]), 'Neg': lambda i, a: -i[0],
    'Reciprocal': lambda i, a: torch.reciprocal(i[0]), 'Floor': lambda i, a: torch.floor(i[0]),
    'Ceil': lambda i, a: torch.ceil(i[0]), 'Erf': lambda i, a: torch.erf(i[0]),
    'Relu': lambda i, a: torch.relu(i[0]), 'Sigmoid': lambda i, a: torch.sigmoid(i[0]),
    'Tanh': lambda i, a: torch.tanh(i[0]), 'Identity': lambda i, a: i[0],
    'Dropout': lambda i, a: i[0],  # inference: identity (mask output unsupported)
    'LeakyRelu': lambda i, a: F.leaky_relu(i[0], a.get('alpha', 0.01)),
    'HardSigmoid': lambda i, a: _clamp(i[0] * a.get('alpha', 0.2) + a.get('beta', 0.5), 0, 1),
    'HardSwish': lambda i, a: i[0] * _clamp(i[0] / 6 + 0.5, 0, 1),
    'MatMul': lambda i, a: torch.matmul(i[0], i[1]),
    'Concat': lambda i, a: torch.cat(i, a['axis']),
    'Shape': lambda i, a: torch._shape_as_tensor(i[0]),  # traced -> stays dynamic
    'Cast': lambda i, a: i[0].to(DTYPES[a['to']]),
    'GlobalAveragePool': lambda i, a: i[0].mean(tuple(range(2, i[0].dim())), keepdim=True),
    'GlobalMaxPool': lambda i, a: i[0].amax(tuple(range(2, i[0].dim())), keepdim=True),
}
OTHER = {'Constant', 'Clip', 'Conv', 'ConvTranspose', 'BatchNormalization', 'MaxPool',
         'AveragePool', 'Gemm', 'Flatten', 'Reshape', 'Transpose', 'Squeeze', 'Unsqueeze',
         'Slice', 'Gather', 'Pad', 'Resize', 'Upsample', 'Softmax', 'LogSoftmax'}
SUPPORTED = set(ELEMENTWISE) | OTHER


def _attrs(node):
    out = {}
    for a in node.attribute:
        v = helper.get_attribute_value(a)
        out[a.name] = v.decode() if isinstance(v, bytes) else v
    return out


def _spatial_pads(attrs, in_sz, k, s, d):
    """ONNX pads as (begins, ends) per spatial axis, resolving auto_pad."""
    n = len(k)
    auto = attrs.get('auto_pad', 'NOTSET')
    if auto in ('SAME_UPPER', 'SAME_LOWER'):
        b, e = [], []
        for i in range(n):
            out = -(-in_sz[i] // s[i])
            tot = max(0, (out - 1) * s[i] + (k[i] - 1) * d[i] + 1 - in_sz[i])
            lo = tot // 2 if auto == 'SAME_UPPER' else tot - tot // 2
            b.append(lo); e.append(tot - lo)
        return b, e
    if auto == 'VALID':
        return [0] * n, [0] * n
    p = attrs.get('pads', [0] * 2 * n)
    return list(p[:n]), list(p[n:])


def _torch_pad(begins, ends):  # ONNX per-axis begins/ends -> F.pad order (last axis first)
    out = []
    for b, e in zip(reversed(begins), reversed(ends)):
        out += [b, e]
    return out


class OnnxModule(torch.nn.Module):
    def __init__(self, model):
        super().__init__()
        g = model.graph
        self.opset = next((o.version for o in model.opset_import if o.domain in ('', 'ai.onnx')), 1)
        self.consts = {}   # name -> numpy (static values readable at trace time)
        self.bufname = {}  # name -> registered buffer attribute
        for t in g.initializer:
            self._add_const(t.name, numpy_helper.to_array(t))
        self.nodes = []
        for n in g.node:
            a = _attrs(n)
            if n.op_type == 'Constant':
                if 'value' in a:
                    v = numpy_helper.to_array(a['value'])
                else:
                    key, v = next(iter(a.items()))
                    v = np.array(v, dtype=np.float32 if key.startswith('value_float') else np.int64)
                self._add_const(n.output[0], v)
            else:
                self.nodes.append((n.op_type, list(n.input), list(n.output), a))
        for op, ins, _, _ in self.nodes:
            # const * x -> x * const (exact for Add/Mul) so freeze can fold it into a preceding conv
            if op in ('Add', 'Mul') and ins[0] in self.consts and ins[1] not in self.consts:
                ins.reverse()
        self.input_names = [i.name for i in g.input if i.name not in self.consts]
        self.output_names = [o.name for o in g.output]

    def _add_const(self, name, arr):
        self.consts[name] = arr
        attr = f'c{len(self.bufname)}'
        self.register_buffer(attr, torch.from_numpy(np.array(arr)))  # copy: owned, writable
        self.bufname[name] = attr

    def static(self, name):
        """Trace-time value of a (constant) input as numpy; None for empty/missing."""
        if not name:
            return None
        if name in self.consts:
            return self.consts[name]
        return self.env[name].detach().cpu().numpy()  # dynamic value: baked into the trace

    def forward(self, x):
        self.env = {self.input_names[0]: x}
        for name, attr in self.bufname.items():
            self.env[name] = getattr(self, attr)
        for op, ins, outs, a in self.nodes:
            args = [self.env[i] if i else None for i in ins]
            if op in ELEMENTWISE:
                y = ELEMENTWISE[op](args, a)
            else:
                y = getattr(self, 'op_' + op)(args, ins, a)
            self.env[outs[0]] = y
        res = tuple(self.env[o] for o in self.output_names)
        del self.env
        return res[0] if len(res) == 1 else res

    # ---- ops needing more than one line -------------------------------------------------
    def op_Clip(self, x, ins, a):
        if self.opset < 11:
            lo, hi = a.get('min'), a.get('max')
        else:
            lo, hi = [None if self.static(n) is None else float(self.static(n))
                      for n in (ins + ['', ''])[1:3]]
        return _clamp(x[0], lo, hi)

    def op_Conv(self, x, ins, a):
        w = x[1]
        nd = w.dim() - 2
        k = list(a.get('kernel_shape', w.shape[2:]))
        s, d = a.get('strides', [1] * nd), a.get('dilations', [1] * nd)
        b, e = _spatial_pads(a, list(x[0].shape[2:]), k, s, d)
        inp, pad = x[0], b
        if b != e:  # asymmetric: explicit zero pad, then no conv padding
            inp, pad = F.pad(inp, _torch_pad(b, e)), [0] * nd
        conv = (F.conv1d, F.conv2d, F.conv3d)[nd - 1]
        return conv(inp, w, x[2] if len(x) > 2 else None, s, pad, d, a.get('group', 1))

    def op_ConvTranspose(self, x, ins, a):
        w = x[1]
        nd = w.dim() - 2
        if 'output_shape' in a or a.get('auto_pad', 'NOTSET') != 'NOTSET':
            raise NotImplementedError('ConvTranspose with output_shape/auto_pad')
        s, d = a.get('strides', [1] * nd), a.get('dilations', [1] * nd)
        p = a.get('pads', [0] * 2 * nd)
        op = a.get('output_padding', [0] * nd)
        conv = (F.conv_transpose1d, F.conv_transpose2d, F.conv_transpose3d)[nd - 1]
        y = conv(x[0], w, x[2] if len(x) > 2 else None, s, 0, op, a.get('group', 1), d)
        # crop begin/end pads (handles asymmetric pads too)
        idx = (slice(None), slice(None)) + tuple(slice(p[i], y.shape[2 + i] - p[nd + i]) for i in range(nd))
        return y[idx]

    def op_BatchNormalization(self, x, ins, a):
        return F.batch_norm(x[0], x[3], x[4], x[1], x[2], False, 0.0, a.get('epsilon', 1e-5))

    def _pool_geometry(self, x, a):
        k = list(a['kernel_shape'])
        nd = len(k)
        s, d = a.get('strides', [1] * nd), a.get('dilations', [1] * nd)
        b, e = _spatial_pads(a, list(x.shape[2:]), k, s, d)
        return nd, k, s, d, b, e

    def op_MaxPool(self, x, ins, a):
        nd, k, s, d, b, e = self._pool_geometry(x[0], a)
        inp, pad = x[0], b
        if b != e or any(b[i] > k[i] // 2 for i in range(nd)):  # torch needs symmetric, <= k/2
            inp, pad = F.pad(inp, _torch_pad(b, e), value=float('-inf')), [0] * nd
        pool = (F.max_pool1d, F.max_pool2d, F.max_pool3d)[nd - 1]
        return pool(inp, k, s, pad, d, ceil_mode=bool(a.get('ceil_mode', 0)))

    def op_AveragePool(self, x, ins, a):
        nd, k, s, d, b, e = self._pool_geometry(x[0], a)
        if b != e or any(v != 1 for v in d):
            raise NotImplementedError('AveragePool with asymmetric pads or dilations')
        pool = (F.avg_pool1d, F.avg_pool2d, F.avg_pool3d)[nd - 1]
        return pool(x[0], k, s, b, bool(a.get('ceil_mode', 0)), bool(a.get('count_include_pad', 0)))

    def op_Gemm(self, x, ins, a):
        A = x[0].t() if a.get('transA', 0) else x[0]
        B = x[1].t() if a.get('transB', 0) else x[1]
        y = torch.matmul(A, B) * a.get('alpha', 1.0)
        if len(x) > 2 and x[2] is not None:
            y = y + x[2] * a.get('beta', 1.0)
        return y

    def op_Flatten(self, x, ins, a):
        ax = a.get('axis', 1) % max(x[0].dim(), 1) if a.get('axis', 1) < 0 else a.get('axis', 1)
        return x[0].flatten(ax).flatten(0, ax - 1) if ax > 0 else x[0].reshape(1, -1)

    def op_Reshape(self, x, ins, a):
        keep0 = not a.get('allowzero', 0)  # 0 = copy the input's dimension
        if ins[1] in self.consts:
            shape = [x[0].shape[i] if (v == 0 and keep0) else int(v)  # x.shape[i] is traced
                     for i, v in enumerate(self.consts[ins[1]])]
            return x[0].reshape(shape)
        # Computed shape: a list of 0-d tensors is recorded by the tracer as dynamic sizes.
        dims = list(x[1].to(torch.int64).unbind(0))  # list length = output rank (static)
        if keep0:  # resolve zeros with traced tensor ops
            src = torch._shape_as_tensor(x[0])
            dims = [torch.where(d == 0, src[i], d) if i < x[0].dim() else d for i, d in enumerate(dims)]
        return x[0].reshape(dims)

    def op_Transpose(self, x, ins, a):
        return x[0].permute(a.get('perm', list(range(x[0].dim()))[::-1]))

    def _axes(self, ins, a):
        return a.get('axes') if self.opset < 13 else self.static(ins[1] if len(ins) > 1 else '')

    def op_Squeeze(self, x, ins, a):
        axes = self._axes(ins, a)
        if axes is None:
            return x[0].squeeze()
        for ax in sorted((int(v) % x[0].dim() for v in axes), reverse=True):
            x[0] = x[0].squeeze(ax)
        return x[0]

    def op_Unsqueeze(self, x, ins, a):
        axes = self._axes(ins, a)
        rank = x[0].dim() + len(axes)
        for ax in sorted(int(v) % rank for v in axes):
            x[0] = x[0].unsqueeze(ax)
        return x[0]

    def op_Slice(self, x, ins, a):
        if self.opset < 10:
            starts, ends = a['starts'], a['ends']
            axes, steps = a.get('axes', list(range(len(starts)))), [1] * len(starts)
        else:
            starts, ends = self.static(ins[1]), self.static(ins[2])
            axes = self.static(ins[3]) if len(ins) > 3 and ins[3] else range(len(starts))
            steps = self.static(ins[4]) if len(ins) > 4 and ins[4] else [1] * len(starts)
        y = x[0]
        for st, en, ax, sp in zip(starts, ends, axes, steps):
            st, en, ax, sp = int(st), int(en), int(ax) % y.dim(), int(sp)
            if sp > 0:  # Python slicing clamps like ONNX; constants keep other dims dynamic
                y = y[(slice(None),) * ax + (slice(st, en, sp),)]
            else:  # negative step: flip, then slice with static (clamped) indices
                n = y.shape[ax]
                st = min(max(st + n if st < 0 else st, -1), n - 1)
                en = min(max(en + n if en < 0 else en, -1), n - 1)
                idx = torch.arange(st, en, sp, dtype=torch.int64)
                y = torch.index_select(y, ax, idx)
        return y

    def op_Gather(self, x, ins, a):
        ax = a.get('axis', 0) % x[0].dim()
        idx = x[1].to(torch.int64)
        if idx.dim() == 0:
            return x[0].select(ax, int(self.static(ins[1])))
        idx = torch.where(idx < 0, idx + x[0].shape[ax], idx)
        y = torch.index_select(x[0], ax, idx.reshape(-1))
        return y.reshape(list(x[0].shape[:ax]) + list(idx.shape) + list(x[0].shape[ax + 1:]))

    def op_Pad(self, x, ins, a):
        if self.opset < 11:
            pads, value = a['pads'], a.get('value', 0.0)
        else:
            pads = self.static(ins[1])
            cv = self.static(ins[2]) if len(ins) > 2 else None
            value = 0.0 if cv is None else float(cv)
        mode = {'constant': 'constant', 'reflect': 'reflect', 'edge': 'replicate'}[a.get('mode', 'constant')]
        n = len(pads) // 2
        p = _torch_pad([int(v) for v in pads[:n]], [int(v) for v in pads[n:]])
        while len(p) > 2 and p[-2:] == [0, 0]:  # drop leading no-op axes (torch limits non-constant modes)
            p = p[:-2]
        return F.pad(x[0], p, mode, value) if mode == 'constant' else F.pad(x[0], p, mode)

    def op_Upsample(self, x, ins, a):
        scales = a['scales'] if self.opset < 9 else self.static(ins[1])
        return self._resize(x[0], np.asarray(scales, dtype=np.float64), None,
                            a.get('mode', 'nearest'), 'asymmetric', 'floor')

    def op_Resize(self, x, ins, a):
        if self.opset < 11:  # opset 10: (X, scales); asymmetric coordinates
            scales, sizes, ctm = self.static(ins[1]), None, 'asymmetric'
        else:
            scales = self.static(ins[2]) if len(ins) > 2 else None
            sizes = self.static(ins[3]) if len(ins) > 3 else None
            ctm = a.get('coordinate_transformation_mode', 'half_pixel')
        if scales is not None and scales.size == 0:
            scales = None
        mode = a.get('mode', 'nearest')
        if mode == 'cubic' and (a.get('cubic_coeff_a', -0.75) != -0.75 or a.get('exclude_outside', 0)):
            raise NotImplementedError('Resize cubic with non-default cubic_coeff_a/exclude_outside')
        return self._resize(x[0], scales, sizes, mode, ctm,
                            a.get('nearest_mode', 'round_prefer_floor'))

    def _resize(self, x, scales, sizes, mode, ctm, nearest_mode):
        nd = x.dim() - 2
        if scales is not None:
            if any(float(v) != 1.0 for v in scales[:2]):
                raise NotImplementedError('Resize of batch/channel axes')
            sf = [float(v) for v in scales[2:]]
            out = None  # computed below only on the general (static) path
            kw = dict(scale_factor=sf)  # traced with scales -> spatial dims stay dynamic
        else:
            out = [int(v) for v in sizes[2:]]
            sf = [out[i] / x.shape[2 + i] for i in range(nd)]
            kw = dict(size=out)
        # Fast paths where torch's interpolate is exactly the ONNX formula.
        if mode == 'nearest' and ctm == 'asymmetric' and nearest_mode == 'floor':
            return F.interpolate(x, mode='nearest', **kw)
        if mode == 'nearest' and ctm == 'half_pixel' and nearest_mode == 'round_prefer_ceil':
            return F.interpolate(x, mode='nearest-exact', **kw)
        if mode in ('linear', 'cubic') and ctm in ('half_pixel', 'pytorch_half_pixel', 'align_corners'):
            tm = ('linear', 'bilinear', 'trilinear')[nd - 1] if mode == 'linear' else 'bicubic'
            return F.interpolate(x, mode=tm, align_corners=(ctm == 'align_corners'), **kw)
        if mode != 'nearest':
            raise NotImplementedError(f'Resize mode={mode} coordinate_transformation_mode={ctm}')
        # General nearest: per-axis index tables per the ONNX formulas (spatial sizes baked).
        with warnings.catch_warnings():  # int(size) under tracing: intentionally static here
            warnings.simplefilter('ignore', torch.jit.TracerWarning)
            in_sz = [int(v) for v in x.shape[2:]]
        if out is None:
            out = [int(np.floor(in_sz[i] * sf[i])) for i in range(nd)]
        for i in range(nd):
            n_in, n_out, s = in_sz[i], out[i], sf[i]
            o = np.arange(n_out, dtype=np.float64)
            src = {'half_pixel': (o + 0.5) / s - 0.5,
                   'pytorch_half_pixel': (o + 0.5) / s - 0.5 if n_out > 1 else 0 * o,
                   'align_corners': o * (n_in - 1) / (n_out - 1) if n_out > 1 else 0 * o,
                   'asymmetric': o / s,
                   'tf_half_pixel_for_nearest': (o + 0.5) / s}[ctm]
            idx = {'floor': np.floor(src), 'ceil': np.ceil(src),
                   'round_prefer_floor': np.ceil(src - 0.5),
                   'round_prefer_ceil': np.floor(src + 0.5)}[nearest_mode]
            idx = torch.from_numpy(np.clip(idx, 0, n_in - 1).astype(np.int64))
            x = torch.index_select(x, 2 + i, idx)
        return x

    def _softmax(self, x, a, fn):
        ax = a.get('axis', 1 if self.opset < 13 else -1) % x.dim()
        if self.opset >= 13 or ax == x.dim() - 1:
            return fn(x, ax)
        # opset < 13: coerce to 2D [prod(dims[:axis]), prod(dims[axis:])]
        return fn(x.flatten(ax), -1).reshape(x.shape)

    def op_Softmax(self, x, ins, a):
        return self._softmax(x[0], a, lambda t, d: torch.softmax(t, d))

    def op_LogSoftmax(self, x, ins, a):
        return self._softmax(x[0], a, lambda t, d: torch.log_softmax(t, d))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('onnx_in')
    ap.add_argument('pt_out')
    ap.add_argument('--input-shape', required=True, help='e.g. 1,3,640,640 (batch included)')
    args = ap.parse_args()
    shape = [int(v) for v in args.input_shape.split(',')]

    model = onnx.load(args.onnx_in)
    ops = [n.op_type for n in model.graph.node]
    bad = sorted({o for o in ops if o not in SUPPORTED} |
                 {f'{n.domain}::{n.op_type}' for n in model.graph.node if n.domain not in ('', 'ai.onnx')})
    if bad:
        sys.exit(f'error: unsupported ONNX op types: {", ".join(bad)}')

    torch.manual_seed(0)
    module = OnnxModule(model).eval()
    if len(module.input_names) != 1:
        sys.exit(f'error: expected exactly one graph input, got {module.input_names}')
    example = torch.rand(shape) * 2 - 1
    with torch.no_grad():
        traced = torch.jit.trace(module, example, check_trace=False)
    torch.jit.save(traced, args.pt_out)

    # Self-check: the saved file, as loaded and as the server prepares it (freeze +
    # optimize_for_inference), vs the eager interpreter at the traced batch and batch+1.
    loaded = torch.jit.load(args.pt_out).eval()
    optimized = torch.jit.optimize_for_inference(torch.jit.freeze(torch.jit.load(args.pt_out).eval()))
    as_tuple = lambda y: y if isinstance(y, tuple) else (y,)
    for b in (shape[0], shape[0] + 1):
        xb = torch.rand([b] + shape[1:]) * 2 - 1
        with torch.no_grad():
            ref = as_tuple(module(xb))
            for tag, m in (('traced', loaded), ('frozen+optimized', optimized)):
                for r, g in zip(ref, as_tuple(m(xb))):
                    if r.shape != g.shape or not torch.allclose(r.float(), g.float(), atol=1e-4, rtol=1e-4):
                        sys.exit(f'error: {tag} model differs from eager at batch {b} '
                                 f'({tuple(r.shape)} vs {tuple(g.shape)})')

    with torch.no_grad():
        outs = as_tuple(loaded(example))
    counts = {}
    for o in ops:
        counts[o] = counts.get(o, 0) + 1
    print(f'converted {args.onnx_in} (opset {module.opset}) -> {args.pt_out}')
    print(f'  {len(ops)} nodes: ' + ', '.join(f'{k} x{v}' for k, v in sorted(counts.items())))
    print(f'  input  {module.input_names[0]}: {shape}')
    for name, o in zip(module.output_names, outs):
        print(f'  output {name}: {list(o.shape)}')
    print(f'  self-check OK: traced and frozen+optimized == eager at batch {shape[0]} and {shape[0] + 1}')


if __name__ == '__main__':
    main()
