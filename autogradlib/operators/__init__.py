"""Every built-in GradOperator, under short names: ops.Add, ops.Exp, ops.Linear, ..."""

from autogradlib.operators.arithmetic import (
    AddOperator as Add,
    DivOperator as Div,
    MatMulOperator as MatMul,
    MulOperator as Mul,
    NegOperator as Neg,
    PowOperator as Pow,
    SubOperator as Sub,
)
from autogradlib.operators.chain import ChainOperator as Chain
from autogradlib.operators.convolution import (
    Conv1dOperator as Conv1d,
    Conv2dOperator as Conv2d,
    ConvolutionOperator as Convolution,
)
from autogradlib.operators.fused import (
    CrossEntropyLossOperator as CrossEntropyLoss,
    LinearOperator as Linear,
    MSELossOperator as MSELoss,
)
from autogradlib.operators.pointwise import (
    AbsOperator as Abs,
    ClampOperator as Clamp,
    ExpOperator as Exp,
    LogOperator as Log,
    ReLUOperator as ReLU,
    SigmoidOperator as Sigmoid,
    SqrtOperator as Sqrt,
    TanhOperator as Tanh,
    ToOperator as To,
)
from autogradlib.operators.pooling import (
    AdaptiveAvgPool2dOperator as AdaptiveAvgPool2d,
    AvgPool2dOperator as AvgPool2d,
    MaxPool2dOperator as MaxPool2d,
)
from autogradlib.operators.reductions import (
    LogSoftmaxOperator as LogSoftmax,
    MaxAlongOperator as MaxAlong,
    MaxOperator as Max,
    MeanOperator as Mean,
    MinAlongOperator as MinAlong,
    MinOperator as Min,
    SoftmaxOperator as Softmax,
    SumOperator as Sum,
)
from autogradlib.operators.shape import (
    CatOperator as Cat,
    CloneOperator as Clone,
    ExpandOperator as Expand,
    IndexOperator as Index,
    PermuteOperator as Permute,
    RepeatOperator as Repeat,
    ReshapeOperator as Reshape,
    SqueezeOperator as Squeeze,
    StackOperator as Stack,
    TransposeOperator as Transpose,
    UnsqueezeOperator as Unsqueeze,
    ViewOperator as View,
)

__all__ = [
    "Abs", "Add", "Cat", "Chain", "Clamp", "Clone", "CrossEntropyLoss", "Div", "Exp", "Expand",
    "Index", "Linear", "Log", "LogSoftmax", "MSELoss", "MatMul", "Max", "MaxAlong", "Mean", "Min",
    "MinAlong", "Mul", "Neg", "Permute", "Pow", "ReLU", "Repeat", "Reshape", "Sigmoid", "Softmax",
    "Sqrt", "Squeeze", "Stack", "Sub", "Sum", "Tanh", "To", "Transpose", "Unsqueeze", "View",
]  # fmt: skip
__all__ += ["AdaptiveAvgPool2d", "AvgPool2d", "Conv1d", "Conv2d", "Convolution", "MaxPool2d"]
