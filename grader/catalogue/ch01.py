"""Chapter 1, "Convolution by hand": the mistakes learners make, and other correct answers.

The wrong answers are the ones seen when people first write a convolution: the kernel flipped as
in signal processing, the window cornered at (row, col) instead of centred, a square image or
kernel assumed, one position too few, an average for a sum, a NumPy array or an integer map
returned, and every shortcut the by-hand exercises switch off (``F.conv2d``, ``nn.Conv2d``,
``unfold``, SciPy's ``correlate2d``, NumPy's ``sliding_window_view``), however they are imported.
"""

from . import Right, Wrong

#: The top_edge kernel as the chapter writes it, for the entries that reuse it.
_TOP = "[[-1., -1., -1.], [0., 0., 0.], [1., 1., 1.]]"

#: A convolution by two loops over positions, for the entries that only change what is around it.
_LOOPS = """
def _loops(img, kernel):
    kh, kw = kernel.shape
    h, w = img.shape
    out = torch.zeros(h - kh + 1, w - kw + 1)
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).sum()
    return out
"""

WRONG = [
    # -- top_edge ---------------------------------------------------------------------------
    Wrong("top_edge", "the rows of -1s and 1s swapped (a bottom-edge kernel)",
          "top_edge = torch.tensor([[1., 1., 1.], [0., 0., 0.], [-1., -1., -1.]])",
          hint="your kernel finds bottom edges", concept="edge kernel on the wrong side"),
    Wrong("top_edge", "the -1s in the left column (a left-edge kernel)",
          "top_edge = torch.tensor([[-1., 0., 1.], [-1., 0., 1.], [-1., 0., 1.]])",
          hint="your kernel finds vertical (left) edges", concept="rows and columns swapped"),
    Wrong("top_edge", "the -1s in the right column (a right-edge kernel)",
          "top_edge = torch.tensor([[1., 0., -1.], [1., 0., -1.], [1., 0., -1.]])",
          hint="your kernel finds vertical (right) edges", concept="rows and columns swapped"),
    Wrong("top_edge", "integers, .float() forgotten",
          "top_edge = torch.tensor([[-1, -1, -1], [0, 0, 0], [1, 1, 1]])",
          hint="they are integers: add .float()", concept="integer dtype"),
    Wrong("top_edge", "a nested list, not a tensor", f"top_edge = {_TOP}",
          hint="that is a nested Python list", concept="list instead of a tensor"),
    Wrong("top_edge", "the nine numbers in one flat row",
          "top_edge = torch.tensor([-1., -1., -1., 0., 0., 0., 1., 1., 1.])",
          hint="the nine numbers are in one row", concept="wrong shape"),
    Wrong("top_edge", "the Sobel kernel instead",
          "top_edge = torch.tensor([[-1., -2., -1.], [0., 0., 0.], [1., 2., 1.]])",
          hint="that is the Sobel kernel", concept="another kernel than asked"),

    # -- apply_kernel -------------------------------------------------------------------------
    Wrong("apply_kernel", "the kernel flipped (a true convolution)",
          "def apply_kernel(img, row, col, kernel):\n"
          "    return (img[row - 1:row + 2, col - 1:col + 2] * kernel.flip(0).flip(1)).sum()",
          hint="you flipped the kernel", concept="a flipped kernel"),
    Wrong("apply_kernel", "the kernel turned upside down only",
          "def apply_kernel(img, row, col, kernel):\n"
          "    return (img[row - 1:row + 2, col - 1:col + 2] * kernel.flip(0)).sum()",
          hint="you turned the kernel upside down", concept="a flipped kernel"),
    Wrong("apply_kernel", "the kernel transposed (kernel[v, u])",
          "def apply_kernel(img, row, col, kernel):\n"
          "    total = 0.0\n"
          "    for u in range(3):\n"
          "        for v in range(3):\n"
          "            total += img[row - 1 + u, col - 1 + v] * kernel[v, u]\n"
          "    return total",
          hint="you transposed the kernel", concept="rows and columns swapped"),
    Wrong("apply_kernel", "the block starts at (row, col)",
          "def apply_kernel(img, row, col, kernel):\n    return (img[row:row + 3, col:col + 3] * kernel).sum()",
          hint="centred on (row, col)", concept="window cornered, not centred"),
    Wrong("apply_kernel", "the block ends at (row, col)",
          "def apply_kernel(img, row, col, kernel):\n"
          "    return (img[row - 2:row + 1, col - 2:col + 1] * kernel).sum()",
          hint="centred on (row, col)", concept="window cornered, not centred"),
    Wrong("apply_kernel", "a 2x2 block: the slice end taken as included",
          "def apply_kernel(img, row, col, kernel):\n"
          "    return (img[row - 1:row + 1, col - 1:col + 1] * kernel).sum()",
          hint="centred on (row, col)", concept="off by one"),
    Wrong("apply_kernel", "rows and columns swapped",
          "def apply_kernel(img, row, col, kernel):\n"
          "    return (img[col - 1:col + 2, row - 1:row + 2] * kernel).sum()",
          hint="rows and columns are swapped", concept="rows and columns swapped"),
    Wrong("apply_kernel", "the nine products returned, not summed",
          "def apply_kernel(img, row, col, kernel):\n    return img[row - 1:row + 2, col - 1:col + 2] * kernel",
          hint="add them up (.sum())", concept="sum forgotten"),
    Wrong("apply_kernel", "the kernel left out",
          "def apply_kernel(img, row, col, kernel):\n    return img[row - 1:row + 2, col - 1:col + 2].sum()",
          hint="the kernel is missing", concept="kernel left out"),
    Wrong("apply_kernel", "a matrix product instead of element by element",
          "def apply_kernel(img, row, col, kernel):\n"
          "    return (img[row - 1:row + 2, col - 1:col + 2] @ kernel).sum()",
          hint="not the matrix product (@)", concept="@ for *"),
    Wrong("apply_kernel", "the mean of the products",
          "def apply_kernel(img, row, col, kernel):\n"
          "    return (img[row - 1:row + 2, col - 1:col + 2] * kernel).mean()",
          hint="you averaged the nine products", concept="mean for sum"),
    Wrong("apply_kernel", "shortcut: F.conv2d",
          "def apply_kernel(img, row, col, kernel):\n"
          "    return F.conv2d(img[None, None], kernel[None, None])[0, 0, row - 1, col - 1]",
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("apply_kernel", "shortcut: nn.Conv2d",
          "def apply_kernel(img, row, col, kernel):\n"
          "    layer = nn.Conv2d(1, 1, 3, bias=False)\n"
          "    with torch.no_grad():\n"
          "        layer.weight.copy_(kernel[None, None])\n"
          "        return layer(img[None, None])[0, 0, row - 1, col - 1]",
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("apply_kernel", "shortcut: scipy.signal.correlate2d imported by name",
          "from scipy.signal import correlate2d\n"
          "def apply_kernel(img, row, col, kernel):\n"
          "    block = img[row - 1:row + 2, col - 1:col + 2].numpy()\n"
          "    return float(correlate2d(block, kernel.numpy(), mode='valid')[0, 0])",
          hint="keep the tensors as they are", concept="forbidden shortcut"),

    # -- convolve -------------------------------------------------------------------------------
    Wrong("convolve", "the kernel flipped (a true convolution)",
          _LOOPS + "def convolve(img, kernel):\n    return _loops(img, kernel.flip(0).flip(1))",
          hint="you flipped the kernel", concept="a flipped kernel"),
    Wrong("convolve", "rows and columns swapped",
          _LOOPS + "def convolve(img, kernel):\n    return _loops(img.T, kernel.T)",
          hint="rows and columns are swapped", concept="rows and columns swapped"),
    Wrong("convolve", "the kernel mirrored left to right only",
          _LOOPS + "def convolve(img, kernel):\n    return _loops(img, kernel.flip(1))",
          hint="you mirrored the kernel left to right", concept="a flipped kernel"),
    Wrong("convolve", "the kernel transposed (kernel.T)",
          _LOOPS + "def convolve(img, kernel):\n    return _loops(img, kernel.T)",
          hint="you transposed the kernel", concept="rows and columns swapped"),
    Wrong("convolve", "a square kernel assumed (kernel.shape[0] for both sides)",
          "def convolve(img, kernel):\n"
          "    k = kernel.shape[0]\n"
          "    h, w = img.shape\n"
          "    out = torch.zeros(h - k + 1, w - k + 1)\n"
          "    for i in range(h - k + 1):\n"
          "        for j in range(w - k + 1):\n"
          "            out[i, j] = (img[i:i + k, j:j + k] * kernel).sum()\n"
          "    return out",
          hint="need not be square", concept="square assumed"),
    Wrong("convolve", "a square image assumed (img.shape[0] for both sides)",
          "def convolve(img, kernel):\n"
          "    n = img.shape[0]\n"
          "    kh, kw = kernel.shape\n"
          "    out = torch.zeros(n - kh + 1, n - kw + 1)\n"
          "    for i in range(n - kh + 1):\n"
          "        for j in range(n - kw + 1):\n"
          "            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).sum()\n"
          "    return out",
          hint="the image need not be square", concept="square assumed"),
    Wrong("convolve", "the loops one position short (range(h - kh))",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    h, w = img.shape\n"
          "    out = torch.zeros(h - kh + 1, w - kw + 1)\n"
          "    for i in range(h - kh):\n"
          "        for j in range(w - kw):\n"
          "            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).sum()\n"
          "    return out",
          hint="the last row and column of your map stayed 0", concept="off by one"),
    Wrong("convolve", "the output size without the + 1",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    h, w = img.shape\n"
          "    out = torch.zeros(h - kh, w - kw)\n"
          "    for i in range(h - kh):\n"
          "        for j in range(w - kw):\n"
          "            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).sum()\n"
          "    return out",
          hint="one row and one column short", concept="off by one"),
    Wrong("convolve", "an output the size of the image (zeros_like)",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    out = torch.zeros_like(img)\n"
          "    for i in range(img.shape[0] - kh + 1):\n"
          "        for j in range(img.shape[1] - kw + 1):\n"
          "            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).sum()\n"
          "    return out",
          hint="your map has the image's size", concept="output size"),
    Wrong("convolve", "the image padded by one pixel, for a map of the image's size",
          _LOOPS + "def convolve(img, kernel):\n    return _loops(F.pad(img, (1, 1, 1, 1)), kernel)",
          hint="you padded the image", concept="padding where none is asked"),
    Wrong("convolve", "the mean of each window's products",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    out = torch.zeros(img.shape[0] - kh + 1, img.shape[1] - kw + 1)\n"
          "    for i in range(out.shape[0]):\n"
          "        for j in range(out.shape[1]):\n"
          "            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).mean()\n"
          "    return out",
          hint="a mean for a sum", concept="mean for sum"),
    Wrong("convolve", "an integer output map",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    out = torch.zeros(img.shape[0] - kh + 1, img.shape[1] - kw + 1, dtype=torch.long)\n"
          "    for i in range(out.shape[0]):\n"
          "        for j in range(out.shape[1]):\n"
          "            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).sum()\n"
          "    return out",
          hint="your map holds whole numbers", concept="integer dtype"),
    Wrong("convolve", "a NumPy array returned",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    a, k = img.numpy(), kernel.numpy()\n"
          "    out = np.zeros((a.shape[0] - kh + 1, a.shape[1] - kw + 1), dtype=np.float32)\n"
          "    for i in range(out.shape[0]):\n"
          "        for j in range(out.shape[1]):\n"
          "            out[i, j] = (a[i:i + kh, j:j + kw] * k).sum()\n"
          "    return out",
          hint="not a NumPy array", concept="NumPy instead of torch"),
    Wrong("convolve", "the loops over rows and columns swapped",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    h, w = img.shape\n"
          "    out = torch.zeros(h - kh + 1, w - kw + 1)\n"
          "    for i in range(w - kw + 1):\n"
          "        for j in range(h - kh + 1):\n"
          "            out[i, j] = (img[i:i + kh, j:j + kw] * kernel).sum()\n"
          "    return out",
          hint="img.shape[0] and kernel.shape[0] for rows", concept="rows and columns swapped"),
    Wrong("convolve", "shortcut: F.conv2d",
          "def convolve(img, kernel):\n    return F.conv2d(img[None, None], kernel[None, None])[0, 0]",
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("convolve", "shortcut: torch.conv2d imported by name before",
          "from torch.nn.functional import conv2d\n"
          "def convolve(img, kernel):\n    return conv2d(img[None, None], kernel[None, None])[0, 0]",
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("convolve", "shortcut: nn.Conv2d",
          "def convolve(img, kernel):\n"
          "    layer = nn.Conv2d(1, 1, tuple(kernel.shape), bias=False)\n"
          "    with torch.no_grad():\n"
          "        layer.weight.copy_(kernel[None, None])\n"
          "        return layer(img[None, None])[0, 0]",
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("convolve", "shortcut: F.unfold",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    cols = F.unfold(img[None, None], (kh, kw))\n"
          "    return (kernel.reshape(1, -1) @ cols).reshape(img.shape[0] - kh + 1, img.shape[1] - kw + 1)",
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("convolve", "shortcut: Tensor.unfold",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    return (img.unfold(0, kh, 1).unfold(1, kw, 1) * kernel).sum((-1, -2))",
          hint="switched off while the check runs", concept="forbidden shortcut"),
    Wrong("convolve", "shortcut: scipy.signal.correlate2d imported by name",
          "from scipy.signal import correlate2d\n"
          "def convolve(img, kernel):\n"
          "    return torch.from_numpy(correlate2d(img.numpy(), kernel.numpy(), mode='valid')).float()",
          hint="keep the tensors as they are", concept="forbidden shortcut"),
    Wrong("convolve", "shortcut: scipy.signal.convolve2d on the flipped kernel",
          "import scipy.signal\n"
          "def convolve(img, kernel):\n"
          "    k = kernel.flip(0, 1).numpy()\n"
          "    return torch.from_numpy(scipy.signal.convolve2d(img.numpy(), k, mode='valid')).float()",
          hint="keep the tensors as they are", concept="forbidden shortcut"),
    Wrong("convolve", "shortcut: numpy sliding_window_view",
          "from numpy.lib.stride_tricks import sliding_window_view\n"
          "def convolve(img, kernel):\n"
          "    windows = sliding_window_view(img, tuple(kernel.shape))\n"
          "    return torch.from_numpy((windows * kernel.numpy()).sum((-1, -2))).float()",
          hint="switched off while the check runs", concept="forbidden shortcut"),

    # -- review question 1 ------------------------------------------------------------------------
    Wrong("quiz_output_size", "no shrinking: the image's size", "quiz_output_size = (28, 28)",
          hint="cannot be centred on the outermost row", concept="output size"),
    Wrong("quiz_output_size", "n - k, the first position not counted", "quiz_output_size = (25, 25)",
          hint="count the first position too", concept="off by one"),
    Wrong("quiz_output_size", "one row lost, not one on each side", "quiz_output_size = (27, 27)",
          hint="loses a row at the top and one at the bottom", concept="off by one"),
    Wrong("quiz_output_size", "a list", "quiz_output_size = [28 - 2, 28 - 2]",
          hint="not a list", concept="list instead of a tuple"),
    Wrong("quiz_output_size", "floats", "quiz_output_size = (28 - 2.0, 28 - 2.0)",
          hint="write them as ints, not floats", concept="float for int"),
    Wrong("quiz_output_size", "one number for a square map", "quiz_output_size = 28 - 3 + 1",
          hint="answer with both", concept="one number for a shape"),
    Wrong("quiz_output_size", "F.conv2d's whole shape, batch and channel axes included",
          "quiz_output_size = tuple(F.conv2d(torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, 3, 3)).shape)",
          hint="the batch and channel axes", concept="batch axis kept"),
    Wrong("quiz_output_size", "a string", "quiz_output_size = f'{28 - 2}x{28 - 2}'",
          hint="not a string", concept="string for numbers"),

    # -- review question 2 ------------------------------------------------------------------------
    Wrong("quiz_edge_kernel", "the right-edge kernel (bright on the left)", 'quiz_edge_kernel = "right_edge"',
          hint="this image goes from dark to bright", concept="edge kernel on the wrong side"),
    Wrong("quiz_edge_kernel", "the top-edge kernel (rows for columns)", 'quiz_edge_kernel = "top_edge"',
          hint="changes across the columns", concept="rows and columns swapped"),
    Wrong("quiz_edge_kernel", "the bottom-edge kernel (rows for columns)", 'quiz_edge_kernel = "bottom_edge"',
          hint="changes across the columns", concept="rows and columns swapped"),
    Wrong("quiz_edge_kernel", "half the name", 'quiz_edge_kernel = "left"',
          hint="write the kernel's full name", concept="not one of the options"),
    Wrong("quiz_edge_kernel", "the position in the question's list", "quiz_edge_kernel = 2",
          hint="not its position in the question's list", concept="index for name"),
    Wrong("quiz_edge_kernel", "the kernel itself",
          "quiz_edge_kernel = torch.tensor([[-1., 0., 1.], [-1., 0., 1.], [-1., 0., 1.]])",
          hint="not the kernel itself", concept="value for name"),
    # answers a by-hand exercise refuses: its tensors are turned into NumPy arrays
    Wrong("apply_kernel", "NumPy, converted back to a float",
          "def apply_kernel(img, row, col, kernel):\n"
          "    block = img.numpy()[row - 1:row + 2, col - 1:col + 2]\n"
          "    return float(np.sum(block * kernel.numpy()))", "keep the tensors as they are",
          concept="NumPy instead of torch"),
]

RIGHT = [
    Right("top_edge", "float literals", f"top_edge = torch.tensor({_TOP})"),
    Right("top_edge", "float64", f"top_edge = torch.tensor({_TOP}, dtype=torch.float64)"),
    Right("top_edge", "built from a column of -1, 0, 1", "top_edge = torch.linspace(-1, 1, 3)[:, None].repeat(1, 3)"),

    Right("apply_kernel", "two loops over the nine weights",
          "def apply_kernel(img, row, col, kernel):\n"
          "    total = 0.0\n"
          "    for u in range(3):\n"
          "        for v in range(3):\n"
          "            total += float(img[row - 1 + u, col - 1 + v]) * float(kernel[u, v])\n"
          "    return total"),
    Right("apply_kernel", "float64 and a 0-d tensor",
          "def apply_kernel(img, row, col, kernel):\n"
          "    return (img[row - 1:row + 2, col - 1:col + 2].double() * kernel.double()).sum()"),

    Right("convolve", "one loop over the kernel's weights, shifted copies of the image",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    h, w = img.shape\n"
          "    out = torch.zeros(h - kh + 1, w - kw + 1)\n"
          "    for u in range(kh):\n"
          "        for v in range(kw):\n"
          "            out += kernel[u, v] * img[u:u + h - kh + 1, v:v + w - kw + 1]\n"
          "    return out"),
    Right("convolve", "stacked windows, vectorised",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    h, w = img.shape\n"
          "    windows = torch.stack([img[i:i + h - kh + 1, j:j + w - kw + 1] for i in range(kh) for j in range(kw)])\n"
          "    return (windows * kernel.reshape(-1, 1, 1)).sum(0)"),
    Right("convolve", "float64 throughout, a list of rows stacked",
          "def convolve(img, kernel):\n"
          "    kh, kw = kernel.shape\n"
          "    rows = []\n"
          "    for i in range(img.shape[0] - kh + 1):\n"
          "        rows.append(torch.stack([(img[i:i + kh, j:j + kw].double() * kernel.double()).sum()\n"
          "                                 for j in range(img.shape[1] - kw + 1)]))\n"
          "    return torch.stack(rows)"),

    Right("quiz_output_size", "a torch.Size", "quiz_output_size = torch.Size([26, 26])"),
    Right("quiz_output_size", "an expression", "quiz_output_size = (28 - 3 + 1, 28 - 3 + 1)"),
    Right("quiz_output_size", "measured with F.conv2d",
          "quiz_output_size = tuple(F.conv2d(torch.zeros(1, 1, 28, 28), torch.zeros(1, 1, 3, 3)).shape[-2:])"),

    Right("quiz_edge_kernel", "with spaces and quotes", "quiz_edge_kernel = \" 'left_edge' \""),
    Right("quiz_edge_kernel", "in words, capitalised", 'quiz_edge_kernel = "Left edge"'),
    Right("quiz_edge_kernel", "picked from the question's list",
          'quiz_edge_kernel = ["top_edge", "bottom_edge", "left_edge", "right_edge"][2]'),
]

NO_ALTERNATIVES: dict[str, str] = {}

#: None: every number the chapter's prose states that a run produces is printed by a cell whose stored
#: output nbval compares (tagged nbval-check-output: load, numbers, apply-try, compare, cross-correlation, kernels).
CLAIMS: list = []
