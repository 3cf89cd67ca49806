//! Reduction operators: MPI's predefined ops ([`ReduceOp`], with the constants in
//! [`crate::op`]) and user ops ([`UserOp`]), and the values they combine.
//!
//! An operator combines two *elements*: numbers, bools, tuples, or (value, index) pairs.
//! A vector (or array) is reduced element by element, as MPI reduces a buffer of `count`
//! elements. Every combination is `a ∘ b` with `a` standing for lower ranks than `b`, so a
//! non-commutative operator gives the rank-order product.

use serde::de::DeserializeOwned;
use serde::Serialize;
use std::cmp::Ordering;
use std::fmt;
use std::rc::Rc;

/// MPI's predefined reduction operators.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ReduceOp {
    /// `MPI_SUM` (integers wrap, as C's unsigned arithmetic does).
    Sum,
    /// `MPI_PROD` (integers wrap).
    Prod,
    /// `MPI_MAX`.
    Max,
    /// `MPI_MIN`.
    Min,
    /// `MPI_LAND`: logical and (an integer is true when non-zero).
    Land,
    /// `MPI_LOR`: logical or.
    Lor,
    /// `MPI_LXOR`: logical exclusive or.
    Lxor,
    /// `MPI_BAND`: bitwise and (integers and bools).
    Band,
    /// `MPI_BOR`: bitwise or.
    Bor,
    /// `MPI_BXOR`: bitwise exclusive or.
    Bxor,
    /// `MPI_MAXLOC` on (value, index) pairs: the largest value; ties go to the smaller index.
    Maxloc,
    /// `MPI_MINLOC` on (value, index) pairs: the smallest value; ties go to the smaller index.
    Minloc,
    /// `MPI_REPLACE`: the later operand, so a reduction gives the last rank's value.
    Replace,
    /// `MPI_NO_OP`: the earlier operand, so a reduction gives the first rank's value.
    NoOp,
}

impl ReduceOp {
    /// Every predefined operator.
    pub const ALL: [ReduceOp; 14] = [
        ReduceOp::Sum,
        ReduceOp::Prod,
        ReduceOp::Max,
        ReduceOp::Min,
        ReduceOp::Land,
        ReduceOp::Lor,
        ReduceOp::Lxor,
        ReduceOp::Band,
        ReduceOp::Bor,
        ReduceOp::Bxor,
        ReduceOp::Maxloc,
        ReduceOp::Minloc,
        ReduceOp::Replace,
        ReduceOp::NoOp,
    ];

    /// The MPI name, e.g. `MPI_SUM`.
    pub fn mpi_name(self) -> &'static str {
        match self {
            ReduceOp::Sum => "MPI_SUM",
            ReduceOp::Prod => "MPI_PROD",
            ReduceOp::Max => "MPI_MAX",
            ReduceOp::Min => "MPI_MIN",
            ReduceOp::Land => "MPI_LAND",
            ReduceOp::Lor => "MPI_LOR",
            ReduceOp::Lxor => "MPI_LXOR",
            ReduceOp::Band => "MPI_BAND",
            ReduceOp::Bor => "MPI_BOR",
            ReduceOp::Bxor => "MPI_BXOR",
            ReduceOp::Maxloc => "MPI_MAXLOC",
            ReduceOp::Minloc => "MPI_MINLOC",
            ReduceOp::Replace => "MPI_REPLACE",
            ReduceOp::NoOp => "MPI_NO_OP",
        }
    }

    /// Whether `a ∘ b == b ∘ a`. REPLACE and NO_OP are not: they pick a side.
    pub fn is_commutative(self) -> bool {
        !matches!(self, ReduceOp::Replace | ReduceOp::NoOp)
    }
}

impl fmt::Display for ReduceOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.mpi_name())
    }
}

/// MPI's predefined operators under their mpi4py names: `op::SUM`, `op::MAXLOC`, ….
pub mod names {
    use super::ReduceOp;

    /// `MPI_SUM`.
    pub const SUM: ReduceOp = ReduceOp::Sum;
    /// `MPI_PROD`.
    pub const PROD: ReduceOp = ReduceOp::Prod;
    /// `MPI_MAX`.
    pub const MAX: ReduceOp = ReduceOp::Max;
    /// `MPI_MIN`.
    pub const MIN: ReduceOp = ReduceOp::Min;
    /// `MPI_LAND`.
    pub const LAND: ReduceOp = ReduceOp::Land;
    /// `MPI_LOR`.
    pub const LOR: ReduceOp = ReduceOp::Lor;
    /// `MPI_LXOR`.
    pub const LXOR: ReduceOp = ReduceOp::Lxor;
    /// `MPI_BAND`.
    pub const BAND: ReduceOp = ReduceOp::Band;
    /// `MPI_BOR`.
    pub const BOR: ReduceOp = ReduceOp::Bor;
    /// `MPI_BXOR`.
    pub const BXOR: ReduceOp = ReduceOp::Bxor;
    /// `MPI_MAXLOC`.
    pub const MAXLOC: ReduceOp = ReduceOp::Maxloc;
    /// `MPI_MINLOC`.
    pub const MINLOC: ReduceOp = ReduceOp::Minloc;
    /// `MPI_REPLACE`.
    pub const REPLACE: ReduceOp = ReduceOp::Replace;
    /// `MPI_NO_OP`.
    pub const NO_OP: ReduceOp = ReduceOp::NoOp;
}

/// A value the predefined operators apply to: a number, a bool, a tuple of them
/// (component by component), or a (value, index) pair for MAXLOC and MINLOC.
pub trait Element: Serialize + DeserializeOwned + Clone + 'static {
    /// `a ∘ b` for a predefined operator, `a` from lower ranks; `Err` says why the operator
    /// does not apply to this type.
    fn apply(op: ReduceOp, a: &Self, b: &Self) -> Result<Self, OpError>;

    /// The order MAX, MIN, MAXLOC and MINLOC use, if the type has one.
    fn order(a: &Self, b: &Self) -> Option<Ordering>;

    /// [`Element::apply`] element by element into `acc`, `acc` the lower operand if
    /// `acc_lower`; `other` is as long as `acc`. Numbers override it with one loop per
    /// operator for the common ones, the same values without a call per element.
    fn apply_into(op: ReduceOp, acc: &mut [Self], other: &[Self], acc_lower: bool) -> Result<(), OpError> {
        apply_each(op, acc, other, acc_lower)
    }
}

/// [`Element::apply`] pair by pair: what [`Element::apply_into`] does for any element, and
/// for the operators a number's own loops leave out.
fn apply_each<E: Element>(op: ReduceOp, acc: &mut [E], other: &[E], acc_lower: bool) -> Result<(), OpError> {
    each_into(acc, other, acc_lower, |a, b| E::apply(op, a, b))
}

/// `acc[i] = combine(acc[i], other[i])` (the operands swapped unless `acc_lower`), up to
/// the first error.
pub(crate) fn each_into<E>(
    acc: &mut [E],
    other: &[E],
    acc_lower: bool,
    combine: impl Fn(&E, &E) -> Result<E, OpError>,
) -> Result<(), OpError> {
    for (a, b) in acc.iter_mut().zip(other) {
        *a = if acc_lower { combine(a, b) } else { combine(b, a) }?;
    }
    Ok(())
}

/// `acc[i] = f(acc[i], other[i])` for an operator whose operands commute (or `f` takes
/// them as `(lower, higher)` when `acc_lower`, `(higher, lower)` otherwise).
#[inline]
fn zip_into<E: Copy>(acc: &mut [E], other: &[E], acc_lower: bool, f: impl Fn(E, E) -> E) {
    if acc_lower {
        acc.iter_mut().zip(other).for_each(|(a, &b)| *a = f(*a, b));
    } else {
        acc.iter_mut().zip(other).for_each(|(a, &b)| *a = f(b, *a));
    }
}

/// Why a predefined operator cannot combine two operands.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum OpError {
    /// The operator is not defined for the type (`MPI_ERR_OP`).
    Undefined {
        /// The operator.
        op: ReduceOp,
        /// The type it was applied to.
        type_name: &'static str,
        /// Why, as the rest of the sentence (`: bitwise operators take integers or bools`).
        why: &'static str,
    },
    /// Two ranks gave vectors of different lengths.
    Lengths {
        /// The operator.
        op: ReduceOp,
        /// The lower rank's length.
        left: usize,
        /// The other length.
        right: usize,
    },
}

impl std::fmt::Display for OpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OpError::Undefined { op, type_name, why } => {
                write!(f, "{op} is not defined for `{}`{why}", crate::codec::written(type_name))
            }
            OpError::Lengths { op, left, right } => write!(
                f,
                "{op} of vectors of different lengths ({left} and {right}): every rank must give vectors of the same \
                 length"
            ),
        }
    }
}

impl std::error::Error for OpError {}

fn not_defined(op: ReduceOp, type_name: &'static str, why: &'static str) -> OpError {
    OpError::Undefined { op, type_name, why }
}

/// REPLACE, NO_OP, MAX and MIN, which any ordered type supports.
fn common<T: Element>(op: ReduceOp, a: &T, b: &T) -> Option<Result<T, OpError>> {
    let pick = |take_a: bool| Some(Ok(if take_a { a.clone() } else { b.clone() }));
    match op {
        ReduceOp::Replace => pick(false),
        ReduceOp::NoOp => pick(true),
        ReduceOp::Max | ReduceOp::Min => match T::order(a, b) {
            // Ties keep the earlier operand.
            Some(o) => pick(if op == ReduceOp::Max { o != Ordering::Less } else { o != Ordering::Greater }),
            None => Some(Err(not_defined(op, std::any::type_name::<T>(), ": its values are not ordered"))),
        },
        ReduceOp::Maxloc | ReduceOp::Minloc => {
            Some(Err(not_defined(op, std::any::type_name::<T>(), "; it takes (value, index) pairs, e.g. (f64, usize)")))
        }
        _ => None,
    }
}

macro_rules! integer_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            fn apply(op: ReduceOp, a: &Self, b: &Self) -> Result<Self, OpError> {
                if let Some(r) = common(op, a, b) {
                    return r;
                }
                let (x, y) = (*a, *b);
                Ok(match op {
                    ReduceOp::Sum => x.wrapping_add(y),
                    ReduceOp::Prod => x.wrapping_mul(y),
                    ReduceOp::Land => <$t>::from((x != 0) && (y != 0)),
                    ReduceOp::Lor => <$t>::from((x != 0) || (y != 0)),
                    ReduceOp::Lxor => <$t>::from((x != 0) != (y != 0)),
                    ReduceOp::Band => x & y,
                    ReduceOp::Bor => x | y,
                    ReduceOp::Bxor => x ^ y,
                    _ => unreachable!("handled by common"),
                })
            }

            fn order(a: &Self, b: &Self) -> Option<Ordering> {
                Some(a.cmp(b))
            }

            fn apply_into(op: ReduceOp, acc: &mut [Self], other: &[Self], acc_lower: bool) -> Result<(), OpError> {
                match op {
                    ReduceOp::Sum => zip_into(acc, other, acc_lower, <$t>::wrapping_add),
                    ReduceOp::Prod => zip_into(acc, other, acc_lower, <$t>::wrapping_mul),
                    ReduceOp::Max => zip_into(acc, other, acc_lower, Ord::max),
                    ReduceOp::Min => zip_into(acc, other, acc_lower, Ord::min),
                    ReduceOp::Band => zip_into(acc, other, acc_lower, |x, y| x & y),
                    ReduceOp::Bor => zip_into(acc, other, acc_lower, |x, y| x | y),
                    ReduceOp::Bxor => zip_into(acc, other, acc_lower, |x, y| x ^ y),
                    _ => return apply_each(op, acc, other, acc_lower),
                }
                Ok(())
            }
        }
    )*};
}

integer_element!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize);

macro_rules! float_element {
    ($($t:ty),*) => {$(
        impl Element for $t {
            fn apply(op: ReduceOp, a: &Self, b: &Self) -> Result<Self, OpError> {
                if let Some(r) = common(op, a, b) {
                    return r;
                }
                let (x, y) = (*a, *b);
                let truth = |v: $t| v != 0.0;
                let from = |t: bool| if t { 1.0 } else { 0.0 };
                match op {
                    ReduceOp::Sum => Ok(x + y),
                    ReduceOp::Prod => Ok(x * y),
                    ReduceOp::Land => Ok(from(truth(x) && truth(y))),
                    ReduceOp::Lor => Ok(from(truth(x) || truth(y))),
                    ReduceOp::Lxor => Ok(from(truth(x) != truth(y))),
                    _ => Err(not_defined(op, stringify!($t), ": bitwise operators take integers or bools")),
                }
            }

            fn order(a: &Self, b: &Self) -> Option<Ordering> {
                a.partial_cmp(b)
            }

            /// SUM and PROD in one loop; the others (MAX and MIN refuse NaN) element by element.
            fn apply_into(op: ReduceOp, acc: &mut [Self], other: &[Self], acc_lower: bool) -> Result<(), OpError> {
                match op {
                    ReduceOp::Sum => zip_into(acc, other, acc_lower, |x, y| x + y),
                    ReduceOp::Prod => zip_into(acc, other, acc_lower, |x, y| x * y),
                    _ => return apply_each(op, acc, other, acc_lower),
                }
                Ok(())
            }
        }
    )*};
}

float_element!(f32, f64);

impl Element for bool {
    fn apply(op: ReduceOp, a: &Self, b: &Self) -> Result<Self, OpError> {
        if let Some(r) = common(op, a, b) {
            return r;
        }
        let (x, y) = (*a, *b);
        match op {
            ReduceOp::Land | ReduceOp::Band | ReduceOp::Prod => Ok(x && y),
            ReduceOp::Lor | ReduceOp::Bor | ReduceOp::Sum => Ok(x || y),
            ReduceOp::Lxor | ReduceOp::Bxor => Ok(x != y),
            _ => unreachable!("handled by common"),
        }
    }

    fn order(a: &Self, b: &Self) -> Option<Ordering> {
        Some(a.cmp(b))
    }
}

/// Pairs: MAXLOC and MINLOC take `(value, index)`; the other operators apply component by
/// component (so `(sum, count)` adds up with SUM).
impl<A: Element, B: Element> Element for (A, B) {
    fn apply(op: ReduceOp, a: &Self, b: &Self) -> Result<Self, OpError> {
        match op {
            ReduceOp::Maxloc | ReduceOp::Minloc => {
                let value = A::order(&a.0, &b.0).ok_or_else(|| {
                    not_defined(op, std::any::type_name::<Self>(), ": the values (first components) are not ordered")
                })?;
                let index = B::order(&a.1, &b.1).ok_or_else(|| {
                    not_defined(op, std::any::type_name::<Self>(), ": the indices (second components) are not ordered")
                })?;
                let better = if op == ReduceOp::Maxloc { Ordering::Greater } else { Ordering::Less };
                // The better value wins; on a tie, the smaller index.
                let take_a = value == better || (value == Ordering::Equal && index != Ordering::Greater);
                Ok(if take_a { a.clone() } else { b.clone() })
            }
            ReduceOp::Replace => Ok(b.clone()),
            ReduceOp::NoOp => Ok(a.clone()),
            _ => Ok((A::apply(op, &a.0, &b.0)?, B::apply(op, &a.1, &b.1)?)),
        }
    }

    fn order(a: &Self, b: &Self) -> Option<Ordering> {
        match A::order(&a.0, &b.0)? {
            Ordering::Equal => B::order(&a.1, &b.1),
            o => Some(o),
        }
    }
}

impl<A: Element, B: Element, C: Element> Element for (A, B, C) {
    fn apply(op: ReduceOp, a: &Self, b: &Self) -> Result<Self, OpError> {
        match op {
            ReduceOp::Maxloc | ReduceOp::Minloc => Err(not_defined(
                op,
                std::any::type_name::<Self>(),
                "; it takes (value, index) pairs, e.g. (f64, usize)",
            )),
            ReduceOp::Replace => Ok(b.clone()),
            ReduceOp::NoOp => Ok(a.clone()),
            _ => Ok((A::apply(op, &a.0, &b.0)?, B::apply(op, &a.1, &b.1)?, C::apply(op, &a.2, &b.2)?)),
        }
    }

    fn order(a: &Self, b: &Self) -> Option<Ordering> {
        match A::order(&a.0, &b.0)? {
            Ordering::Equal => match B::order(&a.1, &b.1)? {
                Ordering::Equal => C::order(&a.2, &b.2),
                o => Some(o),
            },
            o => Some(o),
        }
    }
}

/// Vectors as elements (for a vector of vectors): element by element.
impl<E: Element> Element for Vec<E> {
    fn apply(op: ReduceOp, a: &Self, b: &Self) -> Result<Self, OpError> {
        if a.len() != b.len() {
            return Err(OpError::Lengths { op, left: a.len(), right: b.len() });
        }
        a.iter().zip(b).map(|(x, y)| E::apply(op, x, y)).collect()
    }

    fn order(_: &Self, _: &Self) -> Option<Ordering> {
        None
    }
}

/// A value a reduction takes: a sequence of elements (one for a scalar, `len` for a
/// vector), reduced element by element.
pub trait Operand: Serialize + DeserializeOwned + Clone + 'static {
    /// What the operator combines.
    type Elem: Element;

    /// The value's elements, in order.
    fn into_elements(self) -> Vec<Self::Elem>;

    /// A value of `elements` (as many as [`Operand::into_elements`] gave).
    fn from_elements(elements: Vec<Self::Elem>) -> Self;
}

macro_rules! scalar_operand {
    ($($t:ty),*) => {$(
        impl Operand for $t {
            type Elem = $t;
            fn into_elements(self) -> Vec<$t> {
                vec![self]
            }
            fn from_elements(elements: Vec<$t>) -> $t {
                elements.into_iter().next().expect("a scalar has one element")
            }
        }
    )*};
}

scalar_operand!(i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, bool);

impl<A: Element, B: Element> Operand for (A, B) {
    type Elem = (A, B);
    fn into_elements(self) -> Vec<(A, B)> {
        vec![self]
    }
    fn from_elements(elements: Vec<(A, B)>) -> (A, B) {
        elements.into_iter().next().expect("a pair is one element")
    }
}

impl<A: Element, B: Element, C: Element> Operand for (A, B, C) {
    type Elem = (A, B, C);
    fn into_elements(self) -> Vec<(A, B, C)> {
        vec![self]
    }
    fn from_elements(elements: Vec<(A, B, C)>) -> (A, B, C) {
        elements.into_iter().next().expect("a triple is one element")
    }
}

impl<E: Element> Operand for Vec<E> {
    type Elem = E;
    fn into_elements(self) -> Vec<E> {
        self
    }
    fn from_elements(elements: Vec<E>) -> Vec<E> {
        elements
    }
}

impl<E: Element, const N: usize> Operand for [E; N]
where
    [E; N]: Serialize + DeserializeOwned,
{
    type Elem = E;
    fn into_elements(self) -> Vec<E> {
        self.into()
    }
    fn from_elements(elements: Vec<E>) -> [E; N] {
        elements.try_into().unwrap_or_else(|_| unreachable!("an array reduces to as many elements as it has"))
    }
}

/// A user op's function, shared by the clones of the op.
type Combine<E> = Rc<dyn Fn(&E, &E) -> E>;

/// A user-defined reduction operator (`MPI_Op_create`): a function `f(a, b) = a ∘ b` where
/// `a` stands for lower ranks than `b`. It must be associative; say whether it is
/// commutative. A `UserOp<E>` reduces values of type `E` whole, and vectors of `E` element
/// by element.
///
/// ```
/// use mpisim::{UserOp, World};
/// // String concatenation: associative, not commutative.
/// let concat = UserOp::new(|a: &String, b: &String| format!("{a}{b}"), false);
/// let run = World::new(4).run(move |comm| comm.allreduce(&comm.rank().to_string(), concat.clone())).unwrap();
/// assert_eq!(run.results, vec!["0123"; 4]);
/// ```
pub struct UserOp<E> {
    f: Combine<E>,
    commutative: bool,
    name: String,
}

impl<E> Clone for UserOp<E> {
    fn clone(&self) -> Self {
        UserOp { f: self.f.clone(), commutative: self.commutative, name: self.name.clone() }
    }
}

impl<E> fmt::Debug for UserOp<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UserOp").field("name", &self.name).field("commutative", &self.commutative).finish()
    }
}

impl<E> UserOp<E> {
    /// An operator of `f`, which computes `a ∘ b` (`a` from lower ranks).
    pub fn new(f: impl Fn(&E, &E) -> E + 'static, commutative: bool) -> UserOp<E> {
        UserOp { f: Rc::new(f), commutative, name: "user op".into() }
    }

    /// The same operator under a name for traces and errors.
    pub fn named(mut self, name: impl Into<String>) -> UserOp<E> {
        self.name = name.into();
        self
    }

    /// Whether it was declared commutative.
    pub fn is_commutative(&self) -> bool {
        self.commutative
    }
}

/// How a reduction of values of type `T` combines them: a [`ReduceOp`] (for any
/// [`Operand`]) or a [`UserOp`]. Implemented by this crate only.
pub trait Operator<T>: Clone + 'static {
    /// The unit the operator combines.
    type Elem: Serialize + DeserializeOwned + Clone + 'static;

    /// The value's elements.
    fn elements(&self, value: T) -> Vec<Self::Elem>;

    /// A value of elements that [`Operator::elements`] gave (after reduction).
    fn assemble(&self, elements: Vec<Self::Elem>) -> T;

    /// `a ∘ b`, `a` from lower ranks.
    fn combine(&self, a: &Self::Elem, b: &Self::Elem) -> Result<Self::Elem, OpError>;

    /// [`Operator::combine`] element by element into `acc`, `acc` the lower operand if
    /// `acc_lower`; `other` is as long as `acc`.
    fn combine_into(&self, acc: &mut [Self::Elem], other: &[Self::Elem], acc_lower: bool) -> Result<(), OpError> {
        each_into(acc, other, acc_lower, |a, b| self.combine(a, b))
    }

    /// Whether `a ∘ b == b ∘ a`.
    fn commutative(&self) -> bool;

    /// The predefined operator, if it is one (MPICH picks some algorithms only for those).
    fn builtin(&self) -> Option<ReduceOp>;

    /// The operator's name for errors.
    fn name(&self) -> String;
}

impl<T: Operand> Operator<T> for ReduceOp {
    type Elem = T::Elem;
    fn elements(&self, value: T) -> Vec<T::Elem> {
        value.into_elements()
    }
    fn assemble(&self, elements: Vec<T::Elem>) -> T {
        T::from_elements(elements)
    }
    fn combine(&self, a: &T::Elem, b: &T::Elem) -> Result<T::Elem, OpError> {
        <T::Elem as Element>::apply(*self, a, b)
    }
    fn combine_into(&self, acc: &mut [T::Elem], other: &[T::Elem], acc_lower: bool) -> Result<(), OpError> {
        <T::Elem as Element>::apply_into(*self, acc, other, acc_lower)
    }
    fn commutative(&self) -> bool {
        self.is_commutative()
    }
    fn builtin(&self) -> Option<ReduceOp> {
        Some(*self)
    }
    fn name(&self) -> String {
        self.mpi_name().to_string()
    }
}

/// A user op on whole values.
impl<E: Serialize + DeserializeOwned + Clone + 'static> Operator<E> for UserOp<E> {
    type Elem = E;
    fn elements(&self, value: E) -> Vec<E> {
        vec![value]
    }
    fn assemble(&self, elements: Vec<E>) -> E {
        elements.into_iter().next().expect("a whole value is one element")
    }
    fn combine(&self, a: &E, b: &E) -> Result<E, OpError> {
        Ok((self.f)(a, b))
    }
    fn commutative(&self) -> bool {
        self.commutative
    }
    fn builtin(&self) -> Option<ReduceOp> {
        None
    }
    fn name(&self) -> String {
        self.name.clone()
    }
}

/// A user op on the elements of vectors, as MPI applies one to a buffer.
impl<E: Serialize + DeserializeOwned + Clone + 'static> Operator<Vec<E>> for UserOp<E> {
    type Elem = E;
    fn elements(&self, value: Vec<E>) -> Vec<E> {
        value
    }
    fn assemble(&self, elements: Vec<E>) -> Vec<E> {
        elements
    }
    fn combine(&self, a: &E, b: &E) -> Result<E, OpError> {
        Ok((self.f)(a, b))
    }
    fn commutative(&self) -> bool {
        self.commutative
    }
    fn builtin(&self) -> Option<ReduceOp> {
        None
    }
    fn name(&self) -> String {
        self.name.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply<E: Element>(op: ReduceOp, a: E, b: E) -> Result<E, OpError> {
        E::apply(op, &a, &b)
    }

    #[test]
    fn arithmetic_and_logic() {
        assert_eq!(apply(ReduceOp::Sum, 250u8, 10), Ok(4));
        assert_eq!(apply(ReduceOp::Prod, 3i32, -4), Ok(-12));
        assert_eq!(apply(ReduceOp::Land, 3i32, 0), Ok(0));
        assert_eq!(apply(ReduceOp::Lxor, 3i32, 5), Ok(0));
        assert_eq!(apply(ReduceOp::Band, 6u8, 3), Ok(2));
        assert_eq!(apply(ReduceOp::Bxor, true, true), Ok(false));
        assert_eq!(apply(ReduceOp::Lor, 0.0f64, 2.5), Ok(1.0));
        assert!(apply(ReduceOp::Band, 1.0f64, 2.0)
            .unwrap_err()
            .to_string()
            .contains("MPI_BAND is not defined for `f64`"));
    }

    #[test]
    fn loc_ties_go_to_the_smaller_index() {
        assert_eq!(apply(ReduceOp::Maxloc, (5.0f64, 3usize), (5.0, 1)), Ok((5.0, 1)));
        assert_eq!(apply(ReduceOp::Maxloc, (5.0f64, 1usize), (5.0, 3)), Ok((5.0, 1)));
        assert_eq!(apply(ReduceOp::Minloc, (2i32, 7i32), (1, 9)), Ok((1, 9)));
        assert!(apply(ReduceOp::Maxloc, 1i32, 2).unwrap_err().to_string().contains("(value, index) pairs"));
    }

    /// What `apply_into` must give: `apply` on each pair, the first error if any.
    fn one_by_one<E: Element>(op: ReduceOp, acc: &[E], other: &[E], acc_lower: bool) -> Result<Vec<E>, OpError> {
        acc.iter().zip(other).map(|(a, b)| if acc_lower { E::apply(op, a, b) } else { E::apply(op, b, a) }).collect()
    }

    fn check_into<E: Element + PartialEq + std::fmt::Debug>(acc: &[E], other: &[E]) {
        for op in ReduceOp::ALL {
            for acc_lower in [true, false] {
                let mut got = acc.to_vec();
                let got = E::apply_into(op, &mut got, other, acc_lower).map(|()| got);
                assert_eq!(got, one_by_one(op, acc, other, acc_lower), "{op} on {acc:?} and {other:?}, {acc_lower}");
            }
        }
    }

    proptest::proptest! {
        /// Each number type's loops give what its operator gives element by element
        /// (NaN and overflow among the values; floats are compared by their bits, every
        /// NaN as one: Rust leaves a NaN result's payload unspecified).
        #[test]
        fn slices_fold_as_their_elements_do(
            ints in proptest::collection::vec((proptest::num::i32::ANY, proptest::num::i32::ANY), 0..9),
            bytes in proptest::collection::vec((proptest::num::u8::ANY, proptest::num::u8::ANY), 0..9),
            floats in proptest::collection::vec((proptest::num::f64::ANY, proptest::num::f64::ANY), 0..9),
        ) {
            let (a, b): (Vec<i32>, Vec<i32>) = ints.into_iter().unzip();
            check_into(&a, &b);
            let (a, b): (Vec<u8>, Vec<u8>) = bytes.into_iter().unzip();
            check_into(&a, &b);
            let (a, b): (Vec<f64>, Vec<f64>) = floats.into_iter().unzip();
            let bits = |v: &[f64]| v.iter().map(|x| if x.is_nan() { u64::MAX } else { x.to_bits() }).collect::<Vec<u64>>();
            for op in ReduceOp::ALL {
                for acc_lower in [true, false] {
                    let mut got = a.clone();
                    let got = f64::apply_into(op, &mut got, &b, acc_lower).map(|()| bits(&got));
                    let want = one_by_one(op, &a, &b, acc_lower).map(|v| bits(&v));
                    proptest::prop_assert_eq!(got, want, "{} on {:?} and {:?}", op, a, b);
                }
            }
        }
    }

    #[test]
    fn a_nan_stops_max_as_it_does_one_by_one() {
        let mut acc = vec![1.0f64, f64::NAN];
        let err = f64::apply_into(ReduceOp::Max, &mut acc, &[2.0, 3.0], true).unwrap_err();
        assert!(err.to_string().contains("not ordered"), "{err}");
        check_into(&[(1.0f64, 2usize)], &[(1.0, 1)]);
        check_into(&[true, false], &[true, true]);
    }

    #[test]
    fn replace_and_no_op_pick_a_side() {
        assert_eq!(apply(ReduceOp::Replace, 1u32, 2), Ok(2));
        assert_eq!(apply(ReduceOp::NoOp, 1u32, 2), Ok(1));
        assert!(!ReduceOp::Replace.is_commutative());
    }
}
