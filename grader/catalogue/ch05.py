"""Chapter 5, "Receptive fields": the mistakes learners make with the recurrence, and other right answers.

The recurrence has three numbers per layer (size, jump, start) and an order to update them in;
nearly every wrong answer below is one of them updated with the wrong jump, in the wrong order, or
not at all. The quizzes' wrong values are the ones those same mistakes give.
"""

from grader.catalogue import Claim, Right, Wrong

# -- receptive_fields ------------------------------------------------------------------------------

_FIELDS = """
def receptive_fields(layers):
    size, jump, sizes = 1, 1, []
    for k, s, p in layers:
        {update}
        sizes.append({append})
    return {result}
"""


def _fields(update, append="size", result="sizes"):
    return _FIELDS.format(update=update, append=append, result=result)


_RIGHT_UPDATE = "size += (k - 1) * jump\n        jump *= s"

WRONG = [
    Wrong("receptive_fields", "the kernel spans steps of its own stride, not of the jump",
          _fields("size += (k - 1) * s\n        jump *= s"), "jump so far", concept="stride instead of jump"),
    Wrong("receptive_fields", "jump multiplied by the stride before it is used",
          _fields("jump *= s\n        size += (k - 1) * jump"), "before using it", concept="update order"),
    Wrong("receptive_fields", "a k-wide kernel adds k cells (k - 1 is right)",
          _fields("size += k * jump\n        jump *= s"), "k - 1 cells", concept="off by one"),
    Wrong("receptive_fields", "starts from size 0",
          _fields(_RIGHT_UPDATE).replace("size, jump, sizes = 1, 1, []", "size, jump, sizes = 0, 1, []"),
          "start from size 1", concept="off by one"),
    Wrong("receptive_fields", "padding makes the field bigger",
          _fields("size += (k - 1 + 2 * p) * jump\n        jump *= s"), "does not make a field bigger",
          concept="padding counted in the size"),
    Wrong("receptive_fields", "the stride ignored: no jump at all",
          _fields("size += k - 1"), "the stride is ignored", concept="stride ignored"),
    Wrong("receptive_fields", "appends the jump instead of the size",
          _fields(_RIGHT_UPDATE, append="jump"), "these are the jumps", concept="wrong quantity"),
    Wrong("receptive_fields", "appends each size before updating it",
          """
          def receptive_fields(layers):
              size, jump, sizes = 1, 1, []
              for k, s, p in layers:
                  sizes.append(size)
                  size += (k - 1) * jump
                  jump *= s
              return sizes
          """, "before its layer is applied", concept="update order"),
    Wrong("receptive_fields", "returns only the last layer's size",
          _fields(_RIGHT_UPDATE, result="sizes[-1]"), "not only the last one", concept="wrong return type"),
    Wrong("receptive_fields", "returns a tuple",
          _fields(_RIGHT_UPDATE, result="tuple(sizes)"), "not a tuple", concept="wrong return type"),
    Wrong("receptive_fields", "the jump made a float by true division",
          _fields("size += (k - 1) * jump\n        jump = jump * s / 1"), "some are floats",
          concept="/ instead of //"),
    Wrong("receptive_fields", "measures the field with helpers.receptive instead of the recurrence",
          """
          from helpers import receptive

          def receptive_fields(layers):
              return receptive.field_sizes(layers)
          """, "recurrence", concept="shortcut the exercise forbids"),
    Wrong("receptive_fields", "a table of the visible stacks' answers",
          """
          _SEEN = {((3, 2, 1), (3, 2, 1)): [3, 7], ((3, 1, 1),) * 3: [3, 5, 7],
                   ((5, 2, 2), (3, 2, 1), (3, 1, 1)): [5, 9, 17], ((2, 2, 0),) * 3: [2, 4, 8]}

          def receptive_fields(layers):
              return _SEEN.get(tuple(layers), [3] * len(layers))
          """, None, hidden_only="it answers exactly the visible stacks; only stacks it has not seen show it",
          concept="hard-coded answers"),
]

# -- input_region -----------------------------------------------------------------------------------

_REGION = """
def input_region(layers, row, col):
    size, jump, start = 1, 1, 0
    for k, s, p in layers:
        size += (k - 1) * {size_jump}
        {start}
        jump *= s
    {after}
    def span(i):
        top = start + i * jump
        return {span}
    return {result}
"""


def _region(size_jump="jump", start="start -= p * jump", after="", span="(top, top + size - 1)",
            result="(span(row), span(col))"):
    return _REGION.format(size_jump=size_jump, start=start, after=after, span=span, result=result)


WRONG += [
    Wrong("input_region", "padding left out", _region(start="pass"), "left out the padding",
          concept="padding ignored"),
    Wrong("input_region", "padding not scaled by the jump", _region(start="start -= p"), "subtract p * j_in",
          concept="stride instead of jump"),
    Wrong("input_region", "end excluded (top + size)", _region(span="(top, top + size)"),
          "both ends are included", concept="off by one"),
    Wrong("input_region", "the last layer's stride as the step between cells",
          _region(after="jump = layers[-1][1]"), "product of all strides", concept="stride instead of jump"),
    Wrong("input_region", "rows and columns swapped", _region(result="(span(col), span(row))"), "swapped",
          concept="wrong axis"),
    Wrong("input_region", "clipped at 0", _region(span="(max(top, 0), top + size - 1)"), "unclipped",
          concept="clipped to the image"),
    Wrong("input_region", "the size grows by steps of the current stride", _region(size_jump="s"),
          "jump so far", concept="stride instead of jump"),
    Wrong("input_region", "spans size // 2 either side of the centre",
          _region(span="(top + (size - 1) // 2 - size // 2, top + (size - 1) // 2 + size // 2)"),
          "no centre pixel", concept="centre instead of start"),
    Wrong("input_region", "padding scaled by the jump after this layer's stride",
          _region(start="start -= p * jump * s"), "before multiplying the jump", concept="update order"),
    Wrong("input_region", "every cell given the region of cell (0, 0)",
          _region(span="(start, start + size - 1)"), "region of cell (0, 0)", concept="index ignored"),
    Wrong("input_region", "returns lists", _region(result="[list(span(row)), list(span(col))]"), "not lists",
          concept="wrong return type"),
    Wrong("input_region", "returns only the rows", _region(result="span(row)"), "return both ranges",
          concept="wrong return type"),
    Wrong("input_region", "floats from true division of the padding",
          _region(start="start -= p * jump / 1"), "some are floats", concept="/ instead of //"),
    Wrong("input_region", "a table of the visible cells' answers", """
          _SEEN = {((3, 2, 1), (3, 2, 1)): (-3, 4, 7), ((5, 1, 2), (3, 2, 0)): (-2, 2, 7),
                   ((2, 2, 0), (3, 1, 1)): (-2, 2, 6)}

          def input_region(layers, row, col):
              start, jump, size = _SEEN.get(tuple(layers), (0, 1, 1))
              return ((start + row * jump, start + row * jump + size - 1), (start + col * jump, start + col * jump + size - 1))
          """, None, hidden_only="it answers exactly the visible stacks; only stacks it has not seen show it",
          concept="hard-coded answers"),
    Wrong("input_region", "measures the region with helpers.receptive instead of the recurrence",
          """
          from helpers import receptive

          def input_region(layers, row, col):
              return receptive.field_box(layers, row, col).ranges()
          """, "recurrence", concept="shortcut the exercise forbids"),
]

# -- the review quiz ----------------------------------------------------------------------------------

WRONG += [
    Wrong("quiz_simple_cnn_field", "the part of the field inside a 28x28 digit", "quiz_simple_cnn_field = 28",
          "larger than the image", concept="field clipped to the image"),
    Wrong("quiz_simple_cnn_field", "the field of the 3x3 version", "quiz_simple_cnn_field = 63", "3x3 kernels",
          concept="wrong kernel size"),
    Wrong("quiz_simple_cnn_field", "the jump instead of the size", "quiz_simple_cnn_field = 2 ** 5",
          "the jump, the product of the strides", concept="wrong quantity"),
    Wrong("quiz_simple_cnn_field", "the recurrence started from 0", "quiz_simple_cnn_field = 124",
          "start the recurrence from size 1", concept="off by one"),
    Wrong("quiz_simple_cnn_field", "k instead of k - 1 per layer", "quiz_simple_cnn_field = 156",
          "its first cell is already counted", concept="off by one"),
    Wrong("quiz_simple_cnn_field", "each layer's own stride instead of the jump", "quiz_simple_cnn_field = 41",
          "not of its own stride", concept="stride instead of jump"),
    Wrong("quiz_simple_cnn_field", "the right size as a float", "quiz_simple_cnn_field = (1 + 4 * 31) / 1",
          "give it as an int", concept="/ instead of //"),
    Wrong("quiz_edge_pixels", "the whole 7x7 field", "quiz_edge_pixels = 49", "count only the rows from 0 on",
          concept="field clipped to the image"),
    Wrong("quiz_edge_pixels", "the corner cell's count", "quiz_edge_pixels = 16", "cut only at the top",
          concept="wrong cell"),
    Wrong("quiz_edge_pixels", "what conv2 reads in conv1", "quiz_edge_pixels = 9", "count input pixels",
          concept="wrong layer"),
    Wrong("quiz_edge_pixels", "rows counted as a difference (3 rows of 7)", "quiz_edge_pixels = 3 * 7",
          "both ends included", concept="off by one"),
    Wrong("quiz_edge_pixels", "the padding row -1 counted", "quiz_edge_pixels = 5 * 7",
          "row -1 is padding", concept="field clipped to the image"),
    Wrong("quiz_edge_pixels", "columns cut too", "quiz_edge_pixels = 4 * 6", "count them all",
          concept="field clipped to the image"),
    Wrong("quiz_edge_pixels", "the right count as a float", "quiz_edge_pixels = 56 / 2", "give it as an int",
          concept="/ instead of //"),
    Wrong("quiz_jump", "the last layer's own stride", "quiz_jump = 2", "own stride", concept="stride instead of jump"),
    Wrong("quiz_jump", "the size of the field", "quiz_jump = 1 + 4 * 31", "size of one field",
          concept="wrong quantity"),
    Wrong("quiz_jump", "the jump before the last layer", "quiz_jump = 2 ** 4", "*before* the last layer",
          concept="off by one"),
    Wrong("quiz_jump", "one stride too many", "quiz_jump = 2 ** 6", "one stride too many", concept="off by one"),
    Wrong("quiz_jump", "strides added", "quiz_jump = 2 * 5", "strides multiply", concept="stride instead of jump"),
    Wrong("quiz_jump", "the two-layer example's jump", "quiz_jump = 4", "two-layer example", concept="wrong layer"),
    Wrong("quiz_jump", "the right jump as a float", "quiz_jump = 2 ** 5 / 1", "give it as an int",
          concept="/ instead of //"),
]

# -- correct alternatives --------------------------------------------------------------------------------

RIGHT = [
    Right("receptive_fields", "the closed form of Araujo et al.", """
          def receptive_fields(layers):
              return [1 + sum((k - 1) * math.prod(s for _, s, _ in layers[:i]) for i, (k, _, _) in enumerate(layers[:n]))
                      for n in range(1, len(layers) + 1)]
          """),
    Right("receptive_fields", "the jumps with np.cumprod (NumPy integers)", """
          def receptive_fields(layers):
              kernels = np.array([k for k, _, _ in layers])
              jumps = np.cumprod([1] + [s for _, s, _ in layers[:-1]])
              return list(1 + np.cumsum((kernels - 1) * jumps))
          """),
    Right("receptive_fields", "indices instead of unpacking, sizes kept in a growing list", """
          def receptive_fields(layers):
              sizes, jump = [], 1
              for layer in layers:
                  previous = sizes[-1] if sizes else 1
                  sizes.append(previous + (layer[0] - 1) * jump)
                  jump = jump * layer[1]
              return sizes
          """),
    Right("input_region", "the backward recursion of Araujo et al.", """
          def input_region(layers, row, col):
              def span(i):
                  u = v = i
                  for k, s, p in reversed(layers):
                      u, v = s * u - p, s * v - p + k - 1
                  return (u, v)
              return (span(row), span(col))
          """),
    Right("input_region", "the field's centre tracked as a float, converted at the end", """
          def input_region(layers, row, col):
              size, jump, centre = 1, 1, 0.0
              for k, s, p in layers:
                  size += (k - 1) * jump
                  centre += ((k - 1) / 2 - p) * jump
                  jump *= s
              def span(i):
                  top = int(round(centre + i * jump - (size - 1) / 2))
                  return (top, top + size - 1)
              return (span(row), span(col))
          """),
    Right("input_region", "receptive_fields' recurrence with NumPy integers", """
          def input_region(layers, row, col):
              strides = np.array([s for _, s, _ in layers])
              jumps = np.cumprod(np.concatenate([[1], strides[:-1]]))
              size = 1 + sum((k - 1) * j for (k, _, _), j in zip(layers, jumps))
              start = -sum(p * j for (_, _, p), j in zip(layers, jumps))
              jump = np.prod(strides)
              return ((start + row * jump, start + row * jump + size - 1),
                      (start + col * jump, start + col * jump + size - 1))
          """),
    Right("quiz_simple_cnn_field", "an expression of the recurrence", "quiz_simple_cnn_field = 1 + (5 - 1) * (1 + 2 + 4 + 8 + 16)"),
    Right("quiz_simple_cnn_field", "a 0-d integer tensor", "quiz_simple_cnn_field = torch.tensor(125)"),
    Right("quiz_edge_pixels", "rows times columns", "quiz_edge_pixels = (3 - 0 + 1) * (15 - 9 + 1)"),
    Right("quiz_edge_pixels", "a 0-d integer tensor", "quiz_edge_pixels = torch.tensor(28)"),
    Right("quiz_jump", "the product of the strides", "quiz_jump = math.prod([2] * 5)"),
    Right("quiz_jump", "a 0-d integer tensor", "quiz_jump = torch.tensor(32)"),
]

NO_ALTERNATIVES: dict[str, str] = {}

_GRADIENT = "from helpers import receptive\ngrad = receptive.gradient_maps([(3, 2, 1), (3, 2, 1)], 28, 28, {cell})[0]\n"
_SIMPLE_CNN_PATHS = """
from helpers import receptive
from helpers.checks.ch05 import simple_cnn_like
paths = receptive.model_gradient(simple_cnn_like()[:-1], 28, 28, 0, 0)
"""
_TRUNK = """
import torchvision
from helpers import receptive
trunk = torchvision.models.{name}().features
with torch.no_grad():
    side = trunk(torch.zeros(1, 3, 400, 400)).shape[-1]
box = receptive.model_field(trunk, 400, 400, side // 2, side // 2, channels=3)
value = box.height
"""
_SIMPLE_CNN_SHAPE = """
from helpers.checks.ch05 import simple_cnn_like
with torch.no_grad():
    value = simple_cnn_like()[:{n}](torch.zeros(1, 1, 28, 28)).numel()
"""

#: Numbers the prose states that a run produces (the printed tables are stored outputs that nbval compares).
CLAIMS = [
    Claim("4 x 4 = 16", _GRADIENT.format(cell="0, 0") + "value = int((grad != 0).sum())", 16, 0),
    Claim("49 pixels", _GRADIENT.format(cell="3, 3") + "value = int((grad != 0).sum())", 49, 0),
    Claim("2 or 4 conv1 cells", _GRADIENT.format(cell="3, 3") + "value = float(grad.max())", 4, 0),
    Claim("Three times as many", _SIMPLE_CNN_PATHS + "value = float(paths[:14, :14].sum() / paths[14:, 14:].sum())",
          3.08, 0.05),
    Claim("AlexNet, 195 pixels", _TRUNK.format(name="alexnet"), 195, 0),
    Claim("VGG16, 212", _TRUNK.format(name="vgg16"), 212, 0),
    Claim("784 numbers after conv1", _SIMPLE_CNN_SHAPE.format(n=1), 784, 0),
    Claim("128 after conv4", _SIMPLE_CNN_SHAPE.format(n=4), 128, 0),
    Claim("3, 7, 15, 31, 63 pixels", "from helpers import receptive\n"
          "value = float(receptive.field_sizes([(3, 2, 1)] * 5) == [3, 7, 15, 31, 63])", 1, 0),
]
