"""Chapter 9, "Deeper networks that still train": the mistakes learners make, and other correct answers.

The wrong answers are those of a first gradient written by hand: the update that climbs the loss, a summed
loss with an averaged loss's step, a flipped kernel, one update instead of many, forward differences,
2 eps forgotten, a nudge never undone, absolute errors for relative ones; an initialisation with fan_out,
LeCun's or Glorot's variance, a variance used as a standard deviation, uniform or uncentred draws; batch
norm's backward with a path forgotten, the unbiased variance, no eps, statistics over the wrong axes, the
one-value-per-channel batch not refused, autograd or F.batch_norm used; residual blocks without their
shortcut, with the ReLU before the addition, projections where none is needed or 3x3 ones, biases before
batch norm, no batch norm, a shared module; residual networks that are plain stacks, add no shortcut,
share one model or its blocks, squash their scores, hide their blocks in a Python list or freeze them; and
the quiz's miscounts.
"""

from . import Claim, Right, Wrong

# -- learn_kernel -------------------------------------------------------------------------------------

#: The chapter's solution, by the loops of chapter 1 (the template the mistakes are written from).
LEARN_KERNEL = """
def learn_kernel(images, targets, ks, steps, lr):
    n, h, w = images.shape
    oh, ow = h - ks + 1, w - ks + 1
    kernel = torch.zeros(ks, ks)
    for _ in range(steps):
        pred = torch.zeros(n, oh, ow)
        for u in range(ks):
            for v in range(ks):
                pred += kernel[u, v] * images[:, u:u + oh, v:v + ow]
        err = pred - targets
        grad = torch.zeros(ks, ks)
        for u in range(ks):
            for v in range(ks):
                grad[u, v] = 2 * (err * images[:, u:u + oh, v:v + ow]).mean()
        kernel = kernel - lr * grad
    return kernel
"""


def _lk(old: str, new: str) -> str:
    assert old in LEARN_KERNEL, old
    return LEARN_KERNEL.replace(old, new)


_LK_DIVERGED = "the kernel diverged"

WRONG = [
    Wrong("learn_kernel", "the update climbs the loss (+= the gradient)",
          _lk("kernel = kernel - lr * grad", "kernel = kernel + lr * grad"), hint=_LK_DIVERGED,
          concept="gradient ascent"),
    Wrong("learn_kernel", "the error's sign flipped and the update added",
          _lk("err = pred - targets", "err = targets - pred").replace("kernel - lr * grad", "kernel + lr * grad")
          .replace("grad[u, v] = 2 *", "grad[u, v] = -2 *"), hint=_LK_DIVERGED, concept="gradient ascent"),
    Wrong("learn_kernel", "a summed loss with the averaged loss's learning rate",
          _lk(").mean()", ").sum()"), hint=_LK_DIVERGED, concept="sum for mean"),
    Wrong("learn_kernel", "the loss averaged over images but summed over positions",
          _lk(").mean()", ").sum() / n"), hint=_LK_DIVERGED, concept="sum for mean"),
    Wrong("learn_kernel", "the kernel flipped in the prediction (a true convolution)",
          _lk("pred += kernel[u, v] *", "pred += kernel[ks - 1 - u, ks - 1 - v] *")
          .replace("grad[u, v] = 2", "grad[ks - 1 - u, ks - 1 - v] = 2"), hint="turned by 180 degrees",
          concept="flipped kernel"),
    Wrong("learn_kernel", "the gradient from the first image only",
          _lk("grad[u, v] = 2 * (err * images[:, u:u + oh, v:v + ow]).mean()",
              "grad[u, v] = 2 * (err[0] * images[0, u:u + oh, v:v + ow]).mean()"), hint="only the first image",
          concept="part of the batch"),
    Wrong("learn_kernel", "the update outside the loop (one step)",
          _lk("        kernel = kernel - lr * grad\n", "    kernel = kernel - lr * grad\n")
          .replace("for _ in range(steps):", "for _ in range(1):"), hint="a single update",
          concept="one step"),
    Wrong("learn_kernel", "a 3x3 kernel assumed",
          LEARN_KERNEL.replace("def learn_kernel(images, targets, ks, steps, lr):",
                               "def learn_kernel(images, targets, ks, steps, lr):\n    ks = 3"),
          hint="use ks from the arguments", hidden_only="the visible cases all learn 3x3 kernels",
          concept="size assumed"),
    Wrong("learn_kernel", "autograd for the gradient",
          """
          def learn_kernel(images, targets, ks, steps, lr):
              kernel = torch.zeros(ks, ks, requires_grad=True)
              for _ in range(steps):
                  loss = ((F.conv2d(images[:, None], kernel[None, None])[:, 0] - targets) ** 2).mean()
                  loss.backward()
                  with torch.no_grad():
                      kernel -= lr * kernel.grad
                  kernel.grad = None
              return kernel.detach()
          """, hint="no requires_grad, no backward()", concept="autograd used"),
    Wrong("learn_kernel", "the loss returned instead of the kernel",
          _lk("    return kernel\n", "    return ((pred - targets) ** 2).mean()\n"), hint=None,
          concept="wrong result"),
]

RIGHT = [
    Right("learn_kernel", "F.conv2d for the prediction and the gradient, float64",
          """
          def learn_kernel(images, targets, ks, steps, lr):
              x = images.double()[:, None]
              kernel = torch.zeros(1, 1, ks, ks, dtype=torch.float64)
              for _ in range(steps):
                  err = F.conv2d(x, kernel) - targets.double()[:, None]
                  grad = 2 * F.conv2d(x.transpose(0, 1), err.transpose(0, 1)) / err.numel()
                  kernel -= lr * grad
              return kernel[0, 0]
          """),
    Right("learn_kernel", "a random start, the gradient without the factor 2, more steps",
          _lk("kernel = torch.zeros(ks, ks)", "kernel = 0.1 * torch.randn(ks, ks)")
          .replace("grad[u, v] = 2 *", "grad[u, v] =").replace("range(steps)", "range(2 * steps)")),
]

# -- kaiming_init ---------------------------------------------------------------------------------------

WRONG += [
    Wrong("kaiming_init", "fan_out instead of fan_in",
          "def kaiming_init(shape):\n    return torch.randn(shape) * math.sqrt(2 / (shape[0] * math.prod(shape[2:])))",
          hint="not the output channels", concept="fan_out for fan_in"),
    Wrong("kaiming_init", "LeCun's 1 / fan_in",
          "def kaiming_init(shape):\n    return torch.randn(shape) * math.sqrt(1 / math.prod(shape[1:]))",
          hint="twice LeCun's", concept="ReLU factor 2 forgotten"),
    Wrong("kaiming_init", "the variance used as the standard deviation",
          "def kaiming_init(shape):\n    return torch.randn(shape) * (2 / math.prod(shape[1:]))",
          hint="its square root", concept="variance for std"),
    Wrong("kaiming_init", "torch.rand, not centred",
          "def kaiming_init(shape):\n    return torch.rand(shape) * math.sqrt(2 / math.prod(shape[1:]))",
          hint="torch.rand is uniform on [0, 1)", concept="uncentred"),
    Wrong("kaiming_init", "uniform with the normal's standard deviation as bound",
          "def kaiming_init(shape):\n    b = math.sqrt(2 / math.prod(shape[1:]))\n"
          "    return (2 * torch.rand(shape) - 1) * b", hint="variance b**2 / 3", concept="uniform bound"),
    Wrong("kaiming_init", "Glorot's 2 / (fan_in + fan_out)",
          "def kaiming_init(shape):\n    fan_in = math.prod(shape[1:])\n    fan_out = shape[0] * math.prod(shape[2:])\n"
          "    return torch.randn(shape) * math.sqrt(2 / (fan_in + fan_out))", hint="Glorot", concept="Glorot"),
    Wrong("kaiming_init", "fan_in without the kernel's size",
          "def kaiming_init(shape):\n    return torch.randn(shape) * math.sqrt(2 / shape[1])",
          hint="includes the kernel's size", concept="fan_in miscounted"),
    Wrong("kaiming_init", "the shape's sum for fan_in",
          "def kaiming_init(shape):\n    return torch.randn(shape) * math.sqrt(2 / sum(shape[1:]))", hint=None,
          concept="fan_in miscounted"),
    Wrong("kaiming_init", "integer weights",
          "def kaiming_init(shape):\n    return (torch.randn(shape) * math.sqrt(2 / math.prod(shape[1:]))).long()",
          hint=None, concept="dtype"),    Wrong("kaiming_init", "PyTorch's initialiser in fan_out mode",
          "def kaiming_init(shape):\n    w = torch.empty(shape)\n"
          "    nn.init.kaiming_normal_(w, mode='fan_out', nonlinearity='relu')\n    return w",
          hint="not the output channels", concept="fan_out for fan_in"),
    Wrong("kaiming_init", "PyTorch's initialiser told the layer is linear",
          "def kaiming_init(shape):\n    w = torch.empty(shape)\n"
          "    nn.init.kaiming_normal_(w, nonlinearity='linear')\n    return w",
          hint="twice LeCun's", concept="ReLU factor 2 forgotten"),
]

RIGHT += [
    Right("kaiming_init", "nn.init.kaiming_normal_ on an empty tensor",
          "def kaiming_init(shape):\n    w = torch.empty(shape)\n"
          "    nn.init.kaiming_normal_(w, nonlinearity='relu')\n    return w"),
    Right("kaiming_init", "normal_ with a NumPy standard deviation, float64",
          "def kaiming_init(shape):\n    std = np.sqrt(2.0 / np.prod(shape[1:]))\n"
          "    return torch.empty(shape, dtype=torch.float64).normal_(0, float(std))"),
    Right("kaiming_init", "uniform with the bound widened by sqrt(3)",
          "def kaiming_init(shape):\n    b = math.sqrt(6 / math.prod(shape[1:]))\n"
          "    return torch.empty(shape).uniform_(-b, b)"),
]

# -- grad_check ----------------------------------------------------------------------------------------

GRAD_CHECK = """
def grad_check(f, x, grad, eps=1e-6):
    numeric = torch.zeros_like(x)
    flat, out = x.reshape(-1), numeric.reshape(-1)
    for i in range(flat.numel()):
        old = flat[i].item()
        flat[i] = old + eps
        up = float(f(x))
        flat[i] = old - eps
        down = float(f(x))
        flat[i] = old
        out[i] = (up - down) / (2 * eps)
    error = (numeric - grad).norm() / (numeric.norm() + grad.norm())
    return numeric, float(error)
"""


def _gc(old: str, new: str) -> str:
    assert old in GRAD_CHECK, old
    return GRAD_CHECK.replace(old, new)


WRONG += [
    Wrong("grad_check", "a forward difference",
          _gc("        flat[i] = old - eps\n        down = float(f(x))\n", "        flat[i] = old\n"
              "        down = float(f(x))\n").replace("(up - down) / (2 * eps)", "(up - down) / eps"),
          hint="forward difference", concept="forward difference"),
    Wrong("grad_check", "divided by eps, not 2 eps", _gc("/ (2 * eps)", "/ eps"), hint="2 eps apart",
          concept="step miscounted"),
    Wrong("grad_check", "the nudged entry never put back",
          _gc("        flat[i] = old - eps\n", "        flat[i] = flat[i] - 2 * eps\n")
          .replace("        flat[i] = old\n", ""), hint="put each entry back", concept="state not restored"),
    Wrong("grad_check", "an absolute error", _gc("(numeric - grad).norm() / (numeric.norm() + grad.norm())",
                                                 "(numeric - grad).norm()"),
          hint="an absolute difference", concept="absolute for relative"),
    Wrong("grad_check", "divided by the numeric gradient's norm only",
          _gc("(numeric.norm() + grad.norm())", "numeric.norm()"), hint="the sum of both norms",
          concept="relative error's denominator"),
    Wrong("grad_check", "the largest entries instead of norms",
          _gc("(numeric - grad).norm() / (numeric.norm() + grad.norm())",
              "(numeric - grad).abs().max() / (numeric.abs().max() + grad.abs().max())"),
          hint="Euclidean norms", concept="relative error's norm"),
    Wrong("grad_check", "only the relative error returned", _gc("return numeric, float(error)", "return float(error)"),
          hint=None, concept="wrong result"),
    Wrong("grad_check", "copies nudged, but f called on x",
          _gc("        flat[i] = old + eps\n        up = float(f(x))\n        flat[i] = old - eps\n"
              "        down = float(f(x))\n        flat[i] = old\n",
              "        up_x, down_x = x.clone(), x.clone()\n        up_x.reshape(-1)[i] += eps\n"
              "        down_x.reshape(-1)[i] -= eps\n        up, down = float(f(x)), float(f(x))\n"),
          hint="nudge x itself", concept="copy for view"),
    Wrong("grad_check", "divided by the analytic gradient's norm only",
          _gc("(numeric.norm() + grad.norm())", "grad.norm()"), hint="the sum of both norms",
          concept="relative error's denominator"),
    Wrong("grad_check", "a copy nudged, so f never sees the change",
          _gc("flat, out = x.reshape(-1), numeric.reshape(-1)", "flat, out = x.reshape(-1).clone(), numeric.reshape(-1)"),
          hint="nudge x itself", concept="copy for view"),
]

RIGHT += [
    Right("grad_check", "x copied and each nudge made on a fresh copy, NumPy scalar error",
          """
          def grad_check(f, x, grad, eps=1e-6):
              numeric = torch.zeros_like(x)
              for index in np.ndindex(*x.shape):
                  up, down = x.clone(), x.clone()
                  up[index] += eps
                  down[index] -= eps
                  numeric[index] = (f(up) - f(down)) / (2 * eps)
              diff = np.linalg.norm((numeric - grad).numpy())
              return numeric, diff / (np.linalg.norm(numeric.numpy()) + np.linalg.norm(grad.numpy()))
          """),
    Right("grad_check", "a 0-d tensor for the error, torch.linalg.norm",
          _gc("    return numeric, float(error)", "    return numeric, error")
          .replace("(numeric - grad).norm() / (numeric.norm() + grad.norm())",
                   "torch.linalg.norm(numeric - grad) / (torch.linalg.norm(numeric) + torch.linalg.norm(grad))")),
]

# -- batchnorm_backward ---------------------------------------------------------------------------------

BATCHNORM_BACKWARD = """
def batchnorm_backward(dout, x, gamma, eps=1e-5):
    m = x.shape[0] * x.shape[2] * x.shape[3]
    if m == 1:
        raise ValueError("one value per channel: batch norm cannot normalise it")
    dims = (0, 2, 3)
    mean = x.mean(dims, keepdim=True)
    var = ((x - mean) ** 2).mean(dims, keepdim=True)
    std = torch.sqrt(var + eps)
    x_hat = (x - mean) / std
    dbeta = dout.sum(dims)
    dgamma = (dout * x_hat).sum(dims)
    dx_hat = dout * gamma[None, :, None, None]
    dx = (dx_hat - dx_hat.mean(dims, keepdim=True) - x_hat * (dx_hat * x_hat).mean(dims, keepdim=True)) / std
    return dx, dgamma, dbeta
"""


def _bn(old: str, new: str) -> str:
    assert old in BATCHNORM_BACKWARD, old
    return BATCHNORM_BACKWARD.replace(old, new)


_BN_DX = "(dx_hat - dx_hat.mean(dims, keepdim=True) - x_hat * (dx_hat * x_hat).mean(dims, keepdim=True)) / std"

WRONG += [
    Wrong("batchnorm_backward", "dx through x_hat only", _bn(_BN_DX, "dx_hat / std"), hint="three parts",
          concept="path forgotten"),
    Wrong("batchnorm_backward", "the variance's path forgotten",
          _bn(_BN_DX, "(dx_hat - dx_hat.mean(dims, keepdim=True)) / std"), hint="through the variance",
          concept="path forgotten"),
    Wrong("batchnorm_backward", "the mean's path forgotten",
          _bn(_BN_DX, "(dx_hat - x_hat * (dx_hat * x_hat).mean(dims, keepdim=True)) / std"),
          hint="through the mean", concept="path forgotten"),
    Wrong("batchnorm_backward", "dgamma without x_hat", _bn("(dout * x_hat).sum(dims)", "dout.sum(dims)"),
          hint="dgamma is the sum of dout * x_hat", concept="product rule"),
    Wrong("batchnorm_backward", "the unbiased variance",
          _bn("var = ((x - mean) ** 2).mean(dims, keepdim=True)", "var = x.var(dims, keepdim=True)"),
          hint="biased variance", concept="N-1 for N"),
    Wrong("batchnorm_backward", "no eps", _bn("torch.sqrt(var + eps)", "torch.sqrt(var)"),
          hint="add eps inside the square root", hidden_only="only a channel of tiny variance shows eps; the "
          "visible batches have variances near 4", concept="eps forgotten"),
    Wrong("batchnorm_backward", "statistics over every axis", _bn("dims = (0, 2, 3)\n", "dims = (0, 2, 3)\n    sd = (0, 1, 2, 3)\n")
          .replace("mean = x.mean(dims", "mean = x.mean(sd").replace("** 2).mean(dims", "** 2).mean(sd")
          .replace("dx_hat.mean(dims, keepdim=True) - x_hat * (dx_hat * x_hat).mean(dims",
                   "dx_hat.mean(sd, keepdim=True) - x_hat * (dx_hat * x_hat).mean(sd"),
          hint="not over the channels too", concept="wrong axes"),
    Wrong("batchnorm_backward", "statistics per image (layer norm)", _bn("dims = (0, 2, 3)\n", "dims = (0, 2, 3)\n    sd = (1, 2, 3)\n")
          .replace("mean = x.mean(dims", "mean = x.mean(sd").replace("** 2).mean(dims", "** 2).mean(sd")
          .replace("dx_hat.mean(dims, keepdim=True) - x_hat * (dx_hat * x_hat).mean(dims",
                   "dx_hat.mean(sd, keepdim=True) - x_hat * (dx_hat * x_hat).mean(sd"),
          hint="statistics per image", concept="wrong axes"),
    Wrong("batchnorm_backward", "one value per channel not refused",
          _bn("    if m == 1:\n        raise ValueError(\"one value per channel: batch norm cannot normalise it\")\n", ""),
          hint="raise a ValueError", concept="edge case"),
    Wrong("batchnorm_backward", "autograd through the formulas",
          """
          def batchnorm_backward(dout, x, gamma, eps=1e-5):
              if x.shape[0] * x.shape[2] * x.shape[3] == 1:
                  raise ValueError("one value per channel")
              x = x.clone().requires_grad_()
              g = gamma.clone().requires_grad_()
              b = torch.zeros_like(g, requires_grad=True)
              mean = x.mean((0, 2, 3), keepdim=True)
              var = x.var((0, 2, 3), unbiased=False, keepdim=True)
              out = (x - mean) / torch.sqrt(var + eps) * g[None, :, None, None] + b[None, :, None, None]
              out.backward(dout)
              return x.grad, g.grad, b.grad
          """, hint="no requires_grad, no backward()", concept="autograd used"),
    Wrong("batchnorm_backward", "F.batch_norm for x_hat",
          _bn("x_hat = (x - mean) / std", "x_hat = F.batch_norm(x, None, None, training=True, eps=eps)"),
          hint="no F.batch_norm", concept="built-in used"),
    Wrong("batchnorm_backward", "dbeta summed over the batch only",
          _bn("dbeta = dout.sum(dims)", "dbeta = dout.sum(0)"), hint=None, concept="wrong axes"),
]

RIGHT += [
    Right("batchnorm_backward", "the staged computation graph, step by step, float64",
          """
          def batchnorm_backward(dout, x, gamma, eps=1e-5):
              n, c, h, w = x.shape
              if n * h * w == 1:
                  raise ValueError("batch norm needs more than one value per channel")
              x, dout, g = x.double(), dout.double(), gamma.double().view(1, c, 1, 1)
              m = n * h * w
              mu = x.sum((0, 2, 3), keepdim=True) / m
              xc = x - mu
              var = (xc * xc).sum((0, 2, 3), keepdim=True) / m
              inv = 1.0 / torch.sqrt(var + eps)
              x_hat = xc * inv
              dx_hat = dout * g
              dinv = (dx_hat * xc).sum((0, 2, 3), keepdim=True)
              dvar = dinv * (-0.5) * inv ** 3
              dxc = dx_hat * inv + dvar * 2 * xc / m
              dmu = -dxc.sum((0, 2, 3), keepdim=True)
              dx = dxc + dmu / m
              return dx, (dout * x_hat).sum((0, 2, 3)), dout.sum((0, 2, 3))
          """),
    Right("batchnorm_backward", "channels first by reshaping to [C, M]",
          """
          def batchnorm_backward(dout, x, gamma, eps=1e-5):
              n, c, h, w = x.shape
              if n * h * w < 2:
                  raise ValueError("expected more than 1 value per channel when training")
              xs = x.transpose(0, 1).reshape(c, -1)
              ds = dout.transpose(0, 1).reshape(c, -1)
              m = xs.shape[1]
              std = torch.sqrt(xs.var(1, unbiased=False, keepdim=True) + eps)
              x_hat = (xs - xs.mean(1, keepdim=True)) / std
              dxh = ds * gamma[:, None]
              dx = (m * dxh - dxh.sum(1, keepdim=True) - x_hat * (dxh * x_hat).sum(1, keepdim=True)) / (m * std)
              return dx.reshape(c, n, h, w).transpose(0, 1), (ds * x_hat).sum(1), ds.sum(1)
          """),
]

# -- res_block --------------------------------------------------------------------------------------------

RES_BLOCK = """
class ResBlock(nn.Module):
    def __init__(self, c_in, c_out, stride=1):
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c_out)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c_out)
        self.shortcut = nn.Identity()
        if c_in != c_out or stride != 1:
            self.shortcut = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False),
                                          nn.BatchNorm2d(c_out))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


def res_block(c_in, c_out, stride=1):
    return ResBlock(c_in, c_out, stride)
"""


def _rb(old: str, new: str) -> str:
    assert old in RES_BLOCK, old
    return RES_BLOCK.replace(old, new)


WRONG += [
    Wrong("res_block", "no shortcut", _rb("F.relu(out + self.shortcut(x))", "F.relu(out)"),
          hint="add its input back", concept="shortcut missing"),
    Wrong("res_block", "the ReLU before the addition", _rb("F.relu(out + self.shortcut(x))",
                                                           "F.relu(out) + self.shortcut(x)"),
          hint="after the addition", concept="ReLU placement"),
    Wrong("res_block", "no ReLU at the end", _rb("F.relu(out + self.shortcut(x))", "out + self.shortcut(x)"),
          hint="after the addition", concept="ReLU placement"),
    Wrong("res_block", "a projection even when the shapes match", _rb("        if c_in != c_out or stride != 1:\n"
                                                                      "            self.shortcut", "        if True:\n"
                                                                      "            self.shortcut"),
          hint="the shortcut is the identity", concept="needless projection"),
    Wrong("res_block", "a 3x3 projection", _rb("nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)",
                                              "nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)"),
          hint="1x1 convolution", concept="projection size"),
    Wrong("res_block", "biases before batch norm", RES_BLOCK.replace("bias=False", "bias=True"),
          hint="needs no bias", concept="bias before BN"),
    Wrong("res_block", "no batch norm", RES_BLOCK.replace("nn.BatchNorm2d(c_out)", "nn.Identity()"),
          hint="followed by batch norm", concept="BN missing"),
    Wrong("res_block", "no projection when channels change",
          _rb("        if c_in != c_out or stride != 1:\n", "        if False:\n"),
          hint="when the channels or the stride change", concept="projection missing"),
    Wrong("res_block", "the projection without the stride",
          _rb("nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False)", "nn.Conv2d(c_in, c_out, 1, bias=False)"),
          hint="with the same stride", concept="stride in shortcut"),
    Wrong("res_block", "no padding in the 3x3 convolutions", RES_BLOCK.replace("padding=1, ", ""),
          hint="padding=1", concept="padding"),
    Wrong("res_block", "one shared block for every call",
          RES_BLOCK.replace("def res_block(c_in, c_out, stride=1):\n    return ResBlock(c_in, c_out, stride)",
                            "_made = {}\n\ndef res_block(c_in, c_out, stride=1):\n"
                            "    return _made.setdefault((c_in, c_out, stride), ResBlock(c_in, c_out, stride))"),
          hint="build a new block in each call", concept="shared model"),
]

RIGHT += [
    Right("res_block", "an nn.Sequential main path, shortcut chosen in forward",
          """
          class Block(nn.Module):
              def __init__(self, c_in, c_out, stride):
                  super().__init__()
                  self.main = nn.Sequential(
                      nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                      nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out))
                  self.project = None
                  if stride != 1 or c_in != c_out:
                      self.project = nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, bias=False),
                                                   nn.BatchNorm2d(c_out))

              def forward(self, x):
                  skip = x if self.project is None else self.project(x)
                  return torch.relu(self.main(x) + skip)

          def res_block(c_in, c_out, stride=1):
              return Block(c_in, c_out, stride)
          """),
    Right("res_block", "the stride in the second convolution", RES_BLOCK.replace(
        "nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False)",
        "nn.Conv2d(c_in, c_out, 3, padding=1, bias=False)").replace(
        "nn.Conv2d(c_out, c_out, 3, padding=1, bias=False)",
        "nn.Conv2d(c_out, c_out, 3, stride=stride, padding=1, bias=False)")),
]

# -- review quiz ------------------------------------------------------------------------------------------

WRONG += [
    Wrong("quiz_block_params", "no projection", "quiz_block_params = 9 * 16 * 32 + 9 * 32 * 32 + 4 * 32",
          hint="needs its 1x1 projection", concept="projection missing"),
    Wrong("quiz_block_params", "batch norms not counted", "quiz_block_params = 9 * 16 * 32 + 9 * 32 * 32 + 16 * 32",
          hint="count the batch norms", concept="BN parameters"),
    Wrong("quiz_block_params", "the second convolution read as 16 channels",
          "quiz_block_params = 2 * 9 * 16 * 32 + 16 * 32 + 6 * 32", hint="reads 32 channels",
          concept="channels miscounted"),
    Wrong("quiz_block_params", "a 3x3 projection", "quiz_block_params = 9 * 16 * 32 + 9 * 32 * 32 + 9 * 16 * 32 + 6 * 32",
          hint="the projection is 1x1", concept="projection size"),
    Wrong("quiz_block_params", "a float", "quiz_block_params = 14528.0", hint="whole number", concept="type"),
    Wrong("quiz_block_params", "a string", "quiz_block_params = '14528'", hint="not a string", concept="type"),
    Wrong("quiz_block_shape", "the first window not counted", "quiz_block_shape = (8, 32, 7, 7)",
          hint="count the first window", concept="off by one"),
    Wrong("quiz_block_shape", "the stride forgotten", "quiz_block_shape = (8, 32, 15, 15)", hint="stride 2",
          concept="stride ignored"),
    Wrong("quiz_block_shape", "the input channels kept", "quiz_block_shape = (8, 16, 8, 8)",
          hint="output channels", concept="channels miscounted"),
    Wrong("quiz_block_shape", "no batch axis", "quiz_block_shape = (32, 8, 8)", hint="the batch (8) comes first",
          concept="layout"),
    Wrong("quiz_block_shape", "a list", "quiz_block_shape = [8, 32, 8, 8]", hint="not a list", concept="type"),
    Wrong("quiz_block_shape", "channels last", "quiz_block_shape = (8, 8, 8, 32)", hint="channels before height", concept="layout"),
    Wrong("quiz_steady_gain", "the standard deviation", "quiz_steady_gain = math.sqrt(2 / (64 * 9))",
          hint="not the standard deviation", concept="variance for std"),
    Wrong("quiz_steady_gain", "fan_in without the kernel", "quiz_steady_gain = 2 / 64",
          hint="times the kernel's 3 * 3", concept="fan_in miscounted"),
    Wrong("quiz_steady_gain", "LeCun's variance", "quiz_steady_gain = 1 / (64 * 9)", hint="2 / fan_in",
          concept="ReLU factor 2 forgotten"),
    Wrong("quiz_steady_gain", "fan_out", "quiz_steady_gain = 2 / (32 * 9)", hint="not the 32 outputs",
          concept="fan_out for fan_in"),
    Wrong("quiz_steady_gain", "a string", "quiz_steady_gain = '2/576'", hint=None, concept="type"),
    Wrong("quiz_steady_gain", "the fraction's inverse", "quiz_steady_gain = 576 / 2", hint="in the denominator", concept="inverted"),
]

RIGHT += [
    Right("quiz_block_params", "counted on a real block",
          RES_BLOCK + "\nquiz_block_params = sum(p.numel() for p in res_block(16, 32, 2).parameters())"),
    Right("quiz_block_params", "a NumPy integer", "quiz_block_params = np.int64(9 * 16 * 32 + 9 * 32 * 32 + 16 * 32 + 6 * 32)"),
    Right("quiz_block_shape", "measured on a real block",
          RES_BLOCK + "\nquiz_block_shape = tuple(res_block(16, 32, 2)(torch.zeros(8, 16, 15, 15)).shape)"),
    Right("quiz_block_shape", "a torch.Size", "quiz_block_shape = torch.Size([8, 32, 8, 8])"),
    Right("quiz_steady_gain", "a NumPy float", "quiz_steady_gain = np.float64(2) / (64 * 3 * 3)"),
    Right("quiz_steady_gain", "as a decimal", "quiz_steady_gain = 0.003472222"),
]

NO_ALTERNATIVES: dict[str, str] = {}

#: The depth experiment's figures (helpers.deep.seed_study, 10 seeds, cached across the claims of one run);
#: every other number in the prose is a stored output that nbval compares.
_STUDY = "from helpers.deep import seed_study\nimport statistics\nstudy = seed_study()\n"

CLAIMS = [
    Claim("2.30 whatever the random seed", _STUDY + "value = statistics.mean(study['plain'])", 2.303, 0.01, seeds=10),
    Claim("sd 0.005", _STUDY + "value = statistics.stdev(study['plain'])", 0.005, 0.01, seeds=10),
    Claim("10 of 10 random seeds", _STUDY + "value = sum(r < p for r, p in zip(study['residual'], study['plain']))",
          10, 0, seeds=10),
    Claim("a mean of 2.06", _STUDY + "value = statistics.mean(study['residual'])", 2.062, 0.05, seeds=10),
    Claim("from 1.75", _STUDY + "value = min(study['residual'])", 1.75, 0.1, seeds=10),
    Claim("to 2.29", _STUDY + "value = max(study['residual'])", 2.294, 0.05, seeds=10),
    Claim("sd 0.17", _STUDY + "value = statistics.stdev(study['residual'])", 0.174, 0.06, seeds=10),
]

# -- res_cnn ----------------------------------------------------------------------------------------------

#: The chapter's solution: a stem, three of the learner's blocks, average pooling and one linear layer.
RES_CNN = RES_BLOCK + """

def res_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        res_block(8, 8), res_block(8, 16, stride=2), res_block(16, 16),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
"""


def _rc(old: str, new: str) -> str:
    assert old in RES_CNN, old
    return RES_CNN.replace(old, new)


_RC_HEAD = "nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))"

WRONG += [
    Wrong("res_cnn", "a plain stack: conv, batch norm, ReLU pairs without shortcuts",
          RES_BLOCK + """

def plain_block(c_in, c_out, stride=1):
    return nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU(),
                         nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())

def res_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),
        plain_block(8, 8), plain_block(8, 16, 2), plain_block(16, 16),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))
""", hint="is a plain network", concept="shortcut missing"),
    Wrong("res_cnn", "the shortcut computed but not added",
          _rc("        return F.relu(out + self.shortcut(x))", "        skip = self.shortcut(x)\n"
              "        return F.relu(out)"), hint="is a plain network", concept="shortcut missing"),
    Wrong("res_cnn", "the shortcut added to a copy, the main path returned",
          _rc("        return F.relu(out + self.shortcut(x))", "        total = out + self.shortcut(x)\n"
              "        return F.relu(out)"), hint="is a plain network", concept="shortcut missing"),
    Wrong("res_cnn", "one model built once and returned by every call",
          _rc("def res_cnn():\n    return nn.Sequential(", "_model = nn.Sequential(")
          .replace(_RC_HEAD, _RC_HEAD + "\n\ndef res_cnn():\n    return _model").replace("\n        nn.", "\n    nn.")
          .replace("\n        res_block", "\n    res_block"),
          hint="build the model inside res_cnn()", concept="shared model"),
    Wrong("res_cnn", "the blocks built once outside the function",
          _rc("def res_cnn():\n", "_blocks = [res_block(8, 8), res_block(8, 16, stride=2), res_block(16, 16)]\n\n"
              "def res_cnn():\n").replace("res_block(8, 8), res_block(8, 16, stride=2), res_block(16, 16),\n"
                                          "        nn.Adaptive", "*_blocks,\n        nn.Adaptive"),
          hint="created once outside res_cnn()", concept="shared model"),
    Wrong("res_cnn", "torch.manual_seed inside the factory",
          _rc("def res_cnn():\n", "def res_cnn():\n    torch.manual_seed(0)\n"), hint="no torch.manual_seed",
          concept="fixed seed"),
    Wrong("res_cnn", "a ReLU after the output layer", _rc("nn.Linear(16, 10))", "nn.Linear(16, 10), nn.ReLU())"),
          hint="remove the activation", concept="squashed scores"),
    Wrong("res_cnn", "a softmax after the output layer",
          _rc("nn.Linear(16, 10))", "nn.Linear(16, 10), nn.Softmax(dim=1))"), hint="remove the activation",
          concept="squashed scores"),
    Wrong("res_cnn", "batch norm after the output layer",
          _rc("nn.Linear(16, 10))", "nn.Linear(16, 10), nn.BatchNorm1d(10))"), hint="no batch norm after it",
          concept="BN on the scores"),
    Wrong("res_cnn", "squeeze() instead of Flatten",
          _rc("nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))",
              "nn.AdaptiveAvgPool2d(1), Squeeze(), nn.Linear(16, 10))").replace(
              "def res_cnn():", "class Squeeze(nn.Module):\n    def forward(self, x):\n        return x.squeeze()\n\n"
                                "def res_cnn():"), hint="no squeeze()", concept="batch axis"),
    Wrong("res_cnn", "no pooling before the linear layer", _rc("nn.AdaptiveAvgPool2d(1), nn.Flatten()", "nn.Flatten()"),
          hint="the last block has 16 channels", concept="shapes"),
    Wrong("res_cnn", "blocks kept in a Python list",
          RES_BLOCK + """

class ResCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU())
        self.blocks = [res_block(8, 8), res_block(8, 16, stride=2), res_block(16, 16)]
        self.head = nn.Linear(16, 10)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x.mean((2, 3)))

def res_cnn():
    return ResCNN()
""", hint="not in a Python list", concept="unregistered layers"),
    Wrong("res_cnn", "wide layers (64 and 128 channels)",
          _rc("nn.Conv2d(1, 8, 3", "nn.Conv2d(1, 64, 3")
          .replace("nn.BatchNorm2d(8), nn.ReLU(),", "nn.BatchNorm2d(64), nn.ReLU(),")
          .replace("res_block(8, 8), res_block(8, 16, stride=2), res_block(16, 16)",
                   "res_block(64, 64), res_block(64, 128, stride=2), res_block(128, 128)")
          .replace("nn.Linear(16, 10)", "nn.Linear(128, 10)"), hint="keep the channels", concept="too large"),
    Wrong("res_cnn", "one block only", _rc("res_block(8, 8), res_block(8, 16, stride=2), res_block(16, 16)",
                                          "res_block(8, 16, stride=2)"), hint="three of them", concept="too shallow"),
    Wrong("res_cnn", "the blocks frozen (requires_grad False, as when fine-tuning)",
          _rc("def res_cnn():\n    return nn.Sequential(", "def res_cnn():\n    model = nn.Sequential(")
          .replace(_RC_HEAD, _RC_HEAD + "\n    for block in model[3:6]:\n        block.requires_grad_(False)\n"
                                        "    return model"),
          hint="learned too little", concept="frozen layers"),
]

RIGHT += [
    Right("res_cnn", "a 1x1 convolution for the scores, averaged after",
          _rc("nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 10))",
              "nn.Conv2d(16, 10, 1), nn.AdaptiveAvgPool2d(1), nn.Flatten())")),
    Right("res_cnn", "a class with nn.ModuleList and a mean over the map",
          RES_BLOCK + """

class ResCNN(nn.Module):
    def __init__(self, widths=(8, 16)):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, widths[0], 3, stride=2, padding=1, bias=False),
                                  nn.BatchNorm2d(widths[0]), nn.ReLU())
        self.blocks = nn.ModuleList([res_block(widths[0], widths[0]), res_block(widths[0], widths[1], 2),
                                     res_block(widths[1], widths[1])])
        self.head = nn.Linear(widths[1], 10)

    def forward(self, x):
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x.mean(dim=(2, 3)))

def res_cnn():
    return ResCNN()
"""),
    Right("res_cnn", "four blocks, the stem with a bias and no batch norm",
          _rc("nn.Conv2d(1, 8, 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(8), nn.ReLU(),",
              "nn.Conv2d(1, 8, 3, stride=2, padding=1), nn.ReLU(),")
          .replace("res_block(16, 16),", "res_block(16, 16), res_block(16, 16),")),
]
