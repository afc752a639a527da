"""Chapter 8, "The rest of convolution arithmetic, and the backward pass by hand": mistakes and other right answers.

The wrong answers are the slips people make the first time they size a dilated or transposed layer
(padding counted once, ``n*stride`` for ``(n - 1)*stride``, the span without its + 1, ceil for floor,
``/`` for ``//``) and the first time they write a scatter-add or a gradient by hand: the stride left
out of the window's position, ``=`` for ``+=`` where windows overlap, a flipped kernel in ``dx``, the
padded gradient sized by where the stamps reach (the rows a stride leaves unread), ``pad:-pad`` with
``pad = 0``, ties of max pooling sent to every maximum, to the last one or shared out, a running
maximum started at 0, ``ceil_mode`` windows dropped or padded with zeros; and every shortcut the
by-hand exercises switch off (``F.conv_transpose2d``, ``F.unfold``, ``Tensor.unfold``, autograd,
``torch.func``, ``torch.nn.grad``, ``return_indices``). The quizzes' wrong values are the
misconceptions of each question, and their hints never state the answer.
"""

from . import Claim, Right, Wrong

# -- the exercises' own answers, as templates the wrong answers change one slip at a time -------------

_CT = """
def conv_transpose(x, weight, stride=1, pad=0):
    c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    out = x.new_zeros(c_out, (h - 1) * stride + kh, (w - 1) * stride + kw)
    for i in range(h):
        for j in range(w):
            stamp = (x[:, i, j, None, None, None] * weight).sum(dim=0)
            out[:, i * stride:i * stride + kh, j * stride:j * stride + kw] += stamp
    return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad]
"""

_IM2COL = """
def im2col(x, ks, stride=1, pad=0):
    c, h, w = x.shape
    padded = x.new_zeros(c, h + 2 * pad, w + 2 * pad)
    padded[:, pad:pad + h, pad:pad + w] = x
    h_out = (h + 2 * pad - ks) // stride + 1
    w_out = (w + 2 * pad - ks) // stride + 1
    columns = x.new_empty(c * ks * ks, h_out * w_out)
    for i in range(h_out):
        for j in range(w_out):
            window = padded[:, i * stride:i * stride + ks, j * stride:j * stride + ks]
            columns[:, i * w_out + j] = window.reshape(-1)
    return columns
"""

_CB = """
def conv_backward(dout, x, weight, stride=1, pad=0):
    n, c, h, w = x.shape
    _, _, kh, kw = weight.shape
    padded = x.new_zeros(n, c, h + 2 * pad, w + 2 * pad)
    padded[:, :, pad:pad + h, pad:pad + w] = x
    dpadded = torch.zeros_like(padded)
    dw = torch.zeros_like(weight)
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            rows = slice(i * stride, i * stride + kh)
            cols = slice(j * stride, j * stride + kw)
            g = dout[:, :, i, j]
            dw += torch.einsum("nf,nckl->fckl", g, padded[:, :, rows, cols])
            dpadded[:, :, rows, cols] += torch.einsum("nf,fckl->nckl", g, weight)
    db = dout.sum(dim=(0, 2, 3))
    dx = dpadded[:, :, pad:pad + h, pad:pad + w]
    return dx, dw, db
"""

_MB = """
def maxpool_backward(dout, x, size, stride, ceil_mode=False):
    dx = torch.zeros_like(x)
    for i in range(dout.shape[-2]):
        for j in range(dout.shape[-1]):
            rows = slice(i * stride, i * stride + size)
            cols = slice(j * stride, j * stride + size)
            window = x[..., rows, cols]
            flat = window.flatten(-2)
            first = F.one_hot(flat.argmax(dim=-1), flat.shape[-1]).reshape(window.shape)
            dx[..., rows, cols] += first * dout[..., i, j, None, None]
    return dx
"""

#: maxpool_backward written with a running maximum per map, as a loop learner writes it; the wrong answers
#: change its start, its comparison or its write.
_MB_LOOPS = """
def maxpool_backward(dout, x, size, stride, ceil_mode=False):
    dx = torch.zeros_like(x)
    h, w = x.shape[-2:]
    for a in range(x.shape[0]):
        for b in range(x.shape[1]):
            for i in range(dout.shape[-2]):
                for j in range(dout.shape[-1]):
                    best, where = START, None
                    for r in range(i * stride, min(i * stride + size, h)):
                        for c in range(j * stride, min(j * stride + size, w)):
                            if x[a, b, r, c] BETTER best:
                                best, where = x[a, b, r, c], (r, c)
                    if where is not None:
                        dx[a, b, where[0], where[1]] WRITE dout[a, b, i, j]
    return dx
"""


#: Two hand computations, each written twice in the catalogue: on the tensors (right) and on NumPy copies of
#: them (refused: a by-hand answer computes on its tensors), the same loops either way.
_CT_BY_CHANNEL = """
def conv_transpose(x, weight, stride=1, pad=0):
    a, k = x.double(), weight.double()
    c_in, h, w = a.shape
    _, c_out, kh, kw = k.shape
    out = torch.zeros(c_out, (h - 1) * stride + kh, (w - 1) * stride + kw, dtype=torch.float64)
    for o in range(c_out):
        for c in range(c_in):
            for i in range(h):
                for j in range(w):
                    out[o, i * stride:i * stride + kh, j * stride:j * stride + kw] += a[c, i, j] * k[c, o]
    return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad].float()
"""
_CB_BY_VALUE = """
def conv_backward(dout, x, weight, stride=1, pad=0):
    d, a, k = dout.double(), x.double(), weight.double()
    n, c, h, w = a.shape
    f, _, kh, kw = k.shape
    ap = F.pad(a, (pad, pad, pad, pad))
    dap, dk = torch.zeros_like(ap), torch.zeros_like(k)
    for b in range(n):
        for o in range(f):
            for i in range(d.shape[2]):
                for j in range(d.shape[3]):
                    window = ap[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
                    dk[o] += d[b, o, i, j] * window
                    dap[b, :, i * stride:i * stride + kh, j * stride:j * stride + kw] += d[b, o, i, j] * k[o]
    return dap[:, :, pad:pad + h, pad:pad + w].float(), dk.float(), d.sum(dim=(0, 2, 3)).float()
"""


def _sub(template: str, *pairs: tuple[str, str]) -> str:
    """The template with each (old, new) replaced; every old text must be there."""
    for old, new in pairs:
        if old not in template:
            raise ValueError(f"{old!r} is not in the template")
        template = template.replace(old, new)
    return template


def _mb_loops(start="-float('inf')", better=">", write="+=") -> str:
    return _sub(_MB_LOOPS, ("START", start), ("BETTER", better), ("WRITE", write))


_DILATED = "def dilated_size(n, ks, pad=0, stride=1, dilation=1):\n    return {}"
_TRANSPOSED = "def transposed_size(n, ks, stride=1, pad=0, output_padding=0, dilation=1):\n    return {}"
_GROUPED = "def grouped_params(c_in, c_out, ks, groups=1, bias=True):\n    return {}"

WRONG = [
    # -- dilated_size ---------------------------------------------------------------------------
    Wrong("dilated_size", "dilation applied to the stride",
          _DILATED.format("(n + 2 * pad - ks) // (stride * dilation) + 1"),
          hint="not the steps", concept="dilation multiplies the stride"),
    Wrong("dilated_size", "span dilation*ks",
          _DILATED.format("(n + 2 * pad - dilation * ks) // stride + 1"),
          hint="not dilation*ks", concept="span off by one"),
    Wrong("dilated_size", "dilation ignored (chapter 3's formula)",
          _DILATED.format("(n + 2 * pad - ks) // stride + 1"),
          hint="replace ks by dilation*(ks - 1) + 1", concept="dilation ignored"),
    Wrong("dilated_size", "/ for //",
          _DILATED.format("(n + 2 * pad - dilation * (ks - 1) - 1) / stride + 1"),
          hint="use // (floor division), not /", concept="/ for //"),
    Wrong("dilated_size", "padding counted once",
          _DILATED.format("(n + pad - dilation * (ks - 1) - 1) // stride + 1"),
          hint="n + 2*pad pixels", concept="padding counted once"),
    Wrong("dilated_size", "the + 1 forgotten",
          _DILATED.format("(n + 2 * pad - dilation * (ks - 1) - 1) // stride"),
          hint="count the first position too", concept="off by one"),
    Wrong("dilated_size", "ceil for floor",
          _DILATED.format("math.ceil((n + 2 * pad - dilation * (ks - 1) - 1) / stride) + 1"),
          hint="round down (//), not up", concept="ceil for floor"),
    Wrong("dilated_size", "the span without its + 1",
          _DILATED.format("(n + 2 * pad - dilation * (ks - 1)) // stride + 1"),
          hint="the + 1 is its first tap", concept="span off by one"),
    Wrong("dilated_size", "a float from np.floor",
          _DILATED.format("np.floor((n + 2 * pad - dilation * (ks - 1) - 1) / stride) + 1"),
          hint="a size is a whole number", concept="float for int"),

    # -- transposed_size ------------------------------------------------------------------------
    Wrong("transposed_size", "output_padding left out",
          _TRANSPOSED.format("(n - 1) * stride - 2 * pad + dilation * (ks - 1) + 1"),
          hint="add output_padding", concept="a term left out"),
    Wrong("transposed_size", "padding counted once",
          _TRANSPOSED.format("(n - 1) * stride - pad + dilation * (ks - 1) + output_padding + 1"),
          hint="counts twice", concept="padding counted once"),
    Wrong("transposed_size", "n*stride for (n - 1)*stride",
          _TRANSPOSED.format("n * stride - 2 * pad + dilation * (ks - 1) + output_padding + 1"),
          hint="not n*stride", concept="off by one"),
    Wrong("transposed_size", "n*stride and no + 1",
          _TRANSPOSED.format("n * stride - 2 * pad + dilation * (ks - 1) + output_padding"),
          hint="the last one starts at (n - 1)*stride", concept="off by one"),
    Wrong("transposed_size", "the size simply multiplied by the stride",
          _TRANSPOSED.format("n * stride"),
          hint="does not just multiply the size by the stride", concept="upsampling by the stride"),
    Wrong("transposed_size", "dilation ignored",
          _TRANSPOSED.format("(n - 1) * stride - 2 * pad + (ks - 1) + output_padding + 1"),
          hint="dilated kernel", concept="dilation ignored"),
    Wrong("transposed_size", "a convolution's size",
          _TRANSPOSED.format("(n + 2 * pad - dilation * (ks - 1) - 1) // stride + 1"),
          hint="size of a convolution", concept="forward for transposed"),
    Wrong("transposed_size", "padding added as in a convolution",
          _TRANSPOSED.format("(n - 1) * stride + 2 * pad + dilation * (ks - 1) + output_padding + 1"),
          hint="padding crops the output", concept="padding sign"),
    Wrong("transposed_size", "a float: the stride halved and doubled back",
          _TRANSPOSED.format("(n - 1) * (stride / 2) * 2 - 2 * pad + dilation * (ks - 1) + output_padding + 1"),
          hint="a size is a whole number", concept="float for int"),
    Wrong("transposed_size", "output_padding on both sides",
          _TRANSPOSED.format("(n - 1) * stride - 2 * pad + dilation * (ks - 1) + 2 * output_padding + 1"),
          hint="one end only", concept="output_padding doubled"),

    # -- conv_transpose ------------------------------------------------------------------------
    Wrong("conv_transpose", "padding not cropped",
          _sub(_CT, ("return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad]", "return out")),
          hint="padding is cropped", concept="padding ignored"),
    Wrong("conv_transpose", "padding cropped at the top and left only",
          _sub(_CT, ("return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad]", "return out[:, pad:, pad:]")),
          hint="both ends", concept="padding counted once"),
    Wrong("conv_transpose", "the kernel flipped",
          _sub(_CT, ("* weight)", "* weight.flip(-2, -1))")),
          hint="do not flip", concept="a flipped kernel"),
    Wrong("conv_transpose", "nn.Conv2d's weight layout [out, in, kh, kw]",
          _sub(_CT, ("_, c_out, kh, kw = weight.shape", "c_out, _, kh, kw = weight.shape"),
               ("x[:, i, j, None, None, None] * weight).sum(dim=0)",
                "x[None, :, i, j, None, None] * weight).sum(dim=1)")),
          hint="[in, out, kh, kw]", concept="transposed weight layout"),
    Wrong("conv_transpose", "stamps not moved by the stride",
          _sub(_CT, ("out[:, i * stride:i * stride + kh, j * stride:j * stride + kw]", "out[:, i:i + kh, j:j + kw]")),
          hint="multiply by the stride", concept="stride ignored"),
    Wrong("conv_transpose", "= for += in the scatter-add",
          _sub(_CT, ("+= stamp", "= stamp")),
          hint="add (+=) each stamp", concept="= for +="),
    Wrong("conv_transpose", "out[:, pad:-pad] cropping, empty for pad = 0",
          _sub(_CT, ("return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad]",
                     "return out[:, pad:-pad, pad:-pad]")),
          hint="-0 is 0", concept="pad:-pad"),
    Wrong("conv_transpose", "padding added around the output",
          _sub(_CT, ("return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad]", "return F.pad(out, (pad,) * 4)")),
          hint="it does not add zeros", concept="padding sign"),
    Wrong("conv_transpose", "the stamp not summed over the input channels",
          _sub(_CT, ("* weight).sum(dim=0)", "* weight)")),
          hint="sum (x[:, i, j, None, None, None] * weight) over the input channels", concept="sum forgotten"),
    Wrong("conv_transpose", "the full output sized h*stride",
          _sub(_CT, ("(h - 1) * stride + kh, (w - 1) * stride + kw)", "h * stride, w * stride)")),
          hint="(h - 1)*stride + kh rows", concept="size off"),
    Wrong("conv_transpose", "a square kernel assumed",
          _sub(_CT, ("_, c_out, kh, kw = weight.shape", "_, c_out, kh, _ = weight.shape\n    kw = kh")),
          hint="(w - 1)*stride + kw columns", concept="square kernel assumed"),
    Wrong("conv_transpose", "F.conv_transpose2d (a shortcut)",
          "def conv_transpose(x, weight, stride=1, pad=0):\n"
          "    return F.conv_transpose2d(x[None], weight, stride=stride, padding=pad)[0]",
          hint="write the scatter-add yourself", concept="shortcut"),
    Wrong("conv_transpose", "nn.ConvTranspose2d (a shortcut)",
          "def conv_transpose(x, weight, stride=1, pad=0):\n"
          "    layer = nn.ConvTranspose2d(weight.shape[0], weight.shape[1], weight.shape[-2:], stride, pad,\n"
          "                               bias=False)\n"
          "    layer.weight.data = weight\n"
          "    with torch.no_grad():\n"
          "        return layer(x[None])[0]",
          hint="write the scatter-add yourself", concept="shortcut"),
    Wrong("conv_transpose", "the gradient of a loop convolution, by autograd",
          """
def conv_transpose(x, weight, stride=1, pad=0):
    c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    big = torch.zeros(c_out, (h - 1) * stride + kh, (w - 1) * stride + kw, requires_grad=True)
    out = torch.stack([torch.stack([(big[:, i * stride:i * stride + kh, j * stride:j * stride + kw][None]
                                     * weight).sum((1, 2, 3)) for j in range(w)], -1) for i in range(h)], -2)
    (grad,) = torch.autograd.grad(out, big, x)
    return grad[:, pad:grad.shape[1] - pad, pad:grad.shape[2] - pad]
""", hint="write the scatter-add yourself", concept="shortcut"),

    # -- grouped_params -------------------------------------------------------------------------
    Wrong("grouped_params", "groups ignored", _GROUPED.format("c_out * c_in * ks * ks + c_out * bias"),
          hint="c_in // groups input", concept="groups ignored"),
    Wrong("grouped_params", "both channel counts divided by groups",
          _GROUPED.format("(c_out // groups) * (c_in // groups) * ks * ks + c_out * bias"),
          hint="divide once", concept="divided twice"),
    Wrong("grouped_params", "one bias per group's output channel",
          _GROUPED.format("c_out * (c_in // groups) * ks * ks + (c_out // groups) * bias"),
          hint="one bias per output channel", concept="bias per group"),
    Wrong("grouped_params", "bias counted when bias=False",
          _GROUPED.format("c_out * (c_in // groups) * ks * ks + c_out"),
          hint="bias=False none", concept="bias flag ignored"),
    Wrong("grouped_params", "the bias flag read backwards",
          _GROUPED.format("c_out * (c_in // groups) * ks * ks + c_out * (not bias)"),
          hint="bias=False none", concept="bias flag ignored"),
    Wrong("grouped_params", "/ for //", _GROUPED.format("c_out * (c_in / groups) * ks * ks + c_out * bias"),
          hint="use // to", concept="/ for //"),
    Wrong("grouped_params", "a float: the bias flag multiplied as 1.0",
          _GROUPED.format("c_out * (c_in // groups) * ks * ks + c_out * float(bias)"),
          hint="a float crept into the arithmetic", concept="float for int"),
    Wrong("grouped_params", "ks weights per kernel, not ks*ks",
          _GROUPED.format("c_out * (c_in // groups) * ks + c_out * bias"),
          hint="ks*ks weights", concept="kernel area"),

    # -- im2col ----------------------------------------------------------------------------------
    Wrong("im2col", "one row per window (the matrix transposed)",
          _sub(_IM2COL, ("return columns", "return columns.T")),
          hint="one column per window", concept="transposed result"),
    Wrong("im2col", "channels last inside each column",
          _sub(_IM2COL, ("window.reshape(-1)", "window.permute(1, 2, 0).reshape(-1)")),
          hint="channel first", concept="wrong axis order"),
    Wrong("im2col", "windows numbered column after column",
          _sub(_IM2COL, ("columns[:, i * w_out + j]", "columns[:, j * h_out + i]")),
          hint="row after row", concept="rows and columns swapped"),
    Wrong("im2col", "the input not padded",
          _sub(_IM2COL, ("padded[:, pad:pad + h, pad:pad + w] = x\n", "padded = x\n"),
               ("h_out = (h + 2 * pad - ks)", "h_out = (h - ks)"), ("w_out = (w + 2 * pad - ks)", "w_out = (w - ks)")),
          hint="pad the input", concept="padding ignored"),
    Wrong("im2col", "windows counted with ceil (the last one past the edge)",
          _sub(_IM2COL,
               ("h_out = (h + 2 * pad - ks) // stride + 1", "h_out = math.ceil((h + 2 * pad - ks) / stride) + 1"),
               ("w_out = (w + 2 * pad - ks) // stride + 1", "w_out = math.ceil((w + 2 * pad - ks) / stride) + 1")),
          hint="count only the windows that fit", concept="ceil for floor"),
    Wrong("im2col", "windows counted with ceil, the columns stacked",
          """
def im2col(x, ks, stride=1, pad=0):
    padded = F.pad(x, (pad, pad, pad, pad))
    h_out = math.ceil((padded.shape[1] - ks) / stride) + 1
    w_out = math.ceil((padded.shape[2] - ks) / stride) + 1
    return torch.stack([padded[:, i * stride:i * stride + ks, j * stride:j * stride + ks].reshape(-1)
                        for i in range(h_out) for j in range(w_out)], dim=1)
""", hint="count only the windows that fit", concept="ceil for floor"),
    Wrong("im2col", "windows not moved by the stride",
          _sub(_IM2COL, ("padded[:, i * stride:i * stride + ks, j * stride:j * stride + ks]",
                         "padded[:, i:i + ks, j:j + ks]")),
          hint="multiply by the stride", concept="stride ignored"),
    Wrong("im2col", "the + 1 of the count forgotten",
          _sub(_IM2COL, ("h_out = (h + 2 * pad - ks) // stride + 1", "h_out = (h + 2 * pad - ks) // stride"),
               ("w_out = (w + 2 * pad - ks) // stride + 1", "w_out = (w + 2 * pad - ks) // stride")),
          hint="the + 1 counts the first window", concept="off by one"),
    Wrong("im2col", "padding counted once in the count",
          _sub(_IM2COL, ("h_out = (h + 2 * pad - ks)", "h_out = (h + pad - ks)"),
               ("w_out = (w + 2 * pad - ks)", "w_out = (w + pad - ks)")),
          hint="h + 2*pad rows", concept="padding counted once"),
    Wrong("im2col", "each window read column by column",
          _sub(_IM2COL, ("window.reshape(-1)", "window.transpose(1, 2).reshape(-1)")),
          hint="row by row", concept="rows and columns swapped"),
    Wrong("im2col", "a 3-D result [c, ks*ks, windows]",
          _sub(_IM2COL, ("return columns", "return columns.reshape(c, ks * ks, -1)")),
          hint="one 2-D matrix", concept="wrong shape"),
    Wrong("im2col", "F.unfold (a shortcut)",
          "def im2col(x, ks, stride=1, pad=0):\n    return F.unfold(x[None], ks, padding=pad, stride=stride)[0]",
          hint="copy each window with slicing", concept="shortcut"),
    Wrong("im2col", "Tensor.unfold (a shortcut)",
          "def im2col(x, ks, stride=1, pad=0):\n"
          "    return (F.pad(x, (pad,) * 4).unfold(1, ks, stride).unfold(2, ks, stride)\n"
          "            .permute(0, 3, 4, 1, 2).reshape(x.shape[0] * ks * ks, -1))",
          hint="copy each window with slicing", concept="shortcut"),

    # -- conv_backward ---------------------------------------------------------------------------
    Wrong("conv_backward", "db not summed over the batch",
          _sub(_CB, ("db = dout.sum(dim=(0, 2, 3))", "db = dout.sum(dim=(2, 3))")),
          hint="sums dout over the batch", concept="an axis not summed"),
    Wrong("conv_backward", "db of the first image only",
          _sub(_CB, ("db = dout.sum(dim=(0, 2, 3))", "db = dout[0].sum(dim=(1, 2))")),
          hint="every image and not only the first", concept="first image only"),
    Wrong("conv_backward", "dx not cropped",
          _sub(_CB, ("return dx, dw, db", "return dpadded, dw, db")),
          hint="crop the padding from dx", concept="padding not cropped"),
    Wrong("conv_backward", "dw of the first image only",
          _sub(_CB, ('torch.einsum("nf,nckl->fckl", g, padded[:, :, rows, cols])',
                     'torch.einsum("nf,nckl->fckl", g[:1], padded[:1, :, rows, cols])')),
          hint="not only the first one", concept="first image only"),
    Wrong("conv_backward", "dw from windows of the unpadded input",
          _sub(_CB, ('g, padded[:, :, rows, cols])', 'g, x[:, :, rows, cols])')),
          hint="cut the windows from the padded input", concept="padding ignored"),
    Wrong("conv_backward", "windows not moved by the stride",
          _sub(_CB, ("rows = slice(i * stride, i * stride + kh)", "rows = slice(i, i + kh)"),
               ("cols = slice(j * stride, j * stride + kw)", "cols = slice(j, j + kw)")),
          hint="multiply by the stride", concept="stride ignored"),
    Wrong("conv_backward", "a flipped kernel stamped into dx",
          _sub(_CB, ('torch.einsum("nf,fckl->nckl", g, weight)',
                     'torch.einsum("nf,fckl->nckl", g, weight.flip(-2, -1))')),
          hint="not flipped", concept="a flipped kernel"),
    Wrong("conv_backward", "= for += in dw",
          _sub(_CB, ("dw += torch.einsum", "dw = torch.einsum")),
          hint="dw += ..., not dw = ...", concept="= for +="),
    Wrong("conv_backward", "= for += in dx (overlapping windows)",
          _sub(_CB, ("dpadded[:, :, rows, cols] += torch.einsum", "dpadded[:, :, rows, cols] = torch.einsum")),
          hint="add (+=) each stamp into dx", concept="= for +="),
    Wrong("conv_backward", "dx summed over the batch",
          _sub(_CB, ('dpadded[:, :, rows, cols] += torch.einsum("nf,fckl->nckl", g, weight)',
                     'dpadded[:, :, rows, cols] += torch.einsum("nf,fckl->ckl", g, weight)')),
          hint="each image's dx comes from its own dout", concept="batch axis summed"),
    Wrong("conv_backward", "the padded gradient sized by the stamps (the rows a stride leaves unread)",
          _sub(_CB, ("dpadded = torch.zeros_like(padded)",
                     "dpadded = x.new_zeros(n, c, (dout.shape[2] - 1) * stride + kh,\n"
                     "                      (dout.shape[3] - 1) * stride + kw)")),
          hint="A stride can leave the last rows and columns unread", concept="unread rows forgotten"),
    Wrong("conv_backward", "dx cropped with pad:-pad, empty for pad = 0",
          _sub(_CB, ("dx = dpadded[:, :, pad:pad + h, pad:pad + w]", "dx = dpadded[:, :, pad:-pad, pad:-pad]")),
          hint="-0 is 0", concept="pad:-pad"),
    Wrong("conv_backward", "(dw, dx, db) returned",
          _sub(_CB, ("return dx, dw, db", "return dw, dx, db")),
          hint="in the order (dx, dw, db)", concept="order of results"),
    Wrong("conv_backward", "db summed over every axis",
          _sub(_CB, ("db = dout.sum(dim=(0, 2, 3))", "db = dout.sum()")),
          hint="keep the channel axis", concept="an axis summed too many"),
    Wrong("conv_backward", "the gradients as a list",
          _sub(_CB, ("return dx, dw, db", "return [dx, dw, db]")),
          hint="return three tensors as a tuple", concept="list instead of a tuple"),
    Wrong("conv_backward", "a square kernel assumed",
          _sub(_CB, ("_, _, kh, kw = weight.shape", "_, _, kh, _ = weight.shape\n    kw = kh")),
          hint="each is kh x kw", concept="square kernel assumed"),
    Wrong("conv_backward", "autograd through F.conv2d (a shortcut)",
          """
def conv_backward(dout, x, weight, stride=1, pad=0):
    x, weight = x.clone().requires_grad_(), weight.clone().requires_grad_()
    bias = torch.zeros(weight.shape[0], requires_grad=True)
    F.conv2d(x, weight, bias, stride=stride, padding=pad).backward(dout)
    return x.grad, weight.grad, bias.grad
""", hint="write the gradients yourself", concept="shortcut"),
    Wrong("conv_backward", "autograd through a hand-written forward loop",
          """
def conv_backward(dout, x, weight, stride=1, pad=0):
    x, weight = x.clone().requires_grad_(), weight.clone().requires_grad_()
    bias = torch.zeros(weight.shape[0], requires_grad=True)
    xp = F.pad(x, (pad,) * 4)
    kh, kw = weight.shape[-2:]
    total = 0
    for i in range(dout.shape[2]):
        for j in range(dout.shape[3]):
            window = xp[:, :, i * stride:i * stride + kh, j * stride:j * stride + kw]
            total = total + ((torch.einsum("nckl,fckl->nf", window, weight) + bias) * dout[:, :, i, j]).sum()
    total.backward()
    return x.grad, weight.grad, bias.grad
""", hint="write the gradients yourself", concept="shortcut"),
    Wrong("conv_backward", "torch.func.vjp (a shortcut)",
          """
def conv_backward(dout, x, weight, stride=1, pad=0):
    _, vjp = torch.func.vjp(lambda a, b: F.conv2d(a, b, stride=stride, padding=pad), x, weight)
    dx, dw = vjp(dout)
    return dx, dw, dout.sum((0, 2, 3))
""", hint="write the gradients yourself", concept="shortcut"),
    Wrong("conv_backward", "torch.nn.grad's convolutions (a shortcut)",
          """
def conv_backward(dout, x, weight, stride=1, pad=0):
    dx = torch.nn.grad.conv2d_input(x.shape, weight, dout, stride=stride, padding=pad)
    dw = torch.nn.grad.conv2d_weight(x, weight.shape, dout, stride=stride, padding=pad)
    return dx, dw, dout.sum((0, 2, 3))
""", hint="write the gradients yourself", concept="shortcut"),

    # -- maxpool_backward ------------------------------------------------------------------------
    Wrong("maxpool_backward", "the gradient sent to every value of the window",
          _sub(_MB, ("+= first * dout[..., i, j, None, None]", "+= dout[..., i, j, None, None]")),
          hint="only the maximum gets its gradient", concept="routing to every value"),
    Wrong("maxpool_backward", "average pooling's gradient",
          _sub(_MB, ("+= first * dout[..., i, j, None, None]", "+= dout[..., i, j, None, None] / (size * size)")),
          hint="average pooling", concept="average for max"),
    Wrong("maxpool_backward", "a tie sends the gradient to every tied maximum",
          _sub(_MB, ("first = F.one_hot(flat.argmax(dim=-1), flat.shape[-1]).reshape(window.shape)",
                     "first = window == window.amax(dim=(-2, -1), keepdim=True)")),
          hint="not to every tied value", concept="ties"),
    Wrong("maxpool_backward", "a tie sends the gradient to the last maximum (>= in a running maximum)",
          _mb_loops(better=">="),
          hint="not the last", concept="ties"),
    Wrong("maxpool_backward", "a tie shares the gradient out",
          _sub(_MB, ("first = F.one_hot(flat.argmax(dim=-1), flat.shape[-1]).reshape(window.shape)",
                     "is_max = window == window.amax(dim=(-2, -1), keepdim=True)\n"
                     "            first = is_max / is_max.sum(dim=(-2, -1), keepdim=True)")),
          hint="not shared out", concept="ties"),
    Wrong("maxpool_backward", "the running maximum started at 0", _mb_loops(start="0"),
          hint="not from 0", concept="maximum started at 0"),
    Wrong("maxpool_backward", "the window overwritten: dx[..., rows, cols] = first * dout",
          _sub(_MB, ("dx[..., rows, cols] += first", "dx[..., rows, cols] = first")),
          hint="wipes what the previous windows sent there", concept="= for +="),
    Wrong("maxpool_backward", "= for += at the maximum",
          _mb_loops(write="="),
          hint="do not overwrite them", concept="= for +="),
    Wrong("maxpool_backward", "ceil_mode windows dropped (the count by floor)",
          _sub(_MB, ("for i in range(dout.shape[-2]):", "for i in range((x.shape[-2] - size) // stride + 1):"),
               ("for j in range(dout.shape[-1]):", "for j in range((x.shape[-1] - size) // stride + 1):")),
          hint="its maximum gets its gradient too", concept="ceil_mode ignored"),
    Wrong("maxpool_backward", "ceil_mode windows padded with zeros",
          """
def maxpool_backward(dout, x, size, stride, ceil_mode=False):
    h, w = x.shape[-2:]
    xp = F.pad(x, (0, (dout.shape[-1] - 1) * stride + size - w, 0, (dout.shape[-2] - 1) * stride + size - h))
    dx = torch.zeros_like(xp)
    for i in range(dout.shape[-2]):
        for j in range(dout.shape[-1]):
            rows = slice(i * stride, i * stride + size)
            cols = slice(j * stride, j * stride + size)
            flat = xp[..., rows, cols].flatten(-2)
            first = F.one_hot(flat.argmax(dim=-1), size * size).reshape(*flat.shape[:-1], size, size)
            dx[..., rows, cols] += first * dout[..., i, j, None, None]
    return dx[..., :h, :w]
""", hint="padding it with zeros", concept="ceil_mode windows padded"),
    Wrong("maxpool_backward", "windows not moved by the stride",
          _sub(_MB, ("rows = slice(i * stride, i * stride + size)", "rows = slice(i, i + size)"),
               ("cols = slice(j * stride, j * stride + size)", "cols = slice(j, j + size)")),
          hint="multiply by the stride", concept="stride ignored"),
    Wrong("maxpool_backward", "the overwrite, with every tied maximum: dx[..., rows, cols] = is_max * dout",
          _sub(_MB, ("first = F.one_hot(flat.argmax(dim=-1), flat.shape[-1]).reshape(window.shape)",
                     "is_max = window == window.amax(dim=(-2, -1), keepdim=True)"),
               ("dx[..., rows, cols] += first * dout", "dx[..., rows, cols] = is_max * dout")),
          hint="wipes what overlapping windows sent before", concept="= for +="),
    Wrong("maxpool_backward", "the maximum clamped at 0, every tied value marked",
          _sub(_MB, ("first = F.one_hot(flat.argmax(dim=-1), flat.shape[-1]).reshape(window.shape)",
                     "first = window == window.amax(dim=(-2, -1), keepdim=True).clamp(min=0)")),
          hint="a window of negative values still has a maximum", concept="maximum started at 0"),
    Wrong("maxpool_backward", "autograd through F.max_pool2d (a shortcut)",
          """
def maxpool_backward(dout, x, size, stride, ceil_mode=False):
    x = x.clone().requires_grad_()
    F.max_pool2d(x, size, stride, ceil_mode=ceil_mode).backward(dout)
    return x.grad
""", hint="route each window's gradient yourself", concept="shortcut"),
    Wrong("maxpool_backward", "max_pool2d's return_indices (a shortcut)",
          """
def maxpool_backward(dout, x, size, stride, ceil_mode=False):
    _, idx = F.max_pool2d(x, size, stride, ceil_mode=ceil_mode, return_indices=True)
    return torch.zeros_like(x).flatten(2).scatter_add(2, idx.flatten(2), dout.flatten(2)).reshape(x.shape)
""", hint="route each window's gradient yourself", concept="shortcut"),

    # -- review quiz -----------------------------------------------------------------------------
    Wrong("quiz_1x1_params", "the biases left out", "quiz_1x1_params = 64 * 32",
          hint="count the biases too", concept="bias forgotten"),
    Wrong("quiz_1x1_params", "in + out: no channel mixing", "quiz_1x1_params = 64 + 32",
          hint="mixes every input channel", concept="1x1 mixes channels"),
    Wrong("quiz_1x1_params", "one bias per input channel", "quiz_1x1_params = 64 * 32 + 64",
          hint="not to the input channels", concept="bias per input channel"),
    Wrong("quiz_1x1_params", "one bias for the layer", "quiz_1x1_params = 64 * 32 + 1",
          hint="not one for the whole layer", concept="one bias"),
    Wrong("quiz_1x1_params", "3x3 kernels counted", "quiz_1x1_params = 64 * 32 * 9 + 32",
          hint="not 3x3 = 9", concept="kernel area"),
    Wrong("quiz_1x1_params", "a float", "quiz_1x1_params = 64 * 32 + 32.0",
          hint="write it as an int", concept="float for int"),
    Wrong("quiz_dilated_field", "the starting pixel left out", "quiz_dilated_field = 30",
          hint="leave out that first pixel", concept="off by one"),
    Wrong("quiz_dilated_field", "dilation ignored: four dense 3x3 layers", "quiz_dilated_field = 9",
          hint="dilation widens each layer", concept="dilation ignored"),
    Wrong("quiz_dilated_field", "the spans added", "quiz_dilated_field = 3 + 5 + 9 + 17",
          hint="rather than adding the spans", concept="spans added"),
    Wrong("quiz_dilated_field", "each layer adds its dilation", "quiz_dilated_field = 1 + 1 + 2 + 4 + 8",
          hint="not by the dilation alone", concept="growth off"),
    Wrong("quiz_dilated_field", "the last layer's span only", "quiz_dilated_field = 17",
          hint="not only the last one", concept="one layer only"),
    Wrong("quiz_dilated_field", "the chapter's three-layer stack", "quiz_dilated_field = 15",
          hint="this one has a fourth layer", concept="one layer only"),
    Wrong("quiz_dilated_field", "the spans multiplied", "quiz_dilated_field = 3 ** 4",
          hint="not by multiplying", concept="fields multiplied"),
    Wrong("quiz_transposed_shape", "output_padding left out", "quiz_transposed_shape = (2, 8, 9, 11)",
          hint="add output_padding", concept="a term left out"),
    Wrong("quiz_transposed_shape", "padding cropped once", "quiz_transposed_shape = (2, 8, 11, 13)",
          hint="it counts twice", concept="padding counted once"),
    Wrong("quiz_transposed_shape", "padding not cropped", "quiz_transposed_shape = (2, 8, 12, 14)",
          hint="do not forget it", concept="padding ignored"),
    Wrong("quiz_transposed_shape", "a stride-2 convolution's shape", "quiz_transposed_shape = (2, 8, 3, 3)",
          hint="makes the map larger", concept="forward for transposed"),
    Wrong("quiz_transposed_shape", "a batch of 1", "quiz_transposed_shape = (1, 8, 10, 12)",
          hint="the batch size passes through", concept="batch axis"),
    Wrong("quiz_transposed_shape", "the input channels kept", "quiz_transposed_shape = (2, 16, 10, 12)",
          hint="number of output channels", concept="channels"),
    Wrong("quiz_transposed_shape", "the width computed from the height", "quiz_transposed_shape = (2, 8, 10, 10)",
          hint="height and width are computed separately", concept="square assumed"),
    Wrong("quiz_transposed_shape", "the batch axis left out", "quiz_transposed_shape = (8, 10, 12)",
          hint="the shape starts with the batch", concept="batch axis"),
    Wrong("quiz_transposed_shape", "a list", "quiz_transposed_shape = [2, 8, 10, 12]",
          hint="not a list", concept="list instead of a tuple"),
    # answers a by-hand exercise refuses: its tensors are turned into NumPy arrays
    Wrong("conv_transpose", "NumPy loops, one output channel at a time", _sub(
        _CT_BY_CHANNEL,
        ("x.double(), weight.double()", "x.numpy().astype(np.float64), weight.numpy().astype(np.float64)"),
        ("torch.zeros(c_out, (h - 1) * stride + kh, (w - 1) * stride + kw, dtype=torch.float64)",
         "np.zeros((c_out, (h - 1) * stride + kh, (w - 1) * stride + kw))"),
        ("return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad].float()",
         "return torch.from_numpy(out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad]).float()")),
        "keep the tensors as they are", concept="NumPy instead of torch"),
    Wrong("conv_backward", "NumPy loops over every output value", _sub(
        _CB_BY_VALUE,
        ("dout.double(), x.double(), weight.double()", "(t.numpy().astype(np.float64) for t in (dout, x, weight))"),
        ("F.pad(a, (pad, pad, pad, pad))", "np.pad(a, ((0, 0), (0, 0), (pad, pad), (pad, pad)))"),
        ("torch.zeros_like(ap), torch.zeros_like(k)", "np.zeros_like(ap), np.zeros_like(k)"),
        ("    return dap[:, :, pad:pad + h, pad:pad + w].float(), dk.float(), d.sum(dim=(0, 2, 3)).float()\n",
         "    dx = dap[:, :, pad:pad + h, pad:pad + w]\n"
         "    return (torch.from_numpy(np.ascontiguousarray(dx)).float(), torch.from_numpy(dk).float(),\n"
         "            torch.from_numpy(d.sum(axis=(0, 2, 3))).float())\n")),
        "keep the tensors as they are", concept="NumPy instead of torch"),
]

RIGHT = [
    # -- dilated_size ---------------------------------------------------------------------------
    Right("dilated_size", "counting the positions one by one", """
def dilated_size(n, ks, pad=0, stride=1, dilation=1):
    span, count, start = dilation * (ks - 1) + 1, 0, 0
    while start + span <= n + 2 * pad:
        count, start = count + 1, start + stride
    return count
"""),
    Right("dilated_size", "the dilated kernel as a dense one, through math.floor",
          "def dilated_size(n, ks, pad=0, stride=1, dilation=1):\n"
          "    span = dilation * (ks - 1) + 1\n    return math.floor((n + 2 * pad - span) / stride) + 1"),
    Right("dilated_size", "a NumPy integer (np.floor_divide)",
          "def dilated_size(n, ks, pad=0, stride=1, dilation=1):\n"
          "    return np.floor_divide(np.int64(n + 2 * pad - dilation * (ks - 1) - 1), stride) + 1"),
    # -- transposed_size ------------------------------------------------------------------------
    Right("transposed_size", "where the last stamp ends, minus the cropped border", """
def transposed_size(n, ks, stride=1, pad=0, output_padding=0, dilation=1):
    last_start = (n - 1) * stride
    return last_start + dilation * (ks - 1) + 1 - 2 * pad + output_padding
"""),
    Right("transposed_size", "the stamps' starts listed", """
def transposed_size(n, ks, stride=1, pad=0, output_padding=0, dilation=1):
    starts = range(0, n * stride, stride)
    return max(starts) + dilation * (ks - 1) + 1 - pad - pad + output_padding
"""),
    Right("transposed_size", "a NumPy integer",
          "def transposed_size(n, ks, stride=1, pad=0, output_padding=0, dilation=1):\n"
          "    return np.int64(n - 1) * stride - 2 * pad + dilation * (ks - 1) + output_padding + 1"),
    # -- conv_transpose ------------------------------------------------------------------------
    Right("conv_transpose", "torch loops, one output channel at a time", _CT_BY_CHANNEL),
    Right("conv_transpose", "loops over the kernel's taps, every input pixel at once (einsum)", """
def conv_transpose(x, weight, stride=1, pad=0):
    c_in, h, w = x.shape
    _, c_out, kh, kw = weight.shape
    out = torch.zeros(c_out, (h - 1) * stride + kh, (w - 1) * stride + kw, dtype=torch.float64)
    for a in range(kh):
        for b in range(kw):
            out[:, a:a + (h - 1) * stride + 1:stride, b:b + (w - 1) * stride + 1:stride] += \\
                torch.einsum("chw,co->ohw", x.double(), weight[:, :, a, b].double())
    return out[:, pad:out.shape[1] - pad, pad:out.shape[2] - pad]
"""),
    # -- grouped_params -------------------------------------------------------------------------
    Right("grouped_params", "per group, times the groups",
          "def grouped_params(c_in, c_out, ks, groups=1, bias=True):\n"
          "    per_group = (c_in // groups) * (c_out // groups) * ks * ks\n"
          "    return groups * per_group + c_out * int(bias)"),
    Right("grouped_params", "the weight's shape multiplied out (math.prod)",
          "def grouped_params(c_in, c_out, ks, groups=1, bias=True):\n"
          "    weights = math.prod([c_out, c_in // groups, ks, ks])\n"
          "    return weights + (c_out if bias else 0)"),
    Right("grouped_params", "a NumPy integer (np.prod)",
          "def grouped_params(c_in, c_out, ks, groups=1, bias=True):\n"
          "    return np.prod([c_out, c_in // groups, ks, ks]) + c_out * bias"),
    # -- im2col ----------------------------------------------------------------------------------
    Right("im2col", "index arithmetic instead of slicing windows", """
def im2col(x, ks, stride=1, pad=0):
    c, h, w = x.shape
    xp = F.pad(x, (pad, pad, pad, pad))
    h_out, w_out = (h + 2 * pad - ks) // stride + 1, (w + 2 * pad - ks) // stride + 1
    rows = []
    for ch in range(c):
        for di in range(ks):
            for dj in range(ks):
                r = torch.arange(h_out)[:, None] * stride + di
                q = torch.arange(w_out)[None, :] * stride + dj
                rows.append(xp[ch][r, q].reshape(-1))
    return torch.stack(rows)
"""),
    Right("im2col", "one strided slice per kernel tap, in float64", """
def im2col(x, ks, stride=1, pad=0):
    c, h, w = x.shape
    xp = F.pad(x.double(), (pad, pad, pad, pad))
    h_out, w_out = (h + 2 * pad - ks) // stride + 1, (w + 2 * pad - ks) // stride + 1
    taps = [xp[:, a:a + (h_out - 1) * stride + 1:stride, b:b + (w_out - 1) * stride + 1:stride]
            for a in range(ks) for b in range(ks)]
    return torch.stack(taps, dim=1).reshape(c * ks * ks, h_out * w_out)
"""),
    Right("im2col", "windows stacked as columns", """
def im2col(x, ks, stride=1, pad=0):
    padded = F.pad(x, (pad, pad, pad, pad))
    h_out = (padded.shape[1] - ks) // stride + 1
    w_out = (padded.shape[2] - ks) // stride + 1
    return torch.stack([padded[:, i * stride:i * stride + ks, j * stride:j * stride + ks].flatten()
                        for i in range(h_out) for j in range(w_out)], dim=1)
"""),
    # -- conv_backward ---------------------------------------------------------------------------
    Right("conv_backward", "torch loops over every batch item, filter and output value", _CB_BY_VALUE),
    Right("conv_backward", "loops over the kernel's taps, in float64", """
def conv_backward(dout, x, weight, stride=1, pad=0):
    dout, x, weight = dout.double(), x.double(), weight.double()
    n, c, h, w = x.shape
    f, _, kh, kw = weight.shape
    h_out, w_out = dout.shape[2:]
    xp = F.pad(x, (pad, pad, pad, pad))
    dxp, dw = torch.zeros_like(xp), torch.zeros_like(weight)
    for a in range(kh):
        for b in range(kw):
            rows = slice(a, a + (h_out - 1) * stride + 1, stride)
            cols = slice(b, b + (w_out - 1) * stride + 1, stride)
            dw[:, :, a, b] = torch.einsum("nfij,ncij->fc", dout, xp[:, :, rows, cols])
            dxp[:, :, rows, cols] += torch.einsum("nfij,fc->ncij", dout, weight[:, :, a, b])
    return dxp[:, :, pad:pad + h, pad:pad + w], dw, dout.sum(dim=(0, 2, 3))
"""),
    # -- maxpool_backward ------------------------------------------------------------------------
    Right("maxpool_backward", "the flat index of each window's first maximum, to a row and a column", """
def maxpool_backward(dout, x, size, stride, ceil_mode=False):
    dx = torch.zeros_like(x)
    n, c = x.shape[:2]
    for i in range(dout.shape[-2]):
        for j in range(dout.shape[-1]):
            window = x[:, :, i * stride:i * stride + size, j * stride:j * stride + size]
            best = window.reshape(n, c, -1).argmax(-1)
            r, q = best // window.shape[-1] + i * stride, best % window.shape[-1] + j * stride
            for a in range(n):
                for b in range(c):
                    dx[a, b, r[a, b], q[a, b]] += dout[a, b, i, j]
    return dx
"""),
    Right("maxpool_backward", "a running maximum from -inf, with > (the first maximum wins)", _mb_loops()),
    Right("maxpool_backward", "ceil_mode windows padded with -inf, in float64", """
def maxpool_backward(dout, x, size, stride, ceil_mode=False):
    h, w = x.shape[-2:]
    extra_h = max(0, (dout.shape[-2] - 1) * stride + size - h)
    extra_w = max(0, (dout.shape[-1] - 1) * stride + size - w)
    xp = F.pad(x.double(), (0, extra_w, 0, extra_h), value=-math.inf)
    dx = torch.zeros_like(xp)
    for i in range(dout.shape[-2]):
        for j in range(dout.shape[-1]):
            flat = xp[..., i * stride:i * stride + size, j * stride:j * stride + size].flatten(-2)
            first = F.one_hot(flat.argmax(dim=-1), size * size).reshape(*flat.shape[:-1], size, size)
            dx[..., i * stride:i * stride + size, j * stride:j * stride + size] += first * dout[..., i, j, None, None]
    return dx[..., :h, :w]
"""),
    # -- review quiz -----------------------------------------------------------------------------
    Right("quiz_1x1_params", "as an expression: weights plus biases", "quiz_1x1_params = 64 * 32 * 1 * 1 + 32"),
    Right("quiz_1x1_params", "counted on a real layer",
          "quiz_1x1_params = sum(p.numel() for p in nn.Conv2d(64, 32, kernel_size=1).parameters())"),
    Right("quiz_dilated_field", "as an expression: 1 plus each layer's growth",
          "quiz_dilated_field = 1 + sum(d * (3 - 1) for d in (1, 2, 4, 8))"),
    Right("quiz_dilated_field", "measured: the smallest input the stack maps to one value", """
stack = nn.Sequential(*[nn.Conv2d(1, 1, 3, dilation=d) for d in (1, 2, 4, 8)])
quiz_dilated_field = None
for n in range(1, 100):
    try:
        if stack(torch.zeros(1, 1, n, n)).shape[-1] == 1:
            quiz_dilated_field = n
            break
    except RuntimeError:  # too small for the stack
        pass
"""),
    Right("quiz_transposed_shape", "a torch.Size",
          "quiz_transposed_shape = torch.Size([2, 8, (5 - 1) * 2 - 2 + 2 + 1 + 1, (6 - 1) * 2 - 2 + 2 + 1 + 1])"),
    Right("quiz_transposed_shape", "measured on a real layer",
          "quiz_transposed_shape = tuple(nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1)"
          "(torch.zeros(2, 16, 5, 6)).shape)"),
]

#: Every exercise of the chapter has other formulations (above).
NO_ALTERNATIVES: dict[str, str] = {}

CLAIMS = [
    Claim("87%", """
from helpers.data import digit
seven = digit(7)
top_edge = torch.tensor([[-1., -1., -1.], [0., 0., 0.], [1., 1., 1.]])
edges = F.relu(F.conv2d(seven[None, None], top_edge[None, None], padding=1))[0, 0]
windows = edges.reshape(14, 2, 14, 2).permute(0, 2, 1, 3).reshape(-1, 4)
value = float(((windows == windows.amax(1, keepdim=True)).sum(1) > 1).float().mean())
""", expected=0.867, tolerance=0.005),
    Claim("= 68", """
x = torch.arange(16.).reshape(1, 1, 4, 4).requires_grad_()
w = torch.tensor([[[[1., 0.], [0., -1.]]]], requires_grad=True)
F.conv2d(x, w, stride=2).backward(torch.tensor([[[[1., 2.], [3., 4.]]]]))
value = float(w.grad[0, 0, 0, 0])
""", expected=68.0, tolerance=0.0),
    Claim("= 10", "value = float(torch.tensor([[1., 2.], [3., 4.]]).sum())", expected=10.0, tolerance=0.0),
]
