"""Chapter 3, "Padding and strides": the mistakes each check must reject, and the other right answers.

Every wrong answer below is the code a learner writes, with the hint text its verdict must carry;
every right answer is a correct formulation other than the solution's. ``tests/test_catalogue.py``
runs each through the visible and the hidden check.
"""

from grader.catalogue import Claim, Right, Wrong

# -- helpers the entries share (pasted into each entry's code, as a learner's cell would hold them) --------

_CONV = '''
def _windows(padded, kernel, stride, rows, cols):
    kh, kw = kernel.shape
    out = torch.zeros(rows, cols)
    for i in range(rows):
        for j in range(cols):
            out[i, j] = (padded[i * stride:i * stride + kh, j * stride:j * stride + kw] * kernel).sum()
    return out
'''


def _padded(body: str) -> str:
    """A conv2d_padded whose body is ``body`` (with _windows available)."""
    return _CONV + "\ndef conv2d_padded(img, kernel, pad=0, stride=1):\n" + body


_SIZE = "def output_size(n, ks, pad=0, stride=1):\n    return {}\n"

WRONG = [
    # -- same_padding ------------------------------------------------------------------------------
    Wrong("same_padding", "no ValueError for an even kernel (ks//2 for every ks)",
          "def same_padding(ks):\n    return ks // 2\n", "Raise ValueError when ks % 2 == 0",
          concept="even kernel not refused"),
    Wrong("same_padding", "only even kernels from 4 up refused: same_padding(2) returns 1",
          "def same_padding(ks):\n    if ks % 2 == 0 and ks >= 4:\n        raise ValueError('even')\n"
          "    return ks // 2\n", "Raise ValueError when ks % 2 == 0", concept="even kernel not refused"),
    Wrong("same_padding", "(ks - 1)//2 with no ValueError: an even kernel gets one row too few",
          "def same_padding(ks):\n    return (ks - 1) // 2\n", "one fewer than the ks - 1",
          concept="even kernel not refused"),
    Wrong("same_padding", "(ks - 1) / 2: floats, with the ValueError",
          "def same_padding(ks):\n    if ks % 2 == 0:\n        raise ValueError('even')\n    return (ks - 1) / 2\n",
          "they are floats (1.0 instead of 1): use // (floor division), not /", concept="/ instead of //"),
    Wrong("same_padding", "(ks - 1) / 2 and no ValueError",
          "def same_padding(ks):\n    return (ks - 1) / 2\n", "raise ValueError when ks % 2 == 0",
          concept="/ instead of //"),
    Wrong("same_padding", "ks / 2", "def same_padding(ks):\n    return ks / 2\n",
          "use // (floor division)", concept="/ instead of //"),
    Wrong("same_padding", "ks - 1: the padding of both sides together",
          "def same_padding(ks):\n    if ks % 2 == 0:\n        raise ValueError('even')\n    return ks - 1\n",
          "both sides together", concept="padding counted once"),
    Wrong("same_padding", "(ks + 1)//2: one pixel too many",
          "def same_padding(ks):\n    if ks % 2 == 0:\n        raise ValueError('even')\n    return (ks + 1) // 2\n",
          "one pixel too many", concept="off by one"),
    Wrong("same_padding", "raises for every kernel (the odd test inverted)",
          "def same_padding(ks):\n    if ks % 2 == 1:\n        raise ValueError('odd')\n    return ks // 2\n",
          "the test is inverted", concept="condition inverted"),
    Wrong("same_padding", "raises for every kernel",
          "def same_padding(ks):\n    raise ValueError('no padding keeps the size')\n",
          "only even kernels have no answer", concept="condition inverted"),
    Wrong("same_padding", "prints a message for an even kernel and returns None",
          "def same_padding(ks):\n    if ks % 2 == 0:\n        print('even kernels have no same padding')\n"
          "        return None\n    return ks // 2\n", "returned None", concept="print instead of raise"),
    Wrong("same_padding", "assert instead of raise ValueError",
          "def same_padding(ks):\n    assert ks % 2 == 1, 'even kernel'\n    return ks // 2\n",
          "AssertionError", concept="wrong exception"),
    Wrong("same_padding", "raises TypeError instead of ValueError",
          "def same_padding(ks):\n    if ks % 2 == 0:\n        raise TypeError('even kernel')\n    return ks // 2\n",
          "TypeError is for an argument of the wrong type", concept="wrong exception"),
    Wrong("same_padding", "returns the ValueError instead of raising it",
          "def same_padding(ks):\n    if ks % 2 == 0:\n        return ValueError('even kernel')\n    return ks // 2\n",
          "hands the error back as a value", concept="return instead of raise"),

    # -- output_size -------------------------------------------------------------------------------
    Wrong("output_size", "padding counted once", _SIZE.format("(n + pad - ks) // stride + 1"),
          "n + 2*pad - ks, not n + pad - ks", concept="padding counted once"),
    Wrong("output_size", "/ instead of //", _SIZE.format("(n + 2 * pad - ks) / stride + 1"),
          "use // (floor division), not /", concept="/ instead of //"),
    Wrong("output_size", "the + 1 forgotten", _SIZE.format("(n + 2 * pad - ks) // stride"),
          "you are missing the + 1", concept="off by one"),
    Wrong("output_size", "the + 1 added before dividing", _SIZE.format("(n + 2 * pad - ks + 1) // stride"),
          "added it before dividing", concept="off by one"),
    Wrong("output_size", "ceil instead of floor",
          "import math\n" + _SIZE.format("math.ceil((n + 2 * pad - ks) / stride) + 1"),
          "round down, not up", concept="ceil for floor"),
    Wrong("output_size", "stride ignored", _SIZE.format("n + 2 * pad - ks + 1"),
          "the stride is missing", concept="stride ignored"),
    Wrong("output_size", "padding ignored", _SIZE.format("(n - ks) // stride + 1"),
          "the padding is missing", concept="padding ignored"),
    Wrong("output_size", "round() instead of floor", _SIZE.format("round((n + 2 * pad - ks) / stride) + 1"),
          "round() rounds to the nearest", concept="round for floor"),
    Wrong("output_size", "np.floor: the right sizes as NumPy floats",
          _SIZE.format("np.floor((n + 2 * pad - ks) / stride) + 1"), "the right numbers, but as floats",
          concept="float instead of int"),
    Wrong("output_size", "float() around the right size",
          _SIZE.format("float((n + 2 * pad - ks) // stride + 1)"), "the right numbers, but as floats",
          concept="float instead of int"),
    Wrong("output_size", "no brackets: ks // stride divides only ks", _SIZE.format("n + 2 * pad - ks // stride + 1"),
          "// binds tighter than + and -", concept="operator precedence"),

    # -- conv2d_padded (by hand: 10 or more) --------------------------------------------------------
    Wrong("conv2d_padded", "padding forgotten",
          _padded("    kh, kw = kernel.shape\n    rows = (img.shape[0] - kh) // stride + 1\n"
                  "    cols = (img.shape[1] - kw) // stride + 1\n"
                  "    return _windows(img, kernel, stride, rows, cols)\n"),
          "the padding is missing", concept="padding ignored"),
    Wrong("conv2d_padded", "stride ignored",
          _padded("    kh, kw = kernel.shape\n    padded = F.pad(img, (pad, pad, pad, pad))\n"
                  "    return _windows(padded, kernel, 1, padded.shape[0] - kh + 1, padded.shape[1] - kw + 1)\n"),
          "the stride is missing", concept="stride ignored"),
    Wrong("conv2d_padded", "the size counts the stride but the windows step by 1",
          _padded("    kh, kw = kernel.shape\n    padded = F.pad(img, (pad, pad, pad, pad))\n"
                  "    rows = (padded.shape[0] - kh) // stride + 1\n    cols = (padded.shape[1] - kw) // stride + 1\n"
                  "    out = torch.zeros(rows, cols)\n    for i in range(rows):\n        for j in range(cols):\n"
                  "            out[i, j] = (padded[i:i + kh, j:j + kw] * kernel).sum()\n    return out\n"),
          "the windows do not move by stride", concept="stride ignored"),
    Wrong("conv2d_padded", "all the zeros below and to the right",
          _padded("    kh, kw = kernel.shape\n    padded = F.pad(img, (0, 2 * pad, 0, 2 * pad))\n"
                  "    rows = (padded.shape[0] - kh) // stride + 1\n    cols = (padded.shape[1] - kw) // stride + 1\n"
                  "    return _windows(padded, kernel, stride, rows, cols)\n"),
          "below and to the right", concept="padding on one side"),
    Wrong("conv2d_padded", "F.pad(img, (pad, pad)): only the columns padded",
          _padded("    kh, kw = kernel.shape\n    padded = F.pad(img, (pad, pad))\n"
                  "    rows = (padded.shape[0] - kh) // stride + 1\n    cols = (padded.shape[1] - kw) // stride + 1\n"
                  "    return _windows(padded, kernel, stride, rows, cols)\n"),
          "pads only the columns", concept="padding on one axis"),
    Wrong("conv2d_padded", "border pixels repeated instead of zeros",
          _padded("    kh, kw = kernel.shape\n    padded = F.pad(img[None, None], (pad,) * 4, mode='replicate')[0, 0]\n"
                  "    rows = (padded.shape[0] - kh) // stride + 1\n    cols = (padded.shape[1] - kw) // stride + 1\n"
                  "    return _windows(padded, kernel, stride, rows, cols)\n"),
          "the padding must be zeros", concept="wrong only at the borders"),
    Wrong("conv2d_padded", "flipped kernel (true convolution)",
          _padded("    kh, kw = kernel.shape\n    padded = F.pad(img, (pad, pad, pad, pad))\n"
                  "    rows = (padded.shape[0] - kh) // stride + 1\n    cols = (padded.shape[1] - kw) // stride + 1\n"
                  "    return _windows(padded, kernel.flip(0).flip(1), stride, rows, cols)\n"),
          "you flipped the kernel", concept="a flipped kernel"),
    Wrong("conv2d_padded", "ceil for the number of positions",
          _padded("    kh, kw = kernel.shape\n    padded = F.pad(img, (pad, pad, pad, pad))\n"
                  "    rows = -(-(padded.shape[0] - kh) // stride) + 1\n"
                  "    cols = -(-(padded.shape[1] - kw) // stride) + 1\n"
                  "    return _windows(padded, kernel, stride, rows, cols)\n"),
          "(n + 2*pad - ks)//stride + 1", concept="ceil for floor"),
    Wrong("conv2d_padded", "square image and kernel assumed (one size for rows and columns)",
          _padded("    n, k = img.shape[0], kernel.shape[0]\n    padded = F.pad(img, (pad, pad, pad, pad))\n"
                  "    m = (n + 2 * pad - k) // stride + 1\n    out = torch.zeros(m, m)\n"
                  "    for i in range(m):\n        for j in range(m):\n"
                  "            window = padded[i * stride:i * stride + k, j * stride:j * stride + k]\n"
                  "            out[i, j] = (window * kernel).sum()\n"
                  "    return out\n"),
          "rows (h, kh) and columns (w, kw)", concept="square assumed"),
    Wrong("conv2d_padded", "the number of outputs counted without the padding",
          _padded("    kh, kw = kernel.shape\n    padded = F.pad(img, (pad, pad, pad, pad))\n"
                  "    rows = (img.shape[0] - kh) // stride + 1\n    cols = (img.shape[1] - kw) // stride + 1\n"
                  "    return _windows(padded, kernel, stride, rows, cols)\n"),
          "the padding adds positions too", concept="padding ignored"),
    Wrong("conv2d_padded", "@ (matrix product) instead of * for window times kernel",
          _padded("    kh, kw = kernel.shape\n    padded = F.pad(img, (pad, pad, pad, pad))\n"
                  "    rows = (padded.shape[0] - kh) // stride + 1\n    cols = (padded.shape[1] - kw) // stride + 1\n"
                  "    out = torch.zeros(rows, cols)\n    for i in range(rows):\n        for j in range(cols):\n"
                  "            r, c = i * stride, j * stride\n"
                  "            out[i, j] = (padded[r:r + kh, c:c + kw] @ kernel).sum()\n    return out\n"),
          "@ is the matrix product", concept="matrix product for element-wise"),
    Wrong("conv2d_padded", "a NumPy array returned",
          _padded("    kh, kw = kernel.shape\n    padded = np.pad(img.numpy(), pad)\n    k = kernel.numpy()\n"
                  "    rows = (padded.shape[0] - kh) // stride + 1\n    cols = (padded.shape[1] - kw) // stride + 1\n"
                  "    out = np.zeros((rows, cols), dtype=np.float32)\n"
                  "    for i in range(rows):\n        for j in range(cols):\n"
                  "            out[i, j] = (padded[i * stride:i * stride + kh, j * stride:j * stride + kw] * k).sum()\n"
                  "    return out\n"),
          "not a NumPy array", concept="wrong type"),
    Wrong("conv2d_padded", "F.conv2d (a forbidden shortcut)",
          _padded("    return F.conv2d(img[None, None], kernel[None, None], padding=pad, stride=stride)[0, 0]\n"),
          "write the two loops", concept="shortcut the exercise forbids"),
    Wrong("conv2d_padded", "nn.Conv2d with the kernel copied in (a forbidden shortcut)",
          _padded("    layer = nn.Conv2d(1, 1, tuple(kernel.shape), stride=stride, padding=pad, bias=False)\n"
                  "    with torch.no_grad():\n        layer.weight.copy_(kernel[None, None])\n"
                  "        return layer(img[None, None])[0, 0]\n"),
          "write the two loops", concept="shortcut the exercise forbids"),
    Wrong("conv2d_padded", "F.unfold and a matrix product (a forbidden shortcut)",
          _padded("    cols = F.unfold(img[None, None], tuple(kernel.shape), padding=pad, stride=stride)\n"
                  "    rows = (img.shape[0] + 2 * pad - kernel.shape[0]) // stride + 1\n"
                  "    return (kernel.reshape(1, -1) @ cols).reshape(rows, -1)\n"),
          "write the two loops", concept="shortcut the exercise forbids"),

    # -- the quiz ------------------------------------------------------------------------------------
    Wrong("quiz_stride_shape", "padding ignored", "quiz_stride_shape = (1, 8, 7, 9)", "the padding is missing",
          concept="padding ignored"),
    Wrong("quiz_stride_shape", "padding counted once", "quiz_stride_shape = (1, 8, 7, 10)", "counts twice",
          concept="padding counted once"),
    Wrong("quiz_stride_shape", "rounded up", "quiz_stride_shape = (1, 8, 8, 11)", "round down",
          concept="ceil for floor"),
    Wrong("quiz_stride_shape", "input channels kept", "quiz_stride_shape = (1, 3, 8, 10)", "one map per kernel",
          concept="channels"),
    Wrong("quiz_stride_shape", "batch axis dropped", "quiz_stride_shape = (8, 8, 10)", "the batch axis stays",
          concept="batch axis dropped"),
    Wrong("quiz_stride_shape", "a list instead of a tuple", "quiz_stride_shape = [1, 8, 8, 10]",
          "a shape is a tuple", concept="wrong type"),
    Wrong("quiz_stride_shape", "stride ignored (padding keeps the size)", "quiz_stride_shape = (1, 8, 15, 20)",
          "the stride is missing", concept="stride ignored"),
    Wrong("quiz_stride_shape", "height and width swapped", "quiz_stride_shape = (1, 8, 10, 8)",
          "height comes before width", concept="transposed"),
    Wrong("quiz_stride_shape", "/ instead of //",
          "quiz_stride_shape = (1, 8, (15 + 2 - 3) / 2 + 1, (20 + 2 - 3) / 2 + 1)",
          "use floor division", concept="/ instead of //"),

    Wrong("quiz_even_padding", "ks//2 on each side", "quiz_even_padding = 6", "keeps the size only for an odd kernel",
          concept="even kernel"),
    Wrong("quiz_even_padding", "(ks - 1)//2 on each side", "quiz_even_padding = 2 * ((6 - 1) // 2)",
          "is too little for an even kernel", concept="even kernel"),
    Wrong("quiz_even_padding", "the padding of one side, not the total", "quiz_even_padding = (6 - 1) // 2",
          "the question asks for top plus bottom", concept="padding counted once"),
    Wrong("quiz_even_padding", "(ks - 1) / 2 per side", "quiz_even_padding = (6 - 1) / 2", "a fraction of a pixel",
          concept="/ instead of //"),
    Wrong("quiz_even_padding", "no padding possible", "quiz_even_padding = 0", "some rows of zeros are needed",
          concept="even kernel"),
    Wrong("quiz_even_padding", "ks - 1 on each side", "quiz_even_padding = 2 * (6 - 1)", "a 'full' convolution",
          concept="padding counted twice"),
    Wrong("quiz_even_padding", "a float", "quiz_even_padding = 5.0", "a number of rows is an int",
          concept="float instead of int"),

    Wrong("quiz_unused_columns", "every column thought covered", "quiz_unused_columns = 0",
          "list the columns each position covers", concept="ceil for floor"),
    Wrong("quiz_unused_columns", "the number of positions", "quiz_unused_columns = 2",
          "that is the number of positions", concept="positions for pixels"),
    Wrong("quiz_unused_columns", "n - ks", "quiz_unused_columns = 3", "where the last window could start",
          concept="positions for pixels"),
    Wrong("quiz_unused_columns", "only the start column of each window counted", "quiz_unused_columns = 4",
          "all 3 of its columns", concept="window size ignored"),
    Wrong("quiz_unused_columns", "a float", "quiz_unused_columns = 1.0", "a number of columns is an int",
          concept="float instead of int"),
    Wrong("quiz_unused_columns", "the list of unused columns", "quiz_unused_columns = [5]",
          "how many columns (an int), not which ones", concept="wrong type"),
]

RIGHT = [
    Right("same_padding", "(ks - 1)//2 after an odd test written with !=",
          "def same_padding(ks):\n    if ks % 2 != 1:\n        raise ValueError('an even kernel has no same padding')\n"
          "    return (ks - 1) // 2\n"),
    Right("same_padding", "int() of the exact half, and a ValueError subclass",
          "class EvenKernel(ValueError):\n    pass\n\n"
          "def same_padding(ks):\n    if ks % 2 == 0:\n        raise EvenKernel(ks)\n    return int((ks - 1) / 2)\n"),
    Right("same_padding", "searched with a real layer, NumPy integer returned",
          "def same_padding(ks):\n    if ks % 2 == 0:\n        raise ValueError('even')\n"
          "    for p in range(ks):\n"
          "        if nn.Conv2d(1, 1, ks, padding=p)(torch.zeros(1, 1, ks + 8, ks + 8)).shape[-1] == ks + 8:\n"
          "            return np.int64(p)\n"),
    Right("output_size", "counting the starting points",
          "def output_size(n, ks, pad=0, stride=1):\n    return len(range(0, n + 2 * pad - ks + 1, stride))\n"),
    Right("output_size", "math.floor of the true quotient",
          _SIZE.format("math.floor((n + 2 * pad - ks) / stride) + 1")),
    Right("output_size", "NumPy integer arithmetic",
          "def output_size(n, ks, pad=0, stride=1):\n    return np.int64(n + 2 * pad - ks) // stride + 1\n"),
    Right("conv2d_padded", "stride-1 sums of shifted slices, then every stride-th row and column",
          "def conv2d_padded(img, kernel, pad=0, stride=1):\n    kh, kw = kernel.shape\n    h, w = img.shape\n"
          "    big = torch.zeros(h + 2 * pad, w + 2 * pad)\n    big[pad:pad + h, pad:pad + w] = img\n"
          "    H, W = big.shape\n"
          "    full = sum(kernel[u, v] * big[u:u + H - kh + 1, v:v + W - kw + 1]\n"
          "               for u in range(kh) for v in range(kw))\n"
          "    return full[::stride, ::stride]\n"),
    Right("conv2d_padded", "float64 throughout, columns in the outer loop",
          "def conv2d_padded(img, kernel, pad=0, stride=1):\n    img, kernel = img.double(), kernel.double()\n"
          "    padded = F.pad(img, (pad, pad, pad, pad))\n    kh, kw = kernel.shape\n"
          "    rows = (padded.shape[0] - kh) // stride + 1\n    cols = (padded.shape[1] - kw) // stride + 1\n"
          "    out = torch.empty(rows, cols, dtype=torch.float64)\n    for j in range(cols):\n"
          "        for i in range(rows):\n"
          "            window = padded[i * stride:i * stride + kh, j * stride:j * stride + kw]\n"
          "            out[i, j] = torch.dot(window.flatten(), kernel.flatten())\n    return out\n"),
    Right("quiz_stride_shape", "a torch.Size", "quiz_stride_shape = torch.Size([1, 8, 8, 10])"),
    Right("quiz_stride_shape", "the formula written out",
          "quiz_stride_shape = (1, 8, (15 + 2 * 1 - 3) // 2 + 1, (20 + 2 * 1 - 3) // 2 + 1)"),
    Right("quiz_stride_shape", "measured with a real layer",
          "quiz_stride_shape = tuple(nn.Conv2d(3, 8, 3, stride=2, padding=1)(torch.zeros(1, 3, 15, 20)).shape)"),
    Right("quiz_even_padding", "an expression", "quiz_even_padding = 6 - 1"),
    Right("quiz_even_padding", "an integer tensor", "quiz_even_padding = torch.tensor(5)"),
    Right("quiz_unused_columns", "counted from the formula",
          "quiz_unused_columns = 6 - ((6 - 3) // 2 * 2 + 3)"),
    Right("quiz_unused_columns", "an integer tensor", "quiz_unused_columns = torch.tensor(1)"),
]

NO_ALTERNATIVES: dict[str, str] = {}

_WINDOWS = """def windows(n, ks, pad=0, stride=1):
    x = torch.ones(1, 1, n, n, requires_grad=True)
    F.conv2d(x, torch.ones(1, 1, ks, ks), padding=pad, stride=stride).sum().backward()
    return x.grad[0, 0]
"""


def _size(n: int, ks: int, pad: int = 0, stride: int = 1, layers: int = 1) -> str:
    """Claim code: the side of what ``layers`` real convolutions return for an n x n input."""
    return (f"x = torch.zeros(1, 1, {n}, {n})\nfor _ in range({layers}):\n"
            f"    x = F.conv2d(x, torch.zeros(1, 1, {ks}, {ks}), padding={pad}, stride={stride})\n"
            "value = x.shape[-1]")


CLAIMS: list[Claim] = [
    Claim("28x28 in, 26x26 out", _size(28, 3), 26, 0),
    Claim("has only 2 places across", _size(4, 3), 2, 0),
    Claim("ten 3x3 layers take", _size(28, 3, layers=10), 8, 0),
    Claim("becomes 30x30", "value = F.pad(torch.zeros(28, 28), (1, 1, 1, 1)).shape[-1]", 30, 0),
    Claim("then fits 28 times across", _size(28, 3, pad=1), 28, 0),
    Claim("takes part in 4 windows instead of", _WINDOWS + "value = windows(28, 3, pad=1)[0, 0]", 4, 0),
    Claim("1, an edge pixel", _WINDOWS + "value = windows(28, 3)[0, 0]", 1, 0),
    Claim("an edge pixel in 6 instead", _WINDOWS + "value = windows(28, 3, pad=1)[0, 14]", 6, 0),
    Claim("in 6 instead of 3", _WINDOWS + "value = windows(28, 3)[0, 14]", 3, 0),
    Claim("Still fewer than the 9 of a middle pixel", _WINDOWS + "value = windows(28, 3, pad=1)[14, 14]", 9, 0),
    Claim("needs `ks - 1 = 3` extra rows",
          "value = next(t for t in range(10) if F.conv2d(F.pad(torch.zeros(1, 1, 28, 28), (0, 0, t // 2, t - t // 2)),"
          " torch.zeros(1, 1, 4, 4)).shape[-2] == 28)", 3, 0),
    Claim("the output is 3x3 instead of 5x5", _size(5, 3, pad=1, stride=2), 3, 0),
    Claim("So there are 2 positions each way", _size(8, 3, stride=3), 2, 0),
    Claim("the last two rows and columns unused",  # by a 3x3 kernel at stride 3 on 8x8
          _WINDOWS + "value = int((windows(8, 3, stride=3).sum(0) == 0).sum())", 2, 0),
    Claim("give 14, 7, 4, 2 and finally 1", _size(28, 3, pad=1, stride=2, layers=5), 1, 0),
    Claim("gives a 14x14 map", _size(28, 3, pad=1, stride=2), 14, 0),
]
