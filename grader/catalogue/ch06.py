"""Chapter 6, "Pooling": the mistakes learners make pooling by hand and building a CNN with pooling.

Pooling by hand goes wrong in the count of windows (rounded up, the + 1 forgotten, partial windows
padded with zeros), in where windows start (stride ignored, windows sliced stride-wide), in which axes
are reduced (one maximum over every map) and in the shapes it accepts (2-D or 3-D only). ``pool_cnn``
goes wrong in its form, which the check decides before any training: a model instead of a function, one
model (or one set of layers) shared by every call, pooling where nothing is left to pool, a squashed
output, no non-linearity. Only two wrong answers here are right in form, and they fail on accuracy on
every seed (their best validation accuracy stays at the share of the larger class).
"""

from grader.catalogue import Claim, Right, Wrong

# -- max_pool and avg_pool ------------------------------------------------------------------------

_POOL = """
def {name}(x, size, stride):
    {shape}
    out_h, out_w = {count}
    out = {out}
    for i in range(out_h):
        for j in range(out_w):
            window = x[..., i * {step}:i * {step} + {width}, j * {step}:j * {step} + {width}]
            out[..., i, j] = {reduce}
    return {result}
"""

_FLOOR = "(h - size) // stride + 1, (w - size) // stride + 1"


def _pool(name, reduce, *, shape="h, w = x.shape[-2:]", count=_FLOOR, out="torch.empty(*x.shape[:-2], out_h, out_w)",
          step="stride", width="size", result="out"):
    return _POOL.format(name=name, reduce=reduce, shape=shape, count=count, out=out, step=step, width=width,
                        result=result)


_MAX = "window.amax(dim=(-2, -1))"
_MEAN = "window.mean(dim=(-2, -1))"
_CEIL = "math.ceil((h - size) / stride) + 1, math.ceil((w - size) / stride) + 1"
_ZERO_PADDED = """
def {name}(x, size, stride):
    h, w = x.shape[-2:]
    out_h, out_w = math.ceil((h - size) / stride) + 1, math.ceil((w - size) / stride) + 1
    padded = torch.zeros(*x.shape[:-2], (out_h - 1) * stride + size, (out_w - 1) * stride + size)
    padded[..., :h, :w] = x
    out = torch.empty(*x.shape[:-2], out_h, out_w)
    for i in range(out_h):
        for j in range(out_w):
            out[..., i, j] = padded[..., i * stride:i * stride + size, j * stride:j * stride + size].{reduce}
    return out
"""

WRONG = []
for _name, _reduce, _label in (("max_pool", _MAX, "maximum"), ("avg_pool", _MEAN, "mean")):
    WRONG += [
        Wrong(_name, "partial windows kept (a count rounded up)", _pool(_name, _reduce, count=_CEIL),
              "a window that does not fit entirely is dropped", concept="ceil for floor"),
        Wrong(_name, "partial windows filled up with zeros",
              _ZERO_PADDED.format(name=_name, reduce=_reduce.replace("window.", "")),
              "not filled up with zeros", concept="ceil for floor"),
        Wrong(_name, "stride ignored (the window moves by its size)", _pool(_name, _reduce, step="size",
              count="(h - size) // size + 1, (w - size) // size + 1"), "move the window by `stride`",
              concept="stride ignored"),
        Wrong(_name, "the + 1 forgotten in the count of windows",
              _pool(_name, _reduce, count="(h - size) // stride, (w - size) // stride"), "off by one",
              concept="off by one"),
        Wrong(_name, "windows sliced stride-wide", _pool(_name, _reduce, width="stride"), "each window is size x size",
              concept="window size"),
        Wrong(_name, f"one {_label} over every map's window (window.{_reduce.split('(')[0].split('.')[1]}())",
              _pool(_name, _reduce.replace("(dim=(-2, -1))", "()").replace("amax()", "max()")),
              "over the last two axes only", concept="wrong axis"),
        Wrong(_name, "output built 2-D, one value over every map", _pool(
              _name, _reduce.replace("(dim=(-2, -1))", "()").replace("amax()", "max()"), out="torch.empty(out_h, out_w)")
              .replace("out[..., i, j]", "out[i, j]"), "the output lost the axes in front", concept="wrong axis"),
        Wrong(_name, "2-D maps only (h, w = x.shape)", _pool(_name, _reduce, shape="h, w = x.shape"), "last two axes",
              concept="shape assumed"),
        Wrong(_name, "3-D stacks only (a loop over x[c])", f"""
              def {_name}(x, size, stride):
                  c, h, w = x.shape
                  out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
                  out = torch.empty(c, out_h, out_w)
                  for k in range(c):
                      for i in range(out_h):
                          for j in range(out_w):
                              out[k, i, j] = x[k, i * stride:i * stride + size, j * stride:j * stride + size].{_reduce.replace("window.", "").replace("(dim=(-2, -1))", "()").replace("amax", "max")}
                  return out
              """, "last two axes", concept="shape assumed"),
        Wrong(_name, "PyTorch's own pooling, the shortcut the exercise forbids", f"""
              def {_name}(x, size, stride):
                  flat = x.reshape(-1, 1, *x.shape[-2:])
                  out = F.{_name}2d(flat, size, stride)
                  return out.reshape(*x.shape[:-2], *out.shape[-2:])
              """, "write the two loops", concept="shortcut the exercise forbids"),
        Wrong(_name, "windows from unfold, the shortcut the exercise forbids", f"""
              def {_name}(x, size, stride):
                  windows = x.unfold(-2, size, stride).unfold(-2, size, stride)
                  return windows.{"amax" if _name == "max_pool" else "mean"}(dim=(-2, -1))
              """, "write the two loops", concept="shortcut the exercise forbids"),
        Wrong(_name, "adaptive pooling to the output size, a shortcut the exercise forbids", f"""
              def {_name}(x, size, stride):
                  h, w = x.shape[-2:]
                  flat = x.reshape(-1, 1, h, w)
                  out = F.adaptive_{_name.split('_')[0]}_pool2d(flat, ((h - size) // stride + 1, (w - size) // stride + 1))
                  return out.reshape(*x.shape[:-2], *out.shape[-2:])
              """, "write the two loops", concept="shortcut the exercise forbids"),
        Wrong(_name, "an nn pooling layer, the shortcut the exercise forbids", f"""
              def {_name}(x, size, stride):
                  layer = nn.{"MaxPool2d" if _name == "max_pool" else "AvgPool2d"}(size, stride)
                  out = layer(x.reshape(-1, 1, *x.shape[-2:]))
                  return out.reshape(*x.shape[:-2], *out.shape[-2:])
              """, "write the two loops", concept="shortcut the exercise forbids"),
        Wrong(_name, "NumPy's sliding_window_view, a shortcut the exercise forbids", f"""
              from numpy.lib.stride_tricks import sliding_window_view

              def {_name}(x, size, stride):
                  win = sliding_window_view(x, (size, size), axis=(-2, -1))[..., ::stride, ::stride, :, :]
                  return torch.from_numpy(win.{"max" if _name == "max_pool" else "mean"}((-1, -2)))
              """, "write the two loops", concept="shortcut the exercise forbids"),
        Wrong(_name, "a NumPy array returned", _pool(_name, _reduce, result="out.numpy()"), "return a torch tensor",
              concept="wrong return type"),
    ]

WRONG += [
    Wrong("max_pool", "the maximum started at 0", _pool("max_pool", "torch.clamp(window.amax(dim=(-2, -1)), min=0)"),
          "start the maximum from the window's own values", concept="wrong initial value"),
    Wrong("avg_pool", "the sum of each window", _pool("avg_pool", "window.sum(dim=(-2, -1))"), "that is the sum",
          concept="forgot to divide"),
    Wrong("avg_pool", "divided by size, not size * size", _pool("avg_pool", "window.sum(dim=(-2, -1)) / size"),
          "not by size", concept="wrong divisor"),
    Wrong("avg_pool", "`//` for `/`", _pool("avg_pool", "window.sum(dim=(-2, -1)) // (size * size)"),
          "`//` rounds the mean down", concept="/ instead of //"),
    Wrong("avg_pool", "max_pool's code kept (the maximum)", _pool("avg_pool", _MAX), "that is the maximum",
          concept="wrong reduction"),
]

# -- pool_cnn ---------------------------------------------------------------------------------------

_BODY = """
    nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
    nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(),
    nn.AdaptiveAvgPool2d(1), nn.Flatten()"""


def _cnn(*tail, body=_BODY, before=""):
    layers = ", ".join(tail)
    return f"{before}\ndef pool_cnn():\n    return nn.Sequential({body}, {layers})\n"


_STRIDED = """
    nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(), nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU()"""

WRONG += [
    Wrong("pool_cnn", "a model instead of a function that builds one",
          f"pool_cnn = nn.Sequential({_BODY}, nn.Linear(32, 2))", "return the model from inside it",
          concept="a model where a factory is asked"),
    Wrong("pool_cnn", "the return forgotten (the function returns None)", f"""
def pool_cnn():
    model = nn.Sequential({_BODY}, nn.Linear(32, 2))
""", "end the function with `return", concept="wrong return type"),
    Wrong("pool_cnn", "one global model returned by every call", f"""
_model = nn.Sequential({_BODY}, nn.Linear(32, 2))

def pool_cnn():
    return _model
""", "build the model inside the function", concept="a factory that returns the same object"),
    Wrong("pool_cnn", "a new Sequential around layers made once, outside", f"""
_layers = [{_BODY}, nn.Linear(32, 2)]

def pool_cnn():
    return nn.Sequential(*_layers)
""", "layers created once outside the function", concept="a factory that returns the same object"),
    Wrong("pool_cnn", "no pooling layer (stride-2 convolutions only)",
          _cnn("nn.Conv2d(32, 2, 3, stride=2, padding=1)", "nn.Flatten()", body=_STRIDED),
          "put nn.MaxPool2d(2) after a convolution", concept="no pooling"),
    Wrong("pool_cnn", "pooling only a 2x2 map", _cnn("nn.MaxPool2d(2)", "nn.Flatten()", "nn.Linear(32, 2)", body=_STRIDED),
          "pool early", concept="pooling too late"),
    Wrong("pool_cnn", "global average pooling of a 1x1 map",
          _cnn("nn.Conv2d(32, 2, 3, stride=2, padding=1)", "nn.AdaptiveAvgPool2d(1)", "nn.Flatten()",
               body=_STRIDED), "pool early", concept="pooling too late"),
    Wrong("pool_cnn", "a ReLU after the final Linear", _cnn("nn.Linear(32, 2)", "nn.ReLU()"),
          "remove the activation after the last", concept="squashed output"),
    Wrong("pool_cnn", "a softmax after the final Linear (a double softmax with the loss)",
          _cnn("nn.Linear(32, 2)", "nn.Softmax(dim=1)"), "remove the activation after the last",
          concept="squashed output"),
    Wrong("pool_cnn", "a sigmoid output", _cnn("nn.Linear(32, 2)", "nn.Sigmoid()"),
          "remove the activation after the last", concept="squashed output"),
    Wrong("pool_cnn", "one output score", _cnn("nn.Linear(32, 1)"), "a layer with 2 outputs", concept="wrong shape"),
    Wrong("pool_cnn", "squeeze() at the end (a batch of one loses its axis)", """
          class Squeeze(nn.Module):
              def forward(self, x):
                  return x.squeeze()

          def pool_cnn():
              return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(8, 2, 3, padding=1), nn.AdaptiveAvgPool2d(1), Squeeze())
          """, "no squeeze()", concept="wrong shape"),
    Wrong("pool_cnn", "a large Linear layer fed by a 14x14 map (over 100,000 parameters)", """
          def pool_cnn():
              return nn.Sequential(nn.Conv2d(1, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                                   nn.Linear(64 * 196, 64), nn.ReLU(), nn.Linear(64, 2))
          """, "most parameters sit in an nn.Linear", concept="too many parameters"),
    Wrong("pool_cnn", "1x1 convolutions only", """
          def pool_cnn():
              return nn.Sequential(nn.Conv2d(1, 8, 1), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(8, 16, 1), nn.ReLU(),
                                   nn.MaxPool2d(2), nn.Flatten(), nn.Linear(16 * 49, 2))
          """, "compares each pixel with its neighbours", concept="no spatial kernel"),
    Wrong("pool_cnn", "no convolution (pooling and a Linear layer)", """
          def pool_cnn():
              return nn.Sequential(nn.MaxPool2d(2), nn.Flatten(), nn.Linear(196, 2))
          """, "start with nn.Conv2d(1, ...)", concept="no convolution"),
    Wrong("pool_cnn", "no ReLU, average pooling only (a linear model)", """
          def pool_cnn():
              return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.AvgPool2d(2), nn.Conv2d(8, 16, 3, padding=1),
                                   nn.AvgPool2d(2), nn.Conv2d(16, 32, 3, padding=1), nn.AdaptiveAvgPool2d(1),
                                   nn.Flatten(), nn.Linear(32, 2))
          """, "put a ReLU after each convolution", concept="a model that is linear"),
    Wrong("pool_cnn", "three input channels, as for colour images",
          _cnn("nn.Linear(32, 2)", body=_BODY.replace("nn.Conv2d(1, 8", "nn.Conv2d(3, 8")),
          "the images have one channel", concept="wrong input channels"),
    Wrong("pool_cnn", "nn.Flatten() forgotten before the Linear layer",
          _cnn("nn.Linear(32, 2)", body=_BODY.replace(", nn.Flatten()", "")), "does not match its in_features",
          concept="wrong shape"),
    Wrong("pool_cnn", "nn.Dropout(1.0) meant as 'keep everything' (p is the share dropped)",
          _cnn("nn.Dropout(1.0)", "nn.Linear(32, 2)"), "dropout's p is the share of values *dropped*",
          concept="a model that cannot learn"),
    Wrong("pool_cnn", "every weight and bias set to zero to start 'clean'", f"""
def pool_cnn():
    model = nn.Sequential({_BODY}, nn.Linear(32, 2))
    for p in model.parameters():
        nn.init.zeros_(p)
    return model
""", "weights that all start at zero never get a gradient", concept="a model that cannot learn"),
]

WRONG += [
    Wrong("pool_cnn", "the image pooled to one pixel before any convolution (global max pooling first)", """
          def pool_cnn():
              return nn.Sequential(nn.AdaptiveMaxPool2d(1), nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),
                                   nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.Flatten(), nn.Linear(16, 2))
          """, "learned too little", concept="a model that cannot learn"),
]

# -- the review quiz -----------------------------------------------------------------------------------

WRONG += [
    Wrong("quiz_pool_size", "partial windows kept (ceil_mode)", "quiz_pool_size = (7 - 1, 6 - 1)",
          "a window that does not fit entirely is dropped", concept="ceil for floor"),
    Wrong("quiz_pool_size", "the window moved by its size", "quiz_pool_size = ((13 - 3) // 3 + 1, (10 - 3) // 3 + 1)",
          "not by 3", concept="stride ignored"),
    Wrong("quiz_pool_size", "the window moved by 1", "quiz_pool_size = (13 - 3 + 1, 10 - 3 + 1)", "not by 1",
          concept="stride ignored"),
    Wrong("quiz_pool_size", "the + 1 forgotten", "quiz_pool_size = ((13 - 3) // 2, (10 - 3) // 2)", "off by one",
          concept="off by one"),
    Wrong("quiz_pool_size", "width first", "quiz_pool_size = ((10 - 3) // 2 + 1, (13 - 3) // 2 + 1)", "height first",
          concept="wrong axis"),
    Wrong("quiz_pool_size", "a list", "quiz_pool_size = [(13 - 3) // 2 + 1, (10 - 3) // 2 + 1]", "not a list",
          concept="wrong return type"),
    Wrong("quiz_pool_size", "floats from /", "quiz_pool_size = ((13 - 3) / 2 + 1, (10 - 3) // 2 + 1.0)",
          "give ints", concept="/ instead of //"),
    Wrong("quiz_pool_params", "a 2x2 kernel per layer", "quiz_pool_params = 2 * 2 * 2", "as if pooling learned weights",
          concept="pooling has weights"),
    Wrong("quiz_pool_params", "a 2x2 kernel and a bias per layer", "quiz_pool_params = 2 * (2 * 2 + 1)",
          "a 2x2 kernel and a bias", concept="pooling has weights"),
    Wrong("quiz_pool_params", "the values of one window", "quiz_pool_params = 2 * 2", "the layer's input",
          concept="pooling has weights"),
    Wrong("quiz_pool_params", "a bias per layer", "quiz_pool_params = 2", "a bias for each layer",
          concept="pooling has weights"),
    Wrong("quiz_pool_params", "layers counted, not values", "quiz_pool_params = 1", "both layers together",
          concept="wrong quantity"),
    Wrong("quiz_pool_params", "a float", "quiz_pool_params = 0.0", "give an int", concept="wrong return type"),
    Wrong("quiz_gap_shape", "flattened", "quiz_gap_shape = (64, 32)", "does not flatten", concept="wrong shape"),
    Wrong("quiz_gap_shape", "channels averaged together", "quiz_gap_shape = (64, 1, 1, 1)", "never mixes channels",
          concept="wrong axis"),
    Wrong("quiz_gap_shape", "the 1 read as a window size", "quiz_gap_shape = (64, 32, 7, 7)", "pooled *to*",
          concept="wrong shape"),
    Wrong("quiz_gap_shape", "the batch pooled too", "quiz_gap_shape = (1, 32, 1, 1)", "pooled on its own",
          concept="wrong axis"),
    Wrong("quiz_gap_shape", "the batch axis dropped", "quiz_gap_shape = (32, 1, 1)", "batch axis stays",
          concept="wrong shape"),
    Wrong("quiz_gap_shape", "a list", "quiz_gap_shape = [64, 32, 1, 1]", "not a list", concept="wrong return type"),
    # answers a by-hand exercise refuses: its tensors are turned into NumPy arrays
    Wrong("avg_pool", "NumPy loops, sum divided by size * size", """
          def avg_pool(x, size, stride):
              a = x.numpy()
              h, w = a.shape[-2:]
              out = np.zeros(a.shape[:-2] + ((h - size) // stride + 1, (w - size) // stride + 1), dtype=a.dtype)
              for i in range(out.shape[-2]):
                  for j in range(out.shape[-1]):
                      out[..., i, j] = a[..., i * stride:i * stride + size, j * stride:j * stride + size].sum((-1, -2))
              return torch.from_numpy(out / (size * size))
          """, "keep the tensors as they are", concept="NumPy instead of torch"),
]

# -- correct alternatives --------------------------------------------------------------------------------

_WINDOWS = """
def _windows(x, size, stride):
    h, w = x.shape[-2:]
    rows = [x[..., i:i + size, :] for i in range(0, h - size + 1, stride)]
    grid = [[r[..., j:j + size] for j in range(0, w - size + 1, stride)] for r in rows]
    return torch.stack([torch.stack(row, dim=-3) for row in grid], dim=-4)
"""

RIGHT = [
    Right("max_pool", "every window stacked from slices, then one amax", _WINDOWS + """
def max_pool(x, size, stride):
    return _windows(x, size, stride).flatten(-2).max(dim=-1).values
"""),
    Right("max_pool", "columns in the outer loop, torch.max over a flattened window, zeros to start", """
          def max_pool(x, size, stride):
              h, w = x.shape[-2:]
              rows, cols = range(0, h - size + 1, stride), range(0, w - size + 1, stride)
              out = torch.zeros(*x.shape[:-2], len(rows), len(cols), dtype=x.dtype)
              for j, c in enumerate(cols):
                  for i, r in enumerate(rows):
                      out[..., i, j] = torch.max(x[..., r:r + size, c:c + size].flatten(-2), dim=-1).values
              return out
          """),
    Right("max_pool", "the maximum of size * size shifted views, one per position of the window", """
          def max_pool(x, size, stride):
              h, w = x.shape[-2:]
              out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
              views = [x[..., a:a + (out_h - 1) * stride + 1:stride, b:b + (out_w - 1) * stride + 1:stride]
                       for a in range(size) for b in range(size)]
              return torch.stack(views).amax(dim=0)
          """),
    Right("avg_pool", "the mean of size * size shifted views", """
          def avg_pool(x, size, stride):
              h, w = x.shape[-2:]
              out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
              total = 0
              for a in range(size):
                  for b in range(size):
                      total = total + x[..., a:a + (out_h - 1) * stride + 1:stride, b:b + (out_w - 1) * stride + 1:stride]
              return total / (size * size)
          """),
    Right("avg_pool", "computed in float64, returned as the input's dtype", """
          def avg_pool(x, size, stride):
              h, w = x.shape[-2:]
              out_h, out_w = (h - size) // stride + 1, (w - size) // stride + 1
              out = torch.empty(*x.shape[:-2], out_h, out_w, dtype=torch.float64)
              for i in range(out_h):
                  for j in range(out_w):
                      out[..., i, j] = x[..., i * stride:i * stride + size, j * stride:j * stride + size].double().mean(dim=(-2, -1))
              return out.to(x.dtype)
          """),
    Right("pool_cnn", "stride-2 convolutions around one max pooling of a 14x14 map", """
          def pool_cnn():
              return nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),
                                   nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
                                   nn.Conv2d(32, 2, 3, stride=2, padding=1), nn.AdaptiveAvgPool2d(1), nn.Flatten())
          """),
    Right("pool_cnn", "LeNet-like: two conv + max-pool blocks, then linear layers on the 7x7 maps", """
          class PoolCNN(nn.Module):
              def __init__(self):
                  super().__init__()
                  self.features = nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
                                                nn.Conv2d(6, 16, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2))
                  self.head = nn.Sequential(nn.Flatten(), nn.Linear(16 * 7 * 7, 32), nn.ReLU(), nn.Linear(32, 2))

              def forward(self, x):
                  return self.head(self.features(x))

          def pool_cnn():
              return PoolCNN()
          """),
    Right("pool_cnn", "batch norm after each convolution, and BatchNorm1d on the scores", """
          def pool_cnn():
              return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(8, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2),
                                   nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                                   nn.Flatten(), nn.Linear(32, 2), nn.BatchNorm1d(2))
          """),
    Right("quiz_pool_size", "the formula written out", "quiz_pool_size = ((13 - 3) // 2 + 1, (10 - 3) // 2 + 1)"),
    Right("quiz_pool_size", "a torch.Size measured on a real layer",
          "quiz_pool_size = nn.MaxPool2d(3, stride=2)(torch.zeros(1, 1, 13, 10)).shape[-2:]"),
    Right("quiz_pool_params", "counted on the layers",
          "quiz_pool_params = sum(p.numel() for layer in (nn.MaxPool2d(2), nn.AvgPool2d(2)) for p in layer.parameters())"),
    Right("quiz_pool_params", "a 0-d integer tensor", "quiz_pool_params = torch.tensor(0)"),
    Right("quiz_gap_shape", "a torch.Size measured on a real layer",
          "quiz_gap_shape = nn.AdaptiveAvgPool2d(1)(torch.zeros(64, 32, 7, 7)).shape"),
    Right("quiz_gap_shape", "the tuple built from the input's shape", "quiz_gap_shape = (64, 32) + (1, 1)"),
]

NO_ALTERNATIVES: dict[str, str] = {}



def pool_cnn_solution() -> "nn.Module":
    """The chapter's pool_cnn, as its solution writes it (the claims below measure it)."""
    from torch import nn

    return nn.Sequential(
        nn.Conv2d(1, 8, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, kernel_size=3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 32, kernel_size=3, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 2))


#: The seeds the prose's claims about training rest on.
CLAIM_SEEDS = range(10)
SHIFTS = (0, 1, 2, 3)


def _seed_runs() -> list[dict]:
    """For each of CLAIM_SEEDS, as the chapter trains them: pool_cnn's validation accuracy after each of 8 epochs,
    and the validation accuracy of pool_cnn and of chapter 4's simple_cnn on digits shifted by 0 to 3 pixels."""
    import torch

    from helpers.models import trained_simple_cnn
    from helpers.train import evaluate, fit, three_vs_seven

    train, (valid_x, valid_y) = three_vs_seven()
    runs = []
    for seed in CLAIM_SEEDS:
        torch.manual_seed(seed)
        model = pool_cnn_solution()
        history = fit(model, train, (valid_x, valid_y), epochs=8, lr=0.01, seed=seed, progress=False)
        shifted = {name: [evaluate(net, torch.roll(valid_x, shifts=(s, s), dims=(2, 3)), valid_y)[1] for s in SHIFTS]
                   for name, net in (("pool", model), ("simple", trained_simple_cnn(seed=seed)))}
        runs.append({"epochs": list(history.valid_accuracy), **shifted})
    return runs


_runs_cache: list = []


def seed_runs() -> list[dict]:
    """:func:`_seed_runs`, computed once per process (several claims read it)."""
    if not _runs_cache:
        _runs_cache.extend(_seed_runs())
    return _runs_cache


_RUNS = "from grader.catalogue.ch06 import seed_runs\nfrom statistics import mean\nruns = seed_runs()\n"
_SUMMARY = """
from helpers.models import layer_summary
def cost(net):
    rows = layer_summary(net)
    return sum(r.params for r in rows), sum(r.mult_adds for r in rows)
"""

#: Numbers the prose states that a run produces (the printed tables are stored outputs that nbval compares).
CLAIMS = [
    Claim("the same 40 parameters", _SUMMARY + "value = cost(nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), "
          "nn.ReLU()))[0]", 40, 0),
    Claim("28,224 multiply-adds", _SUMMARY + "value = cost(nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), "
          "nn.MaxPool2d(2)))[1]", 28224, 0),
    Claim("7,056", _SUMMARY + "value = cost(nn.Sequential(nn.Conv2d(1, 4, 3, stride=2, padding=1), nn.ReLU()))[1]",
          7056, 0),
    Claim("about nine times as costly per image", _SUMMARY + "from helpers.models import simple_cnn\n"
          "from grader.catalogue.ch06 import pool_cnn_solution\n"
          "value = cost(pool_cnn_solution())[1] / cost(simple_cnn())[1]", 9.0, 1.0),
    # Over CLAIM_SEEDS (measured 2026-12-07: the spread the prose states is the one printed here)
    Claim("about a point below it", _RUNS + "value = mean(r['simple'][0] - r['epochs'][-1] for r in runs)",
          0.011, 0.01, seeds=10),
    Claim("by a point or two from one epoch to the next",
          _RUNS + "value = mean(abs(r['epochs'][-1] - r['epochs'][-2]) for r in runs)", 0.015, 0.01, seeds=10),
    Claim("about a quarter of its accuracy",
          _RUNS + "value = mean((r['simple'][0] - r['simple'][2]) / r['simple'][0] for r in runs)", 0.255, 0.06,
          seeds=10),
    Claim("loses 10 points on average", _RUNS + "value = mean(r['pool'][0] - r['pool'][3] for r in runs)",
          0.105, 0.04, seeds=10),
    Claim("falls to 33% on average", _RUNS + "value = mean(r['simple'][3] for r in runs)", 0.33, 0.05, seeds=10),
    Claim("worse than a coin on every random seed", _RUNS + "value = max(r['simple'][3] for r in runs)", 0.41, 0.09,
          seeds=10),
]
