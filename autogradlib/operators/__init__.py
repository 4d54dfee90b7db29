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
    SignOperator as Sign,
    SqrtOperator as Sqrt,
    TanhOperator as Tanh,
    ToOperator as To,
    WhereOperator as Where,
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
    IndexBackwardOperator as IndexBackward,
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
    "Index", "IndexBackward", "Linear", "Log", "LogSoftmax", "MSELoss", "MatMul", "Max",
    "MaxAlong", "Mean", "Min", "MinAlong", "Mul", "Neg", "Permute", "Pow", "ReLU", "Repeat",
    "Reshape", "Sigmoid", "Sign", "Softmax", "Sqrt", "Squeeze", "Stack", "Sub", "Sum", "Tanh",
    "To", "Transpose", "Unsqueeze", "View", "Where",
]  # fmt: skip
