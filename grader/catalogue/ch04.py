"""Chapter 4, "nn.Conv2d and a first CNN": the mistakes each check must reject, and the other right answers.

Every wrong answer below is the code a learner writes, with the hint text its verdict must carry;
every right answer is a correct formulation other than the solution's. ``tests/test_catalogue.py``
runs each through the visible and the hidden check. The models are built from ``conv``, the helper
the chapter defines in a cell before the exercise (pasted into each entry, as the notebook holds it).
"""

from functools import lru_cache

from grader.catalogue import Claim, Right, Wrong

_CONV = '''
def conv(ni, nf, ks=3, act=True):
    res = nn.Conv2d(ni, nf, stride=2, kernel_size=ks, padding=ks // 2)
    if act:
        res = nn.Sequential(res, nn.ReLU())
    return res

torch.manual_seed(0)
'''


def _cnn(layers: str, tail: str = "nn.Flatten(),") -> str:
    return _CONV + f"simple_cnn = nn.Sequential(\n    {layers}\n    {tail}\n)\n"


_FIVE = "conv(1, 4), conv(4, 8), conv(8, 16), conv(16, 32), conv(32, 2, act=False),"

_SHAPES = '''
def conv_shapes(input_shape, filters):
    _, h, w = input_shape
    shapes = []
    for nf in filters:
        h, w = {size_h}, {size_w}
        shapes.append({item})
    return shapes
'''


def _shapes(size_h="(h + 2 * 1 - 3) // 2 + 1", size_w="(w + 2 * 1 - 3) // 2 + 1", item="(nf, h, w)") -> str:
    return _SHAPES.format(size_h=size_h, size_w=size_w, item=item)


_PARAMS = "def stack_params(channels, ks=3):\n    return sum({} for ni, nf in zip(channels[:-1], channels[1:]))\n"

WRONG = [
    # -- stack_params ----------------------------------------------------------------------------------
    Wrong("stack_params", "biases forgotten", _PARAMS.format("nf * ni * ks * ks"), "the biases are missing",
          concept="forgot bias"),
    Wrong("stack_params", "input channels forgotten", _PARAMS.format("nf * ks * ks + nf"),
          "ks x ks slice for every one of the ni input channels", concept="input channels ignored"),
    Wrong("stack_params", "ks once instead of ks * ks", _PARAMS.format("nf * ni * ks + nf"),
          "ks * ks weights per input channel, not ks", concept="kernel area"),
    Wrong("stack_params", "one bias per input channel", _PARAMS.format("nf * ni * ks * ks + ni"),
          "one bias per *output* channel", concept="forgot bias"),
    Wrong("stack_params", "the kernel size fixed at 3", _PARAMS.format("nf * ni * 3 * 3 + nf"),
          "the kernel size is fixed at 3", concept="argument ignored"),
    Wrong("stack_params", "a float (the count divided by 1.0 along the way)",
          "def stack_params(channels, ks=3):\n    total = 0.0\n"
          "    for ni, nf in zip(channels[:-1], channels[1:]):\n        total += nf * ni * ks * ks + nf\n"
          "    return total\n",
          "a parameter count is an int", concept="float instead of int"),
    Wrong("stack_params", "loop with channels[i - 1] from i = 0: a layer from the last count to the first",
          "def stack_params(channels, ks=3):\n    total = 0\n    for i in range(len(channels)):\n"
          "        ni, nf = channels[i - 1], channels[i]\n        total += nf * ni * ks * ks + nf\n    return total\n",
          "one layer too many", concept="off by one"),
    Wrong("stack_params", "the last layer left out of the loop",
          "def stack_params(channels, ks=3):\n    total = 0\n    for i in range(len(channels) - 2):\n"
          "        ni, nf = channels[i], channels[i + 1]\n        total += nf * ni * ks * ks + nf\n    return total\n",
          "the last layer is missing", concept="off by one"),

    # -- conv_shapes (by hand: 10 or more) ----------------------------------------------------------------
    Wrong("conv_shapes", "halving with floor", _shapes("h // 2", "w // 2"), "rounds odd sizes *up*",
          concept="floor for ceil"),
    Wrong("conv_shapes", "height and width swapped", _shapes(item="(nf, w, h)"), "height and width are swapped",
          concept="transposed"),
    Wrong("conv_shapes", "a square input assumed", _shapes(size_w="(h + 2 * 1 - 3) // 2 + 1", item="(nf, h, h)"),
          "height and width need not be equal", concept="square assumed"),
    Wrong("conv_shapes", "the batch axis kept", _shapes(item="(1, nf, h, w)"), "leave out the batch axis",
          concept="batch axis"),
    Wrong("conv_shapes", "the input's shape listed first",
          "def conv_shapes(input_shape, filters):\n    _, h, w = input_shape\n    shapes = [tuple(input_shape)]\n"
          "    for nf in filters:\n        h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1\n"
          "        shapes.append((nf, h, w))\n"
          "    return shapes\n", "the input's own shape is not in the list", concept="off by one"),
    Wrong("conv_shapes", "the last layer's shape missing",
          "def conv_shapes(input_shape, filters):\n    _, h, w = input_shape\n    shapes = []\n"
          "    for i in range(len(filters) - 1):\n        h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1\n"
          "        shapes.append((filters[i], h, w))\n    return shapes\n", "the last layer's included",
          concept="off by one"),
    Wrong("conv_shapes", "/ instead of //", _shapes("(h + 2 * 1 - 3) / 2 + 1", "(w + 2 * 1 - 3) / 2 + 1"),
          "use // (floor division)", concept="/ instead of //"),
    Wrong("conv_shapes", "round(n / 2)", _shapes("round(h / 2)", "round(w / 2)"), "round() rounds halves",
          concept="round for floor"),
    Wrong("conv_shapes", "stride ignored (padding keeps the size)", _shapes("h", "w"), "the size does not change",
          concept="stride ignored"),
    Wrong("conv_shapes", "padding ignored", _shapes("(h - 3) // 2 + 1", "(w - 3) // 2 + 1"),
          "conv() pads by ks//2 = 1", concept="padding ignored"),
    Wrong("conv_shapes", "the channels a layer receives instead of its filters",
          "def conv_shapes(input_shape, filters):\n    c, h, w = input_shape\n    shapes = []\n"
          "    for nf in filters:\n        h, w = (h + 2 - 3) // 2 + 1, (w + 2 - 3) // 2 + 1\n"
          "        shapes.append((c, h, w))\n        c = nf\n    return shapes\n",
          "the channels after a layer are its number of filters", concept="channels"),
    Wrong("conv_shapes", "a NumPy array returned",
          "def conv_shapes(input_shape, filters):\n    _, h, w = input_shape\n    shapes = []\n"
          "    for nf in filters:\n        h, w = (h - 1) // 2 + 1, (w - 1) // 2 + 1\n"
          "        shapes.append((nf, h, w))\n"
          "    return np.array(shapes)\n", "not a NumPy array", concept="wrong type"),
    Wrong("conv_shapes", "real layers run (a forbidden shortcut)",
          _CONV + "\ndef conv_shapes(input_shape, filters):\n    x = torch.zeros(1, *input_shape)\n    shapes = []\n"
          "    for nf in filters:\n        x = conv(x.shape[1], nf)(x)\n        shapes.append(tuple(x.shape[1:]))\n"
          "    return shapes\n", "instead of running layers", concept="shortcut the exercise forbids"),

    # -- simple_cnn -----------------------------------------------------------------------------------
    Wrong("simple_cnn", "five bare nn.Conv2d, no ReLU: a linear model with the right shapes",
          "simple_cnn = nn.Sequential(\n" + "".join(
              f"    nn.Conv2d({a}, {b}, 3, stride=2, padding=1),\n" for a, b in
              [(1, 4), (4, 8), (8, 16), (16, 32), (32, 2)]) + "    nn.Flatten(),\n)\n",
          "the ReLUs are missing", concept="a model that is linear"),
    Wrong("simple_cnn", "every conv with act=False",
          _cnn("conv(1, 4, act=False), conv(4, 8, act=False), conv(8, 16, act=False), conv(16, 32, act=False), "
               "conv(32, 2, act=False),"), "the ReLUs are missing", concept="a model that is linear"),
    Wrong("simple_cnn", "nn.Flatten forgotten", _cnn(_FIVE, ""), "end the model with nn.Flatten()",
          concept="output shape"),
    Wrong("simple_cnn", "one output channel (the draft's last layer)",
          _cnn("conv(1, 4), conv(4, 8), conv(8, 16), conv(16, 32), conv(32, 1, act=False),"),
          "two output channels, one score per class", concept="output layer"),
    Wrong("simple_cnn", "a ReLU after the last layer",
          _cnn("conv(1, 4), conv(4, 8), conv(8, 16), conv(16, 32), conv(32, 2),"),
          "the last layer has act=False", concept="squashing after the output layer"),
    Wrong("simple_cnn", "a softmax at the end", _cnn(_FIVE, "nn.Flatten(), nn.Softmax(dim=1),"),
          "no softmax in the model", concept="squashing after the output layer"),
    Wrong("simple_cnn", "squeeze() instead of nn.Flatten()",
          _CONV + "class Squeezed(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
          f"        self.body = nn.Sequential({_FIVE})\n\n    def forward(self, x):\n"
          f"        return self.body(x).squeeze()\n\n"
          "simple_cnn = Squeezed()\n", "squeeze() removes every axis of size 1", concept="batch axis"),
    Wrong("simple_cnn", "the filters kept at 4 instead of doubling",
          _cnn("conv(1, 4), conv(4, 4), conv(4, 4), conv(4, 4), conv(4, 2, act=False),"),
          "the filters double at each stride-2 layer", concept="channels"),
    Wrong("simple_cnn", "a function that builds the model instead of the model",
          _CONV + f"def simple_cnn():\n    return nn.Sequential({_FIVE} nn.Flatten())\n",
          "not a function that builds one", concept="a factory for a model"),
    Wrong("simple_cnn", "the class instead of an instance of it",
          _CONV + "class MyCNN(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
          "        self.body = nn.Sequential(" + _FIVE + " nn.Flatten())\n\n"
          "    def forward(self, x):\n        return self.body(x)\n\nsimple_cnn = MyCNN\n",
          "create one from your class with brackets", concept="a factory for a model"),
    Wrong("simple_cnn", "a linear layer on the flattened image",
          "simple_cnn = nn.Sequential(nn.Flatten(), nn.Linear(784, 2))\n",
          "simple_cnn is a convolutional network", concept="wrong model"),
    Wrong("simple_cnn", "the course's own copy imported",
          "from helpers.models import simple_cnn as _course\nsimple_cnn = _course()\n",
          "write the nn.Sequential of conv() layers in your cell", concept="shortcut the exercise forbids"),

    # -- the quiz ---------------------------------------------------------------------------------------
    Wrong("quiz_stride2_size", "halved and floored, or the padding ignored", "quiz_stride2_size = 9 // 2",
          "does not simply halve the size", concept="padding ignored"),
    Wrong("quiz_stride2_size", "a float from /", "quiz_stride2_size = (9 + 2 - 3) / 2 + 1",
          "a number of columns is an int", concept="/ instead of //"),
    Wrong("quiz_stride2_size", "stride ignored", "quiz_stride2_size = 9", "the stride is missing",
          concept="stride ignored"),
    Wrong("quiz_stride2_size", "the output channels", "quiz_stride2_size = 16", "number of output channels",
          concept="channels for pixels"),
    Wrong("quiz_stride2_size", "the input channels", "quiz_stride2_size = 8", "number of input channels",
          concept="channels for pixels"),
    Wrong("quiz_stride2_size", "stride 2 read as doubling", "quiz_stride2_size = 9 * 2",
          "shrinks a map; it does not enlarge it", concept="stride inverted"),

    Wrong("quiz_cnn_params", "biases forgotten", "quiz_cnn_params = 1*4*9 + 4*8*9 + 8*16*9 + 16*32*9 + 32*2*9",
          "count the biases too", concept="forgot bias"),
    Wrong("quiz_cnn_params", "the draft's single output channel", "quiz_cnn_params = 6433",
          "a last layer of 1 channel", concept="output layer"),
    Wrong("quiz_cnn_params", "input channels forgotten",
          "quiz_cnn_params = sum(nf * 9 + nf for nf in (4, 8, 16, 32, 2))",
          "a 3x3 slice for every input channel", concept="input channels ignored"),
    Wrong("quiz_cnn_params", "3 weights per kernel slice",
          "quiz_cnn_params = sum(nf * ni * 3 + nf for ni, nf in [(1, 4), (4, 8), (8, 16), (16, 32), (32, 2)])",
          "3 * 3 weights per input channel, not 3", concept="kernel area"),
    Wrong("quiz_cnn_params", "the last layer left out",
          "quiz_cnn_params = sum(nf * ni * 9 + nf for ni, nf in [(1, 4), (4, 8), (8, 16), (16, 32)])",
          "has parameters too", concept="off by one"),
    Wrong("quiz_cnn_params", "simple_nn's count", "quiz_cnn_params = 23581", "that is the linear network",
          concept="wrong model"),
    Wrong("quiz_cnn_params", "a float", "quiz_cnn_params = 6722.0", "a number of parameters is an int",
          concept="float instead of int"),

    Wrong("quiz_mult_adds", "the input's 4x4 positions", "quiz_mult_adds = 4 * 4 * 32 * 16 * 9",
          "one dot product per *output* position", concept="stride ignored"),
    Wrong("quiz_mult_adds", "input channels forgotten", "quiz_mult_adds = 2 * 2 * 32 * 9",
          "a dot product over all 16 input channels", concept="input channels ignored"),
    Wrong("quiz_mult_adds", "3 terms per kernel slice", "quiz_mult_adds = 2 * 2 * 32 * 16 * 3",
          "not ni * ks", concept="kernel area"),
    Wrong("quiz_mult_adds", "the layer's parameter count", "quiz_mult_adds = 32 * 16 * 9 + 32",
          "that is the layer's number of parameters", concept="parameters for work"),
    Wrong("quiz_mult_adds", "filters forgotten", "quiz_mult_adds = 2 * 2 * 16 * 9", "one output map per filter",
          concept="channels"),
    Wrong("quiz_mult_adds", "the bias counted as a multiply-add", "quiz_mult_adds = 2 * 2 * 32 * (16 * 9 + 1)",
          "the bias is an addition without a multiplication", concept="forgot bias"),
    Wrong("quiz_mult_adds", "a float", "quiz_mult_adds = 2 * 2 * 32 * 16 * 9 / 1",
          "a number of multiply-adds is an int", concept="float instead of int"),
]

RIGHT = [
    Right("stack_params", "math.prod per layer, biases summed apart",
          "def stack_params(channels, ks=3):\n    pairs = list(zip(channels, channels[1:]))\n"
          "    return sum(math.prod((nf, ni, ks, ks)) for ni, nf in pairs) + sum(channels[1:])\n"),
    Right("stack_params", "NumPy arithmetic (a NumPy integer returned)",
          "def stack_params(channels, ks=3):\n    c = np.array(channels)\n"
          "    return (c[:-1] * c[1:] * ks * ks + c[1:]).sum()\n"),
    Right("stack_params", "an index loop, ks squared with **",
          "def stack_params(channels, ks=3):\n    total = 0\n    for i in range(1, len(channels)):\n"
          "        total += channels[i] * (channels[i - 1] * ks ** 2 + 1)\n    return total\n"),
    Right("conv_shapes", "ceil of half (stride 2, ks 3, padding 1 rounds up)",
          _shapes("-(-h // 2)", "-(-w // 2)")),
    Right("conv_shapes", "math.ceil, tuples built with a comprehension",
          "def conv_shapes(input_shape, filters):\n    _, h, w = input_shape\n    sizes = []\n"
          "    for _ in filters:\n        h, w = math.ceil(h / 2), math.ceil(w / 2)\n        sizes.append((h, w))\n"
          "    return [(nf, h, w) for nf, (h, w) in zip(filters, sizes)]\n"),
    Right("simple_cnn", "a class with its own forward and torch.relu",
          "class SimpleCNN(nn.Module):\n    def __init__(self):\n        super().__init__()\n"
          "        widths = [1, 4, 8, 16, 32, 2]\n"
          "        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, 2, 1) for a, b in zip(widths, widths[1:]))\n\n"
          "    def forward(self, x):\n        for i, layer in enumerate(self.convs):\n            x = layer(x)\n"
          "            if i < len(self.convs) - 1:\n                x = torch.relu(x)\n        return x.flatten(1)\n\n"
          "simple_cnn = SimpleCNN()\n"),
    Right("simple_cnn", "flat nn.Sequential of nn.Conv2d and nn.ReLU",
          "simple_cnn = nn.Sequential(\n    nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU(),\n"
          "    nn.Conv2d(4, 8, 3, stride=2, padding=1), nn.ReLU(),\n"
          "    nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),\n"
          "    nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),\n    nn.Conv2d(32, 2, 3, stride=2, padding=1),\n"
          "    nn.Flatten(),\n)\n"),
    Right("simple_cnn", "helpers.models.conv, left in training mode",
          "from helpers.models import conv\nsimple_cnn = nn.Sequential(" + _FIVE + " nn.Flatten()).train()\n"),
    Right("quiz_stride2_size", "the formula written out", "quiz_stride2_size = (9 + 2 * 1 - 3) // 2 + 1"),
    Right("quiz_stride2_size", "measured with a real layer",
          "quiz_stride2_size = nn.Conv2d(8, 16, 3, stride=2, padding=1)(torch.zeros(1, 8, 9, 9)).shape[-1]"),
    Right("quiz_cnn_params", "counted layer by layer",
          "quiz_cnn_params = sum(nf * ni * 9 + nf for ni, nf in [(1, 4), (4, 8), (8, 16), (16, 32), (32, 2)])"),
    Right("quiz_cnn_params", "counted on real layers",
          "quiz_cnn_params = sum(p.numel() for a, b in [(1, 4), (4, 8), (8, 16), (16, 32), (32, 2)]\n"
          "                      for p in nn.Conv2d(a, b, 3, stride=2, padding=1).parameters())"),
    Right("quiz_mult_adds", "positions x filters x one dot product", "quiz_mult_adds = (2 * 2) * 32 * (16 * 3 * 3)"),
    Right("quiz_mult_adds", "an integer tensor", "quiz_mult_adds = torch.tensor(2 * 2 * 32 * 16 * 9)"),
]

NO_ALTERNATIVES: dict[str, str] = {}


# -- the numbers the prose states -----------------------------------------------------------------------

#: The seeds the chapter's claims about variability rest on.
SEEDS = range(10)


def _chapter_models(seed: int):
    """simple_cnn and the linear network, each initialised after ``torch.manual_seed(seed)``, as the chapter
    builds them (the chapter's own run is seed 0)."""
    import torch
    from torch import nn

    from helpers.models import conv

    torch.manual_seed(seed)
    cnn = nn.Sequential(conv(1, 4), conv(4, 8), conv(8, 16), conv(16, 32), conv(32, 2, act=False), nn.Flatten())
    torch.manual_seed(seed)
    linear = nn.Sequential(nn.Flatten(), nn.Linear(28 * 28, 30), nn.ReLU(), nn.Linear(30, 2))
    return cnn, linear


@lru_cache(maxsize=None)
def training_run(seed: int) -> dict[str, float]:
    """One run of the chapter's training (8 epochs, Adam, lr 0.01, batch order from ``seed``) of both models."""
    import torch

    from helpers.train import fit, three_vs_seven

    torch.set_num_threads(1)
    train, valid = three_vs_seven()
    cnn, linear = _chapter_models(seed)
    h = fit(cnn, train, valid, epochs=8, lr=0.01, seed=seed, progress=False)
    hl = fit(linear, train, valid, epochs=8, lr=0.01, seed=seed, progress=False)
    kernels = cnn[0][0].weight.detach()[:, 0]  # the first layer's kernels, [4, 3, 3]
    top_edges = int(((kernels[:, 0].sum(1) < 0) & (kernels[:, -1].sum(1) > 0)).sum())
    return {"cnn_first": h.valid_accuracy[0], "cnn_final": h.valid_accuracy[-1], "linear_final": hl.valid_accuracy[-1],
            "n_valid": len(valid[1]), "top_edge_kernels": top_edges}


def seed_study() -> dict[str, float]:
    """min, mean, max (and the CNN's standard deviation) of the chapter's training over :data:`SEEDS`."""
    import statistics

    runs = [training_run(s) for s in SEEDS]
    out: dict[str, float] = {}
    for key in ("cnn_first", "cnn_final", "linear_final"):
        values = [r[key] for r in runs]
        out |= {f"{key}_min": min(values), f"{key}_max": max(values), f"{key}_mean": statistics.mean(values)}
    out["cnn_final_sd"] = statistics.stdev(r["cnn_final"] for r in runs)
    out["cnn_final_spread_images"] = round((out["cnn_final_max"] - out["cnn_final_min"]) * runs[0]["n_valid"])
    out["mean_gap_images"] = abs(out["cnn_final_mean"] - out["linear_final_mean"]) * runs[0]["n_valid"]
    return out


def _study(key: str) -> str:
    return f"from grader.catalogue.ch04 import seed_study\nvalue = seed_study()[{key!r}]\n"


def _run0(key: str) -> str:
    return f"from grader.catalogue.ch04 import training_run\nvalue = training_run(0)[{key!r}]\n"


_MODELS = """from grader.catalogue.ch04 import _chapter_models
from helpers.models import layer_summary
cnn, linear = _chapter_models(0)
rows = {'cnn': layer_summary(cnn), 'linear': layer_summary(linear)}
params = {k: sum(r.params for r in v) for k, v in rows.items()}
work = {k: sum(r.mult_adds for r in v) for k, v in rows.items()}
convs = [r for r in rows['cnn'] if r.kind == 'Conv2d']
"""

_DATA = "from helpers.train import three_vs_seven\n"

EXACT = 1e-9  # a count, or an accuracy on 200 images, from a deterministic run

CLAIMS: list[Claim] = [
    Claim("`30*1*3*3 + 30 = 300` parameters",
          "value = sum(p.numel() for p in nn.Conv2d(1, 30, kernel_size=3, padding=1).parameters())", 300, 0),
    Claim("The linear layer, with its 23,550 parameters",
          "value = sum(p.numel() for p in nn.Linear(28 * 28, 30).parameters())", 23550, 0),
    Claim("`simple_nn`'s 23,581 parameters",
          "simple_nn = nn.Sequential(nn.Linear(28 * 28, 30), nn.ReLU(), nn.Linear(30, 1))\n"
          "value = sum(p.numel() for p in simple_nn.parameters())", 23581, 0),
    Claim("the whole network has fewer than a third of",
          _MODELS + "value = params['cnn'] / 23581", 0.285, 0.04),
    Claim("and more than three",  # quarters of the parameters in the last two layers
          _MODELS + "value = sum(r.params for r in convs[-2:]) / params['cnn']", 0.776, 0.02),
    Claim("the work per position grows eightfold",
          _MODELS + "value = (convs[1].mult_adds / 49) / (convs[0].mult_adds / 196)",
          8, 0),
    Claim("and the cost doubles", _MODELS + "value = convs[1].mult_adds / convs[0].mult_adds", 2, 0),
    Claim("800 training images", _DATA + "value = len(three_vs_seven()[0][1])", 800, 0),
    Claim("200 validation images", _DATA + "value = len(three_vs_seven()[1][1])", 200, 0),
    Claim("The CNN has less than a third of the parameters", _MODELS + "value = params['cnn'] / params['linear']",
          0.285, 0.04),
    Claim("does more than twice the multiply-adds", _MODELS + "value = work['cnn'] / work['linear']", 2.49, 0.3),
    # the chapter's own run (seed 0)
    Claim("passes 95% after the first epoch", _run0("cnn_first"), 0.955, 0.005),
    Claim("ends at 98.5%", _run0("cnn_final"), 0.985, EXACT),
    Claim("so 3 digits are misclassified",
          "from grader.catalogue.ch04 import training_run\nr = training_run(0)\n"
          "value = round((1 - r['cnn_final']) * r['n_valid'])", 3, 0),
    Claim("has that shape (negative top row, positive bottom row", _run0("top_edge_kernels"), 1, 0),
    # over ten seeds
    Claim("ended anywhere between 66.5%", _study("cnn_first_min"), 0.665, EXACT, seeds=10),
    Claim("and 97%, but the eighth", _study("cnn_first_max"), 0.97, EXACT, seeds=10),
    Claim("the eighth between 96.5%", _study("cnn_final_min"), 0.965, EXACT, seeds=10),
    Claim("and 98.5% (mean", _study("cnn_final_max"), 0.985, EXACT, seeds=10),
    Claim("97.9%, standard deviation", _study("cnn_final_mean"), 0.9785, 0.0005, seeds=10),
    Claim("deviation 0.6 points", _study("cnn_final_sd"), 0.006, 0.0005, seeds=10),
    Claim("between 96.5% and 98.5% (mean 97.9%) and", _study("cnn_final_min"), 0.965, EXACT, seeds=10),
    Claim("98.5% (mean 97.9%) and the linear", _study("cnn_final_max"), 0.985, EXACT, seeds=10),
    Claim("the linear network between 97.5%", _study("linear_final_min"), 0.975, EXACT, seeds=10),
    Claim("and 98% (mean 97.8%)", _study("linear_final_max"), 0.98, EXACT, seeds=10),
    Claim("(mean 97.8%)", _study("linear_final_mean"), 0.978, 0.0005, seeds=10),
    Claim("less than one of the 200 validation images", _study("mean_gap_images"), 0.5, 0.5,
          seeds=10),
    Claim("the CNN by up to four", _study("cnn_final_spread_images"), 4, 0, seeds=10),
]
