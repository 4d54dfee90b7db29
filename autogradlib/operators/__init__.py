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
from autogradlib.operators.fused import LinearOperator as Linear, MSELossOperator as MSELoss
from autogradlib.operators.losses import (
    BCELossOperator as BCELoss,
    BCEWithLogitsLossOperator as BCEWithLogitsLoss,
    CrossEntropyLossOperator as CrossEntropyLoss,
    HuberLossOperator as HuberLoss,
    L1LossOperator as L1Loss,
    NLLLossOperator as NLLLoss,
    SmoothL1LossOperator as SmoothL1Loss,
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
    "Abs", "Add", "BCELoss", "BCEWithLogitsLoss", "Cat", "Chain", "Clamp", "Clone",
    "CrossEntropyLoss", "Div", "Exp", "Expand", "HuberLoss", "Index", "L1Loss", "Linear", "Log",
    "LogSoftmax", "MSELoss", "MatMul", "Max", "MaxAlong", "Mean", "Min", "MinAlong", "Mul",
    "NLLLoss", "Neg", "Permute", "Pow", "ReLU", "Repeat", "Reshape", "Sigmoid", "SmoothL1Loss",
    "Softmax", "Sqrt", "Squeeze", "Stack", "Sub", "Sum", "Tanh", "To", "Transpose", "Unsqueeze",
    "View",
]  # fmt: skip
