//! Iterative `Drop` for [`Expr`].
//!
//! The derived drop glue of a tree of boxes recurses once per level, so a
//! very deep AST (built in code; the parser stops at its depth limit)
//! overflows the stack when it is dropped. This `Drop` moves every child
//! that itself has children onto an explicit heap stack first, so each
//! node is dropped with only leaves below it and the native stack depth
//! stays constant whatever the depth of the tree.

use std::mem;

use crate::ast::{Expr, VectorSelector};

/// A cheap leaf put in place of a child that was moved out.
fn placeholder() -> Expr {
    Expr::Number(0.0)
}

/// True if the expression owns further expressions.
fn has_children(e: &Expr) -> bool {
    match e {
        Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {
            false
        }
        Expr::Call(c) => !c.args.is_empty(),
        Expr::Subquery(_)
        | Expr::Paren(_)
        | Expr::Unary(..)
        | Expr::Binary(_)
        | Expr::Aggregate(_) => true,
    }
}

/// Moves `child` onto `stack` (leaving a leaf behind) if it has children
/// of its own; a leaf child is left in place and dropped with its parent.
fn detach(child: &mut Expr, stack: &mut Vec<Expr>) {
    if has_children(child) {
        stack.push(mem::replace(child, placeholder()));
    }
}

/// Detaches every non-leaf child of `e`.
fn detach_children(e: &mut Expr, stack: &mut Vec<Expr>) {
    match e {
        Expr::Number(_) | Expr::String(_) | Expr::VectorSelector(_) | Expr::MatrixSelector(_) => {}
        Expr::Subquery(s) => detach(&mut s.expr, stack),
        Expr::Paren(inner) | Expr::Unary(_, inner) => detach(inner, stack),
        Expr::Binary(b) => {
            detach(&mut b.lhs, stack);
            detach(&mut b.rhs, stack);
        }
        Expr::Aggregate(a) => {
            detach(&mut a.expr, stack);
            if let Some(p) = a.param.as_mut() {
                detach(p, stack);
            }
        }
        Expr::Call(c) => {
            for arg in c.args.iter_mut() {
                detach(arg, stack);
            }
        }
    }
}

impl Expr {
    /// The selector of an [`Expr::VectorSelector`], or the expression back.
    ///
    /// `Expr` implements `Drop`, so its variants cannot be moved out of with
    /// a by-value `match`; this moves the selector out instead.
    pub fn into_vector_selector(mut self) -> Result<VectorSelector, Expr> {
        match &mut self {
            Expr::VectorSelector(vs) => Ok(VectorSelector {
                name: vs.name.take(),
                matchers: mem::take(&mut vs.matchers),
                offset: vs.offset,
                offset_expr: vs.offset_expr.take(),
                at: vs.at,
                boundary: vs.boundary,
            }),
            _ => Err(self),
        }
    }
}

impl Drop for Expr {
    fn drop(&mut self) {
        // Shallow trees (every child a leaf) are the common case: no
        // allocation for them.
        let deep = match self {
            Expr::Subquery(s) => has_children(&s.expr),
            Expr::Paren(inner) | Expr::Unary(_, inner) => has_children(inner),
            Expr::Binary(b) => has_children(&b.lhs) || has_children(&b.rhs),
            Expr::Aggregate(a) => {
                has_children(&a.expr) || a.param.as_deref().is_some_and(has_children)
            }
            Expr::Call(c) => c.args.iter().any(has_children),
            Expr::Number(_)
            | Expr::String(_)
            | Expr::VectorSelector(_)
            | Expr::MatrixSelector(_) => false,
        };
        if !deep {
            return;
        }
        let mut stack = Vec::new();
        detach_children(self, &mut stack);
        while let Some(mut e) = stack.pop() {
            detach_children(&mut e, &mut stack);
            // `e` now has only leaf children; dropping it here re-enters
            // this function, which returns at once (`deep` is false).
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::ast::{Expr, UnaryOp};
    use crate::parser::parse;

    #[test]
    fn deep_chain_drops_on_a_small_stack() {
        let h = std::thread::Builder::new()
            .stack_size(256 * 1024)
            .spawn(|| {
                let mut e = Expr::Number(1.0);
                for k in 0..200_000 {
                    e = if k % 2 == 0 {
                        Expr::Paren(Box::new(e))
                    } else {
                        Expr::Unary(UnaryOp::Neg, Box::new(e))
                    };
                }
                drop(e);
            })
            .expect("spawn");
        assert!(h.join().is_ok(), "dropping a deep AST overflowed");
    }

    #[test]
    fn parsed_trees_still_compare_clone_and_drop() {
        let q = "sum by (a) (rate(x[5m])) / on(a) group_left topk(3, -(y + 1)) \
                 + max_over_time((z * 2)[10m:1m])";
        let e = parse(q).expect("parse");
        let c = e.clone();
        assert_eq!(e, c);
        assert_eq!(e.to_string(), c.to_string());
        drop(e);
        assert_eq!(parse(q).expect("reparse"), c);
    }
}
