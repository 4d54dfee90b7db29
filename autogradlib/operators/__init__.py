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
    Expm1Operator as Expm1,
    ExpOperator as Exp,
    FloorOperator as Floor,
    Log1pOperator as Log1p,
    LogOperator as Log,
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
    CumsumOperator as Cumsum,
    LogSoftmaxOperator as LogSoftmax,
    MaxAlongOperator as MaxAlong,
    MaxOperator as Max,
    MeanOperator as Mean,
    MinAlongOperator as MinAlong,
    MinOperator as Min,
    NormOperator as Norm,
    ProdOperator as Prod,
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
    "Abs", "Add", "Cat", "Ceil", "Chain", "Clamp", "Clone", "Cos", "CrossEntropyLoss", "Cumsum",
    "Div", "Exp", "Expand", "Expm1", "Floor", "Gather", "Index", "Linear", "Log", "Log1p",
    "LogSoftmax", "MSELoss", "MatMul", "Max", "MaxAlong", "Maximum", "Mean", "Min", "MinAlong",
    "Minimum", "Mul", "Neg", "Norm", "Permute", "Pow", "Prod", "ReLU", "Repeat", "Reshape", "Round",
    "Sigmoid", "Sign", "Sin", "Softmax", "Sqrt", "Squeeze", "Stack", "Sub", "Sum", "Tanh", "To",
    "Transpose", "Trunc", "Unsqueeze", "View", "Where",
]  # fmt: skip
