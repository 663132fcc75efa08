//! Evaluation results: scalars, instant vectors, range vectors, strings.

use promlite_model::Labels;

use crate::ast::ValueType;

/// One float point of a series in a range vector.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct FPoint {
    /// Timestamp in ms.
    pub t: i64,
    /// Value.
    pub f: f64,
}

/// One element of an instant vector.
///
/// Native histograms will add an optional histogram field beside `f`.
#[derive(Clone, Debug, PartialEq)]
pub struct Sample {
    /// The series' labels.
    pub metric: Labels,
    /// Timestamp in ms.
    pub t: i64,
    /// Value.
    pub f: f64,
}

/// One series of a range vector (or of a range query's result).
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The series' labels.
    pub metric: Labels,
    /// Points in time order.
    pub floats: Vec<FPoint>,
}

/// A query result.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    /// A scalar at a time.
    Scalar {
        /// Timestamp in ms.
        t: i64,
        /// Value.
        v: f64,
    },
    /// An instant vector.
    Vector(Vec<Sample>),
    /// A range vector; also the result of every range query.
    Matrix(Vec<Series>),
    /// A string at a time.
    String {
        /// Timestamp in ms.
        t: i64,
        /// Value.
        v: String,
    },
}

impl Value {
    /// The type, as in the API's `resultType`.
    pub fn value_type(&self) -> ValueType {
        match self {
            Value::Scalar { .. } => ValueType::Scalar,
            Value::Vector(_) => ValueType::Vector,
            Value::Matrix(_) => ValueType::Matrix,
            Value::String { .. } => ValueType::String,
        }
    }
}

pub use crate::float_format::{format_float, put_plain, write_float};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_like_prometheus() {
        assert_eq!(format_float(1.0), "1");
        assert_eq!(format_float(0.1), "0.1");
        assert_eq!(format_float(f64::NAN), "NaN");
        assert_eq!(format_float(f64::INFINITY), "+Inf");
        assert_eq!(format_float(-f64::INFINITY), "-Inf");
        assert_eq!(format_float(1e21), "1000000000000000000000");
    }
}
