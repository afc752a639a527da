"""Chapter 2, "Feature maps and channels": the mistakes learners make, and other correct answers.

The wrong answers are those of a first multi-channel convolution: the channels not summed (or
averaged, or only one of them kept), the weight read as [in, out, kh, kw], the bias forgotten,
added per input channel or broadcast along the wrong axis, the maps stacked along the last axis,
and the shortcuts the by-hand exercises switch off; and, for the counts and the quiz, the
off-by-one sizes, the other libraries' weight layout and the wrong types.
"""

from . import Right, Wrong

#: Chapter 1's convolution of one 2-D map (the notebook defines it above the exercises).
_CONV = """
def convolve(img, kernel):
    kh, kw = kernel.shape
    h, w = img.shape
    out = torch.zeros(h - kh + 1, w - kw + 1)
    for u in range(kh):
        for v in range(kw):
            out += kernel[u, v] * img[u:u + h - kh + 1, v:v + w - kw + 1]
    return out
"""

#: The chapter's conv_multi_in, for the conv_channels entries built on it.
_MULTI = _CONV + """
def conv_multi_in(x, kernel):
    out = convolve(x[0], kernel[0])
    for c in range(1, x.shape[0]):
        out = out + convolve(x[c], kernel[c])
    return out
"""


def _multi(body: str) -> str:
    return _CONV + "def conv_multi_in(x, kernel):\n" + body


def _channels(body: str) -> str:
    return _MULTI + "def conv_channels(x, weight, bias):\n" + body


WRONG = [
    # -- conv_multi_in ----------------------------------------------------------------------------
    Wrong("conv_multi_in", "one map per channel, not summed",
          _multi("    return torch.stack([convolve(x[c], kernel[c]) for c in range(x.shape[0])])"),
          hint="ONE output map", concept="channels not summed"),
    Wrong("conv_multi_in", "the per-channel maps averaged",
          _multi("    return sum(convolve(x[c], kernel[c]) for c in range(x.shape[0])) / x.shape[0]"),
          hint="you averaged the per-channel results", concept="mean for sum"),
    Wrong("conv_multi_in", "only the first channel",
          _multi("    return convolve(x[0], kernel[0])"),
          hint="only the first channel counted", concept="one channel only"),
    Wrong("conv_multi_in", "the running total replaced, not added to",
          _multi("    for c in range(x.shape[0]):\n        out = convolve(x[c], kernel[c])\n    return out"),
          hint="only the last channel counted", concept="= for +="),
    Wrong("conv_multi_in", "a square map and kernel assumed",
          _multi("    n, k = x.shape[1], kernel.shape[1]\n"
                 "    out = torch.zeros(n - k + 1, n - k + 1)\n"
                 "    for i in range(n - k + 1):\n"
                 "        for j in range(n - k + 1):\n"
                 "            out[i, j] = (x[:, i:i + k, j:j + k] * kernel).sum()\n"
                 "    return out"),
          hint="need not be square", concept="square assumed"),
    Wrong("conv_multi_in", "each slice flipped (a true convolution)",
          _multi("    return sum(convolve(x[c], kernel[c].flip(0, 1)) for c in range(x.shape[0]))"),
          hint="you flipped the kernel", concept="a flipped kernel"),
    Wrong("conv_multi_in", "an axis of size 1 kept in front",
          _multi("    return sum(convolve(x[c], kernel[c]) for c in range(x.shape[0]))[None]"),
          hint="without an axis of size 1 in front", concept="wrong shape"),
    Wrong("conv_multi_in", "the loops one position short",
          _multi("    c, kh, kw = kernel.shape\n"
                 "    h, w = x.shape[1:]\n"
                 "    out = torch.zeros(h - kh + 1, w - kw + 1)\n"
                 "    for i in range(h - kh):\n"
                 "        for j in range(w - kw):\n"
                 "            out[i, j] = (x[:, i:i + kh, j:j + kw] * kernel).sum()\n"
                 "    return out"),
          hint="the last row and column of the map stayed 0", concept="off by one"),
    Wrong("conv_multi_in", "the output size without the + 1",
          _multi("    c, kh, kw = kernel.shape\n"
                 "    h, w = x.shape[1:]\n"
                 "    out = torch.zeros(h - kh, w - kw)\n"
                 "    for i in range(h - kh):\n"
                 "        for j in range(w - kw):\n"
                 "            out[i, j] = (x[:, i:i + kh, j:j + kw] * kernel).sum()\n"
                 "    return out"),
          hint="one row and one column short", concept="off by one"),
    Wrong("conv_multi_in", "a NumPy array returned",
          _multi("    a, k = x.numpy(), kernel.numpy()\n"
                 "    c, kh, kw = k.shape\n"
                 "    out = np.zeros((a.shape[1] - kh + 1, a.shape[2] - kw + 1), dtype=np.float32)\n"
                 "    for i in range(out.shape[0]):\n"
                 "        for j in range(out.shape[1]):\n"
                 "            out[i, j] = (a[:, i:i + kh, j:j + kw] * k).sum()\n"
                 "    return out"),
          hint="not a NumPy array", concept="NumPy instead of torch"),
    Wrong("conv_multi_in", "shortcut: F.conv2d",
          _multi("    return F.conv2d(x[None], kernel[None])[0, 0]"),
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("conv_multi_in", "shortcut: nn.Conv2d",
          _multi("    layer = nn.Conv2d(x.shape[0], 1, tuple(kernel.shape[1:]), bias=False)\n"
                 "    with torch.no_grad():\n"
                 "        layer.weight.copy_(kernel[None])\n"
                 "        return layer(x)[0]"),
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("conv_multi_in", "shortcut: F.unfold",
          _multi("    c, kh, kw = kernel.shape\n"
                 "    cols = F.unfold(x[None], (kh, kw))[0]\n"
                 "    return (kernel.reshape(1, -1) @ cols).reshape(x.shape[1] - kh + 1, x.shape[2] - kw + 1)"),
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("conv_multi_in", "shortcut: scipy.signal.correlate2d per channel, imported by name",
          "from scipy.signal import correlate2d\n" +
          _multi("    return sum(torch.from_numpy(correlate2d(x[c].numpy(), kernel[c].numpy(), mode='valid')).float()\n"
                 "               for c in range(x.shape[0]))"),
          hint="keep the tensors as they are", concept="forbidden shortcut"),
    Wrong("conv_multi_in", "shortcut: numpy sliding_window_view",
          "from numpy.lib.stride_tricks import sliding_window_view\n" +
          _multi("    windows = sliding_window_view(x, tuple(kernel.shape))[0]\n"
                 "    return torch.from_numpy((windows * kernel.numpy()).sum((-1, -2, -3))).float()"),
          hint="switched off while the check runs", concept="forbidden shortcut"),

    # -- conv_channels ------------------------------------------------------------------------------
    Wrong("conv_channels", "the bias forgotten",
          _channels("    return torch.stack([conv_multi_in(x, weight[o]) for o in range(weight.shape[0])])"),
          hint="the bias is missing", concept="bias forgotten"),
    Wrong("conv_channels", "the bias added once per input channel",
          _channels("    return torch.stack([sum(convolve(x[c], weight[o, c]) + bias[o] for c in range(x.shape[0]))\n"
                    "                        for o in range(weight.shape[0])])"),
          hint="once, after summing", concept="bias per input channel"),
    Wrong("conv_channels", "the weight read as [in, out, kh, kw]",
          _channels("    n_in, n_out = weight.shape[0], weight.shape[1]\n"
                    "    maps = []\n"
                    "    for o in range(n_out):\n"
                    "        total = bias[o]\n"
                    "        for c in range(n_in):\n"
                    "            total = total + convolve(x[c], weight[c, o])\n"
                    "        maps.append(total)\n"
                    "    return torch.stack(maps)"),
          hint="[out, in, kh, kw]", concept="[in, out, k, k] instead of [out, in, k, k]"),
    Wrong("conv_channels", "only the first kernel",
          _channels("    return (conv_multi_in(x, weight[0]) + bias[0])[None]"),
          hint="only one output map", concept="one output only"),
    Wrong("conv_channels", "the bias broadcast along the last axis (maps + bias)",
          _channels("    maps = torch.stack([conv_multi_in(x, weight[o]) for o in range(weight.shape[0])])\n"
                    "    return maps + bias"),
          hint="the bias was added along the last axis", concept="bias on the wrong axis"),
    Wrong("conv_channels", "the bias broadcast along the rows (bias[:, None])",
          _channels("    maps = torch.stack([conv_multi_in(x, weight[o]) for o in range(weight.shape[0])])\n"
                    "    return maps + bias[:, None]"),
          hint="If it was the bias: bias[o] belongs to output map o", concept="bias on the wrong axis"),
    Wrong("conv_channels", "the kernels flipped",
          _channels("    return torch.stack([conv_multi_in(x, weight[o].flip(-2, -1)) + bias[o]\n"
                    "                        for o in range(weight.shape[0])])"),
          hint="you flipped the kernels", concept="a flipped kernel"),
    Wrong("conv_channels", "the output maps stacked along the last axis",
          _channels("    maps = [conv_multi_in(x, weight[o]) + bias[o] for o in range(weight.shape[0])]\n"
                    "    return torch.stack(maps, dim=-1)"),
          hint="stacked along the last axis", concept="wrong axis"),
    Wrong("conv_channels", "one map per (output, input) pair, not summed",
          _channels("    return torch.stack([torch.stack([convolve(x[c], weight[o, c]) for c in range(x.shape[0])])\n"
                    "                        + bias[o] for o in range(weight.shape[0])])"),
          hint="each output map must add up its input channels", concept="channels not summed"),
    Wrong("conv_channels", "the input channels averaged",
          _channels("    return torch.stack([conv_multi_in(x, weight[o]) / x.shape[0] + bias[o]\n"
                    "                        for o in range(weight.shape[0])])"),
          hint="you averaged over the input channels", concept="mean for sum"),
    Wrong("conv_channels", "the bias subtracted",
          _channels("    return torch.stack([conv_multi_in(x, weight[o]) - bias[o] for o in range(weight.shape[0])])"),
          hint="the bias is added, not subtracted", concept="sign"),
    Wrong("conv_channels", "bias[0] for every output map",
          _channels("    return torch.stack([conv_multi_in(x, weight[o]) + bias[0] for o in range(weight.shape[0])])"),
          hint="every output map got bias[0]", concept="wrong index"),
    Wrong("conv_channels", "a ReLU applied to the maps",
          _channels("    maps = [conv_multi_in(x, weight[o]) + bias[o] for o in range(weight.shape[0])]\n"
                    "    return torch.relu(torch.stack(maps))"),
          hint="negative values were cut to 0", concept="activation where none is asked"),
    Wrong("conv_channels", "a square kernel assumed",
          _channels("    k = weight.shape[2]\n"
                    "    h, w = x.shape[1:]\n"
                    "    out = torch.zeros(weight.shape[0], h - k + 1, w - k + 1)\n"
                    "    for o in range(weight.shape[0]):\n"
                    "        for i in range(h - k + 1):\n"
                    "            for j in range(w - k + 1):\n"
                    "                out[o, i, j] = (x[:, i:i + k, j:j + k] * weight[o]).sum() + bias[o]\n"
                    "    return out"),
          hint="need not be square", concept="square assumed"),
    Wrong("conv_channels", "the loops one position short",
          _channels("    kh, kw = weight.shape[2:]\n"
                    "    h, w = x.shape[1:]\n"
                    "    out = torch.zeros(weight.shape[0], h - kh + 1, w - kw + 1)\n"
                    "    for o in range(weight.shape[0]):\n"
                    "        for i in range(h - kh):\n"
                    "            for j in range(w - kw):\n"
                    "                out[o, i, j] = (x[:, i:i + kh, j:j + kw] * weight[o]).sum() + bias[o]\n"
                    "    return out"),
          hint="the last row and column of the map stayed 0", concept="off by one"),
    Wrong("conv_channels", "shortcut: F.conv2d",
          _channels("    return F.conv2d(x[None], weight, bias)[0]"),
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("conv_channels", "shortcut: nn.Conv2d",
          _channels("    layer = nn.Conv2d(weight.shape[1], weight.shape[0], tuple(weight.shape[2:]))\n"
                    "    with torch.no_grad():\n"
                    "        layer.weight.copy_(weight)\n"
                    "        layer.bias.copy_(bias)\n"
                    "        return layer(x)"),
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("conv_channels", "shortcut: F.unfold",
          _channels("    kh, kw = weight.shape[2:]\n"
                    "    cols = F.unfold(x[None], (kh, kw))[0]\n"
                    "    out = weight.reshape(weight.shape[0], -1) @ cols\n"
                    "    out = out.reshape(weight.shape[0], x.shape[1] - kh + 1, x.shape[2] - kw + 1)\n"
                    "    return out + bias[:, None, None]"),
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("conv_channels", "shortcut: scipy.signal.correlate2d imported by name",
          "from scipy.signal import correlate2d\n" +
          _channels("    maps = []\n"
                    "    for o in range(weight.shape[0]):\n"
                    "        total = sum(correlate2d(x[c].numpy(), weight[o, c].numpy(), mode='valid')\n"
                    "                    for c in range(x.shape[0]))\n"
                    "        maps.append(torch.from_numpy(total).float() + bias[o])\n"
                    "    return torch.stack(maps)"),
          hint="keep the tensors as they are", concept="forbidden shortcut"),

    # -- conv_param_count ---------------------------------------------------------------------------
    Wrong("conv_param_count", "the biases forgotten",
          "def conv_param_count(in_channels, out_channels, ks):\n    return out_channels * in_channels * ks * ks",
          hint="the biases are missing", concept="bias forgotten"),
    Wrong("conv_param_count", "one bias per input channel",
          "def conv_param_count(in_channels, out_channels, ks):\n"
          "    return out_channels * in_channels * ks * ks + in_channels",
          hint="not per input channel", concept="bias per input channel"),
    Wrong("conv_param_count", "ks weights per slice, not ks * ks",
          "def conv_param_count(in_channels, out_channels, ks):\n"
          "    return out_channels * in_channels * ks + out_channels",
          hint="ks * ks", concept="kernel size not squared"),
    Wrong("conv_param_count", "in_channels left out",
          "def conv_param_count(in_channels, out_channels, ks):\n    return out_channels * ks * ks + out_channels",
          hint="in_channels too", concept="input channels left out"),
    Wrong("conv_param_count", "one bias per kernel slice",
          "def conv_param_count(in_channels, out_channels, ks):\n"
          "    return out_channels * in_channels * (ks * ks + 1)",
          hint="not one per kernel slice", concept="bias per input channel"),
    Wrong("conv_param_count", "a float from math.pow",
          "def conv_param_count(in_channels, out_channels, ks):\n"
          "    return out_channels * in_channels * math.pow(ks, 2) + out_channels",
          hint="return an int", concept="float for int"),

    # -- review question 1 ----------------------------------------------------------------------------
    Wrong("quiz_weight_shape", "[in, out, kh, kw]", "quiz_weight_shape = (3, 16, 5, 5)",
          hint="output channels first", concept="[in, out, k, k] instead of [out, in, k, k]"),
    Wrong("quiz_weight_shape", "no input-channel axis", "quiz_weight_shape = (16, 5, 5)",
          hint="four axes", concept="input channels left out"),
    Wrong("quiz_weight_shape", "the kernel size first, channels last", "quiz_weight_shape = (5, 5, 3, 16)",
          hint="the order of other libraries", concept="channels last"),
    Wrong("quiz_weight_shape", "one kernel axis", "quiz_weight_shape = (16, 3, 5)",
          hint="two axes", concept="kernel size not squared"),
    Wrong("quiz_weight_shape", "a list", "quiz_weight_shape = list(nn.Conv2d(3, 16, 5).weight.shape)",
          hint="not a list", concept="list instead of a tuple"),
    Wrong("quiz_weight_shape", "floats",
          "quiz_weight_shape = tuple(float(s) for s in nn.Conv2d(3, 16, 5).weight.shape)",
          hint="write them as ints", concept="float for int"),
    Wrong("quiz_weight_shape", "a batch axis in front", "quiz_weight_shape = (1, *nn.Conv2d(3, 16, 5).weight.shape)",
          hint="the weight has no batch axis", concept="batch axis kept"),

    # -- review question 2 ----------------------------------------------------------------------------
    Wrong("quiz_layer_output_shape", "one map per input channel", "quiz_layer_output_shape = (3, 28, 16)",
          hint="one output map per kernel", concept="[in, out, k, k] instead of [out, in, k, k]"),
    Wrong("quiz_layer_output_shape", "the input channels kept as an axis", "quiz_layer_output_shape = (8, 3, 28, 16)",
          hint="no axis of their own", concept="channels not summed"),
    Wrong("quiz_layer_output_shape", "n - k, the first position not counted", "quiz_layer_output_shape = (8, 27, 15)",
          hint="n - 5 + 1", concept="off by one"),
    Wrong("quiz_layer_output_shape", "a batch axis added", "quiz_layer_output_shape = (1, 8, 32 - 4, 20 - 4)",
          hint="no batch axis in front", concept="batch axis kept"),
    Wrong("quiz_layer_output_shape", "rows and columns swapped", "quiz_layer_output_shape = (8, 20 - 4, 32 - 4)",
          hint="rows come before columns", concept="rows and columns swapped"),
    Wrong("quiz_layer_output_shape", "no shrinking", "quiz_layer_output_shape = (8, 32, 20)",
          hint="without padding the maps shrink", concept="output size"),
    Wrong("quiz_layer_output_shape", "channels last", "quiz_layer_output_shape = (32 - 4, 20 - 4, 8)",
          hint="channels first", concept="channels last"),
    Wrong("quiz_layer_output_shape", "a list", "quiz_layer_output_shape = [8, 32 - 4, 20 - 4]",
          hint="not a list", concept="list instead of a tuple"),
]

RIGHT = [
    Right("conv_multi_in", "two loops over positions, 3-D windows",
          "def conv_multi_in(x, kernel):\n"
          "    c, kh, kw = kernel.shape\n"
          "    h, w = x.shape[1:]\n"
          "    out = torch.empty(h - kh + 1, w - kw + 1)\n"
          "    for i in range(h - kh + 1):\n"
          "        for j in range(w - kw + 1):\n"
          "            out[i, j] = (x[:, i:i + kh, j:j + kw] * kernel).sum()\n"
          "    return out"),
    Right("conv_multi_in", "sum() over chapter 1's convolve, float64",
          _CONV + "def conv_multi_in(x, kernel):\n"
          "    return sum(convolve(x[c].double(), kernel[c].double()) for c in range(x.shape[0]))"),
    Right("conv_multi_in", "shifted copies of all channels, vectorised",
          "def conv_multi_in(x, kernel):\n"
          "    c, kh, kw = kernel.shape\n"
          "    h, w = x.shape[1:]\n"
          "    out = torch.zeros(h - kh + 1, w - kw + 1)\n"
          "    for u in range(kh):\n"
          "        for v in range(kw):\n"
          "            out += (kernel[:, u, v, None, None] * x[:, u:u + h - kh + 1, v:v + w - kw + 1]).sum(0)\n"
          "    return out"),

    Right("conv_channels", "einsum over shifted copies",
          "def conv_channels(x, weight, bias):\n"
          "    out_c, in_c, kh, kw = weight.shape\n"
          "    h, w = x.shape[1:]\n"
          "    shifts = torch.stack([torch.stack([x[:, u:u + h - kh + 1, v:v + w - kw + 1] for v in range(kw)])\n"
          "                          for u in range(kh)])\n"
          "    return torch.einsum('uvcij,ocuv->oij', shifts, weight) + bias.reshape(-1, 1, 1)"),
    Right("conv_channels", "loops over outputs and inputs, bias last",
          _CONV + "def conv_channels(x, weight, bias):\n"
          "    maps = []\n"
          "    for o in range(weight.shape[0]):\n"
          "        total = torch.zeros(x.shape[1] - weight.shape[2] + 1, x.shape[2] - weight.shape[3] + 1)\n"
          "        for c in range(weight.shape[1]):\n"
          "            total += convolve(x[c], weight[o, c])\n"
          "        maps.append(total + bias[o])\n"
          "    return torch.stack(maps)"),
    Right("conv_channels", "float64, the bias broadcast as [out, 1, 1]",
          _MULTI + "def conv_channels(x, weight, bias):\n"
          "    maps = torch.stack([conv_multi_in(x.double(), weight[o].double()) for o in range(weight.shape[0])])\n"
          "    return maps + bias.double()[:, None, None]"),

    Right("conv_param_count", "the bias counted per output map, factored",
          "def conv_param_count(in_channels, out_channels, ks):\n"
          "    return out_channels * (in_channels * ks ** 2 + 1)"),
    Right("conv_param_count", "math.prod of the weight's shape",
          "def conv_param_count(in_channels, out_channels, ks):\n"
          "    return math.prod((out_channels, in_channels, ks, ks)) + out_channels"),
    Right("conv_param_count", "counted on a real layer",
          "def conv_param_count(in_channels, out_channels, ks):\n"
          "    return sum(p.numel() for p in nn.Conv2d(in_channels, out_channels, ks).parameters())"),

    Right("quiz_weight_shape", "a torch.Size read off a layer", "quiz_weight_shape = nn.Conv2d(3, 16, 5).weight.shape"),
    Right("quiz_weight_shape", "a torch.Size written out", "quiz_weight_shape = torch.Size([16, 3, 5, 5])"),

    Right("quiz_layer_output_shape", "measured on a layer",
          "quiz_layer_output_shape = tuple(nn.Conv2d(3, 8, 5)(torch.zeros(3, 32, 20)).shape)"),
    Right("quiz_layer_output_shape", "an expression", "quiz_layer_output_shape = (8, 32 - 5 + 1, 20 - 5 + 1)"),
]

NO_ALTERNATIVES: dict[str, str] = {}

#: None: every number the chapter's prose states that a run produces is printed by a cell whose stored
#: output nbval compares (tagged nbval-check-output: edge-stack, layout, multi-in-demo, three-kernels,
#: bias-demo, layer-shapes, layer-same, params-compare, params-try).
CLAIMS: list = []
