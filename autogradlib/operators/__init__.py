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
    CeilOperator as Ceil,
    ClampOperator as Clamp,
    CosOperator as Cos,
    ExpOperator as Exp,
    Expm1Operator as Expm1,
    FloorOperator as Floor,
    LogOperator as Log,
    Log1pOperator as Log1p,
    MaximumOperator as Maximum,
    MinimumOperator as Minimum,
    ReLUOperator as ReLU,
    RoundOperator as Round,
    SigmoidOperator as Sigmoid,
    SignOperator as Sign,
    SinOperator as Sin,
    SqrtOperator as Sqrt,
    TanhOperator as Tanh,
    ToOperator as To,
    TruncOperator as Trunc,
    WhereOperator as Where,
)
from autogradlib.operators.reductions import (
    LogSoftmaxOperator as LogSoftmax,
    MaxAlongOperator as MaxAlong,
    MaxOperator as Max,
    MeanOperator as Mean,
    MinAlongOperator as MinAlong,
    MinOperator as Min,
    NormOperator as Norm,
    SoftmaxOperator as Softmax,
    SumOperator as Sum,
)
from autogradlib.operators.shape import (
    CatOperator as Cat,
    CloneOperator as Clone,
    ExpandOperator as Expand,
    GatherOperator as Gather,
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
    # torch functions and the everyday Tensor surface:
    "Ceil", "Cos", "Expm1", "Floor", "Gather", "Log1p", "Maximum", "Minimum", "Norm", "Round",
    "Sign", "Sin", "Trunc", "Where",
]  # fmt: skip
