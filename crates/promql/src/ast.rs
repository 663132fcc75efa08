//! The PromQL syntax tree.
//!
//! Mirrors Prometheus's `promql/parser/ast.go`. Nodes carry no source
//! positions, so `parse(print(e)) == e` can be checked with `==`; the parser
//! reports positions in its errors and does all type checking, so a tree
//! that exists is well typed.
//!
//! Durations and timestamps are integer milliseconds.

use promlite_model::Matcher;

pub use crate::ast_string::StringLiteral;
pub use crate::duration_expr::{DurationExpr, DurationOp};

/// The type an expression evaluates to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ValueType {
    /// A single number.
    Scalar,
    /// A set of series with one sample each.
    Vector,
    /// A set of series with a range of samples each.
    Matrix,
    /// A string literal.
    String,
}

impl ValueType {
    /// The name Prometheus uses in messages and the API (`scalar`,
    /// `instant vector`, `range vector`, `string`).
    pub fn describe(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "instant vector",
            ValueType::Matrix => "range vector",
            ValueType::String => "string",
        }
    }

    /// The `resultType` word of the HTTP API (`scalar`, `vector`, `matrix`, `string`).
    pub fn api_name(self) -> &'static str {
        match self {
            ValueType::Scalar => "scalar",
            ValueType::Vector => "vector",
            ValueType::Matrix => "matrix",
            ValueType::String => "string",
        }
    }
}

/// A PromQL expression.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// `1`, `0x1f`, `Inf`, `1e3`, and durations used as numbers.
    Number(f64),
    /// `"abc"`, `'abc'`, `` `abc` `` (already unescaped; bytes, as in Go).
    String(StringLiteral),
    /// `foo{a="b"} offset 5m @ 100`.
    VectorSelector(VectorSelector),
    /// `foo[5m]`; offset and `@` live on the inner selector.
    MatrixSelector(MatrixSelector),
    /// `expr[range:step]`.
    Subquery(SubqueryExpr),
    /// `( expr )`.
    Paren(Box<Expr>),
    /// `-expr` or `+expr`.
    Unary(UnaryOp, Box<Expr>),
    /// `a + on(x) group_left(y) b`.
    Binary(BinaryExpr),
    /// `sum by (x) (expr)`, `topk(3, expr)`.
    Aggregate(AggregateExpr),
    /// `rate(x[5m])`.
    Call(Call),
}

/// When an `@` modifier pins evaluation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AtModifier {
    /// `@ <unix seconds>`, stored in milliseconds.
    Timestamp(i64),
    /// `@ start()`.
    Start,
    /// `@ end()`.
    End,
}

/// An instant vector selector.
#[derive(Clone, Debug, PartialEq)]
pub struct VectorSelector {
    /// The metric name if written before the braces (`foo{...}`); it is also
    /// present in `matchers` as `__name__="foo"`.
    pub name: Option<String>,
    /// All label matchers, including the one for the name.
    pub matchers: Vec<Matcher>,
    /// `offset` in ms (negative allowed); 0 when absent.
    pub offset: i64,
    /// The offset as written when it is an expression (`offset (1h / 2)`);
    /// `offset` holds its value once known.
    pub offset_expr: Option<Box<DurationExpr>>,
    /// The `@` modifier.
    pub at: Option<AtModifier>,
    /// The `anchored` / `smoothed` modifier (extended range selectors).
    pub boundary: Boundary,
}

/// How a selector treats the edges of its window: Prometheus's extended
/// range selectors (`foo[5m] anchored`, `foo[5m] smoothed`, `foo smoothed`),
/// stable and always on since Prometheus 3.15.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Boundary {
    /// No modifier: the window `(t - range, t]`, lookback for instant
    /// selectors.
    #[default]
    Plain,
    /// `anchored`: the window also takes the last sample before its start
    /// (within the lookback delta) as the value at the start; no
    /// extrapolation (`rate`, `increase`, `delta`, `changes`, `resets`).
    Anchored,
    /// `smoothed`: the values at both edges are interpolated linearly from
    /// the samples around them (within the lookback delta); for an instant
    /// selector, the value at the evaluation time (`rate`, `increase`,
    /// `delta`).
    Smoothed,
}

impl Boundary {
    /// The keyword, or `None` for [`Boundary::Plain`].
    pub fn keyword(self) -> Option<&'static str> {
        match self {
            Boundary::Plain => None,
            Boundary::Anchored => Some("anchored"),
            Boundary::Smoothed => Some("smoothed"),
        }
    }
}

/// A range vector selector.
#[derive(Clone, Debug, PartialEq)]
pub struct MatrixSelector {
    /// The selector; its `offset` and `at` apply.
    pub selector: VectorSelector,
    /// The range in ms.
    pub range: i64,
    /// The range as written when it is an expression (`[26m+4m]`); `range`
    /// holds its value once known.
    pub range_expr: Option<Box<DurationExpr>>,
}

/// A subquery.
#[derive(Clone, Debug, PartialEq)]
pub struct SubqueryExpr {
    /// The inner expression (instant vector).
    pub expr: Box<Expr>,
    /// Range in ms.
    pub range: i64,
    /// Step in ms; `None` for `[range:]` (use the default evaluation interval).
    pub step: Option<i64>,
    /// Offset in ms.
    pub offset: i64,
    /// Range, step and offset as written when they are expressions; the
    /// numeric fields hold their values once known.
    pub range_expr: Option<Box<DurationExpr>>,
    /// See `range_expr`.
    pub step_expr: Option<Box<DurationExpr>>,
    /// See `range_expr`.
    pub offset_expr: Option<Box<DurationExpr>>,
    /// The `@` modifier.
    pub at: Option<AtModifier>,
}

/// Unary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UnaryOp {
    /// `-`
    Neg,
    /// `+`
    Pos,
}

/// Binary operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum BinOp {
    /// `+`
    Add,
    /// `-`
    Sub,
    /// `*`
    Mul,
    /// `/`
    Div,
    /// `%`
    Mod,
    /// `^`
    Pow,
    /// `atan2`
    Atan2,
    /// `==`
    Eql,
    /// `!=`
    Neq,
    /// `>`
    Gtr,
    /// `<`
    Lss,
    /// `>=`
    Gte,
    /// `<=`
    Lte,
    /// `and`
    And,
    /// `or`
    Or,
    /// `unless`
    Unless,
}

impl BinOp {
    /// The operator as written.
    pub fn as_str(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::Div => "/",
            BinOp::Mod => "%",
            BinOp::Pow => "^",
            BinOp::Atan2 => "atan2",
            BinOp::Eql => "==",
            BinOp::Neq => "!=",
            BinOp::Gtr => ">",
            BinOp::Lss => "<",
            BinOp::Gte => ">=",
            BinOp::Lte => "<=",
            BinOp::And => "and",
            BinOp::Or => "or",
            BinOp::Unless => "unless",
        }
    }

    /// `==`, `!=`, `>`, `<`, `>=`, `<=`.
    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte
        )
    }

    /// `and`, `or`, `unless`.
    pub fn is_set_operator(self) -> bool {
        matches!(self, BinOp::And | BinOp::Or | BinOp::Unless)
    }

    /// Precedence, higher binds tighter (Prometheus: `or` 1, `and unless` 2,
    /// comparisons 3, `+ -` 4, `* / % atan2` 5, `^` 6).
    pub fn precedence(self) -> u8 {
        match self {
            BinOp::Or => 1,
            BinOp::And | BinOp::Unless => 2,
            BinOp::Eql | BinOp::Neq | BinOp::Gtr | BinOp::Lss | BinOp::Gte | BinOp::Lte => 3,
            BinOp::Add | BinOp::Sub => 4,
            BinOp::Mul | BinOp::Div | BinOp::Mod | BinOp::Atan2 => 5,
            BinOp::Pow => 6,
        }
    }

    /// Only `^` is right-associative.
    pub fn is_right_associative(self) -> bool {
        self == BinOp::Pow
    }
}

/// How the two sides of a vector/vector operation are matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Cardinality {
    /// The default.
    #[default]
    OneToOne,
    /// `group_left`.
    ManyToOne,
    /// `group_right`.
    OneToMany,
    /// Set operators (`and`, `or`, `unless`).
    ManyToMany,
}

/// `on`/`ignoring` and `group_left`/`group_right` of a binary expression.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct VectorMatching {
    /// Matching cardinality.
    pub card: Cardinality,
    /// The labels in `on(...)` or `ignoring(...)`.
    pub labels: Vec<String>,
    /// True for `on`, false for `ignoring` (or nothing written).
    pub on: bool,
    /// The labels in `group_left(...)`/`group_right(...)`.
    pub include: Vec<String>,
}

/// A binary operation.
#[derive(Clone, Debug, PartialEq)]
pub struct BinaryExpr {
    /// The operator.
    pub op: BinOp,
    /// Left side.
    pub lhs: Box<Expr>,
    /// Right side.
    pub rhs: Box<Expr>,
    /// The `bool` modifier of comparisons.
    pub return_bool: bool,
    /// Matching; the default when nothing was written. Set operators have
    /// `card == ManyToMany`.
    pub matching: VectorMatching,
}

/// Aggregation operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AggregateOp {
    /// `sum`
    Sum,
    /// `avg`
    Avg,
    /// `count`
    Count,
    /// `min`
    Min,
    /// `max`
    Max,
    /// `group`
    Group,
    /// `stddev`
    Stddev,
    /// `stdvar`
    Stdvar,
    /// `topk` (parameter k)
    TopK,
    /// `bottomk` (parameter k)
    BottomK,
    /// `count_values` (parameter: label name string)
    CountValues,
    /// `quantile` (parameter φ)
    Quantile,
    /// `limitk` (parameter k)
    LimitK,
    /// `limit_ratio` (parameter ratio)
    LimitRatio,
}

impl AggregateOp {
    /// All operators, for lookup by name.
    pub const ALL: [AggregateOp; 14] = [
        AggregateOp::Sum,
        AggregateOp::Avg,
        AggregateOp::Count,
        AggregateOp::Min,
        AggregateOp::Max,
        AggregateOp::Group,
        AggregateOp::Stddev,
        AggregateOp::Stdvar,
        AggregateOp::TopK,
        AggregateOp::BottomK,
        AggregateOp::CountValues,
        AggregateOp::Quantile,
        AggregateOp::LimitK,
        AggregateOp::LimitRatio,
    ];

    /// The operator's name.
    pub fn as_str(self) -> &'static str {
        match self {
            AggregateOp::Sum => "sum",
            AggregateOp::Avg => "avg",
            AggregateOp::Count => "count",
            AggregateOp::Min => "min",
            AggregateOp::Max => "max",
            AggregateOp::Group => "group",
            AggregateOp::Stddev => "stddev",
            AggregateOp::Stdvar => "stdvar",
            AggregateOp::TopK => "topk",
            AggregateOp::BottomK => "bottomk",
            AggregateOp::CountValues => "count_values",
            AggregateOp::Quantile => "quantile",
            AggregateOp::LimitK => "limitk",
            AggregateOp::LimitRatio => "limit_ratio",
        }
    }

    /// Looks an operator up by name (case-sensitive, as Prometheus lexes
    /// keywords case-insensitively only for a few words; callers lower-case).
    pub fn from_name(s: &str) -> Option<AggregateOp> {
        Self::ALL.iter().copied().find(|op| op.as_str() == s)
    }

    /// True for the operators that take a parameter before the expression.
    pub fn takes_param(self) -> bool {
        matches!(
            self,
            AggregateOp::TopK
                | AggregateOp::BottomK
                | AggregateOp::CountValues
                | AggregateOp::Quantile
                | AggregateOp::LimitK
                | AggregateOp::LimitRatio
        )
    }
}

/// An aggregation.
#[derive(Clone, Debug, PartialEq)]
pub struct AggregateExpr {
    /// The operator.
    pub op: AggregateOp,
    /// The aggregated expression.
    pub expr: Box<Expr>,
    /// The parameter of `topk`, `quantile`, `count_values`, ….
    pub param: Option<Box<Expr>>,
    /// Labels in `by (...)` or `without (...)`.
    pub grouping: Vec<String>,
    /// True for `without`.
    pub without: bool,
    /// Where `param` starts in the query text, for annotation positions;
    /// ignored by `==`.
    pub param_pos: Pos,
}

/// A byte offset in the query text, or unknown (the default, for hand-built
/// ASTs). Compared equal to any other `Pos` so that printing and re-parsing
/// gives an equal AST.
#[derive(Clone, Copy, Debug)]
pub struct Pos(u32);

impl Default for Pos {
    fn default() -> Self {
        Pos(NO_POS)
    }
}

impl PartialEq for Pos {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Pos {
    /// The position at byte offset `offset` (unknown past `u32::MAX - 1`).
    pub fn new(offset: usize) -> Pos {
        Pos(u32::try_from(offset).unwrap_or(NO_POS))
    }

    /// The byte offset, if known.
    pub fn get(&self) -> Option<usize> {
        known(self.0)
    }
}

/// A function call.
#[derive(Clone, Debug, PartialEq)]
pub struct Call {
    /// The function name, one of [`crate::functions::FUNCTIONS`].
    pub func: String,
    /// Arguments.
    pub args: Vec<Expr>,
    /// Where the call and its first arguments start in the query text, for
    /// annotation positions; ignored by `==`.
    pub pos: CallPos,
}

/// How many argument positions a [`CallPos`] keeps; every function that
/// raises an annotation refers to one of its first arguments.
pub const CALL_ARG_POSITIONS: usize = 4;

/// Byte offsets in the query text where a [`Call`] and its first
/// [`CALL_ARG_POSITIONS`] arguments start. Compared equal to any other
/// `CallPos` so that printing and re-parsing gives an equal AST; the default
/// (for hand-built ASTs) knows no positions.
#[derive(Clone, Copy, Debug)]
pub struct CallPos {
    start: u32,
    args: [u32; CALL_ARG_POSITIONS],
}

const NO_POS: u32 = u32::MAX;

impl Default for CallPos {
    fn default() -> Self {
        CallPos {
            start: NO_POS,
            args: [NO_POS; CALL_ARG_POSITIONS],
        }
    }
}

impl PartialEq for CallPos {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl CallPos {
    /// Positions from the call's start offset and its arguments' start
    /// offsets (only the first [`CALL_ARG_POSITIONS`] are kept).
    pub fn new(start: usize, args: impl IntoIterator<Item = usize>) -> CallPos {
        let mut p = CallPos {
            start: u32::try_from(start).unwrap_or(NO_POS),
            ..CallPos::default()
        };
        for (slot, a) in p.args.iter_mut().zip(args) {
            *slot = u32::try_from(a).unwrap_or(NO_POS);
        }
        p
    }

    /// Where the call (its function name) starts, if known.
    pub fn start(&self) -> Option<usize> {
        known(self.start)
    }

    /// Where argument `i` starts, if known.
    pub fn arg(&self, i: usize) -> Option<usize> {
        self.args.get(i).copied().and_then(known)
    }
}

fn known(p: u32) -> Option<usize> {
    (p != NO_POS).then_some(p as usize)
}

impl Expr {
    /// The type this expression evaluates to.
    pub fn value_type(&self) -> ValueType {
        match self {
            Expr::Number(_) => ValueType::Scalar,
            Expr::String(_) => ValueType::String,
            Expr::VectorSelector(_) => ValueType::Vector,
            Expr::MatrixSelector(_) | Expr::Subquery(_) => ValueType::Matrix,
            Expr::Paren(e) | Expr::Unary(_, e) => e.value_type(),
            Expr::Binary(b) => {
                if b.lhs.value_type() == ValueType::Scalar
                    && b.rhs.value_type() == ValueType::Scalar
                {
                    ValueType::Scalar
                } else {
                    ValueType::Vector
                }
            }
            Expr::Aggregate(_) => ValueType::Vector,
            Expr::Call(c) => crate::functions::lookup(&c.func)
                .map(|f| f.return_type)
                .unwrap_or(ValueType::Vector),
        }
    }
}

#[cfg(test)]
mod size_tests {
    #[test]
    fn call_positions_do_not_grow_expr() {
        // `CallPos` (20 bytes) makes `Call` 72 bytes on 64-bit targets, no
        // more than a vector selector; larger variants set the size of `Expr`.
        let call = std::mem::size_of::<super::Call>();
        let expr = std::mem::size_of::<super::Expr>();
        let sel = std::mem::size_of::<super::VectorSelector>();
        assert!(call <= sel, "Call {call} > VectorSelector {sel}");
        assert!(call < expr, "Call {call} sets the size of Expr {expr}");
    }
}
