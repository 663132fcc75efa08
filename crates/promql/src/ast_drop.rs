//! An iterative `Drop` for [`Expr`].
//!
//! The derived drop glue of a recursive enum recurses once per level, so a
//! tree a million levels deep (built in code; the parser stops at its depth
//! limit) would overflow the stack, and a stack overflow aborts the process.
//! Here a node hands its sub-expressions to an explicit stack before it is
//! freed, so dropping uses constant stack depth whatever the tree's shape.
//! Leaves and nodes whose children are all leaves are dropped in place,
//! without touching the heap.

use crate::ast::{Expr, VectorSelector};

impl Expr {
    /// Takes the selector out of an `Expr::VectorSelector`, leaving an empty
    /// one behind; `None` for any other node. (A type with a `Drop` impl
    /// cannot be destructured by value.)
    pub fn take_vector_selector(&mut self) -> Option<VectorSelector> {
        match self {
            Expr::VectorSelector(vs) => Some(std::mem::replace(
                vs,
                VectorSelector {
                    name: None,
                    matchers: Vec::new(),
                    offset: 0,
                    at: None,
                },
            )),
            _ => None,
        }
    }
}

impl Drop for Expr {
    fn drop(&mut self) {
        if !has_nested_children(self) {
            return;
        }
        let mut pending = Vec::new();
        detach_children(self, &mut pending);
        while let Some(mut e) = pending.pop() {
            detach_children(&mut e, &mut pending);
            // `e` now has no children that have children of their own, so
            // its own `drop` returns at the first check.
        }
    }
}

/// Whether `e` has a child that itself has children: only then can the
/// derived glue recurse more than one level.
fn has_nested_children(e: &Expr) -> bool {
    let mut nested = false;
    for_each_child(e, |c| nested |= has_children(c));
    nested
}

fn has_children(e: &Expr) -> bool {
    let mut any = false;
    for_each_child(e, |_| any = true);
    any
}

fn for_each_child(e: &Expr, mut f: impl FnMut(&Expr)) {
    match e {
        Expr::Paren(inner) | Expr::Unary(_, inner) => f(inner),
        Expr::Subquery(s) => f(&s.expr),
        Expr::Binary(b) => {
            f(&b.lhs);
            f(&b.rhs);
        }
        Expr::Aggregate(a) => {
            f(&a.expr);
            if let Some(p) = &a.param {
                f(p);
            }
        }
        Expr::Call(c) => c.args.iter().for_each(f),
        Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {}
    }
}

/// Moves every child of `e` that has children of its own onto `out`,
/// leaving a leaf in its place.
fn detach_children(e: &mut Expr, out: &mut Vec<Expr>) {
    let mut take = |slot: &mut Expr| {
        if has_children(slot) {
            out.push(std::mem::replace(slot, Expr::Number(0.0)));
        }
    };
    match e {
        Expr::Paren(inner) | Expr::Unary(_, inner) => take(inner),
        Expr::Subquery(s) => take(&mut s.expr),
        Expr::Binary(b) => {
            take(&mut b.lhs);
            take(&mut b.rhs);
        }
        Expr::Aggregate(a) => {
            take(&mut a.expr);
            if let Some(p) = &mut a.param {
                take(p);
            }
        }
        Expr::Call(c) => c.args.iter_mut().for_each(take),
        Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{Expr, UnaryOp};

    #[test]
    fn a_million_levels_drop_on_a_small_stack() {
        let h = std::thread::Builder::new()
            .stack_size(256 << 10)
            .spawn(|| {
                let mut e = Expr::Number(1.0);
                for k in 0..1_000_000 {
                    e = if k % 2 == 0 {
                        Expr::Paren(Box::new(e))
                    } else {
                        Expr::Unary(UnaryOp::Neg, Box::new(e))
                    };
                }
                drop(e);
            })
            .expect("spawn");
        assert!(h.join().is_ok());
    }

    #[test]
    fn parsed_trees_still_compare_and_clone_after_drop_glue() {
        let a = crate::parser::parse("sum by (x) (rate(a[5m])) / on(x) -(b + c)").expect("parse");
        let b = a.clone();
        assert_eq!(a, b);
        drop(a);
        assert_eq!(b.to_string(), "sum by (x) (rate(a[5m])) / on (x) -(b + c)");
    }
}
