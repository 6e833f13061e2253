//! The compiled evaluation plan: a typed tree whose every node knows the type
//! it produces, with field accessors resolved and literal lists pre-built.
//! Evaluating it allocates nothing unless a rule concatenates strings.

use std::borrow::Cow;
use std::collections::HashSet;

use super::EvalError;
use crate::facts::{Facts, Item};

/// How many comprehension variables can be in scope at once.
pub(crate) const MAX_SLOTS: usize = 8;

/// The value bound to a comprehension variable.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Val<'a> {
    Unset,
    Item(&'a Item),
    Str(&'a str),
    Int(i64),
    Double(f64),
    Bool(bool),
}

/// The evaluation context: the facts and the comprehension variables.
pub(crate) struct Cx<'a> {
    pub(crate) facts: &'a Facts,
    pub(crate) slots: [Val<'a>; MAX_SLOTS],
}

impl<'a> Cx<'a> {
    pub(crate) fn new(facts: &'a Facts) -> Self {
        Cx { facts, slots: [Val::Unset; MAX_SLOTS] }
    }

    #[inline]
    fn item(&self, slot: u8) -> &'a Item {
        match self.slots[slot as usize] {
            Val::Item(item) => item,
            // The compiler only reads a slot inside the comprehension binding it.
            _ => unreachable!("slot {slot} holds no item"),
        }
    }
}

/// A comparison operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The operator giving the same result with its operands swapped.
    pub(crate) fn flipped(self) -> CmpOp {
        match self {
            CmpOp::Eq => CmpOp::Eq,
            CmpOp::Ne => CmpOp::Ne,
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
        }
    }

    #[inline]
    fn ord<T: Ord + ?Sized>(self, a: &T, b: &T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        }
    }

    /// As the `cel` interpreter: `==` / `!=` with a NaN are false / true,
    /// ordering a NaN is an error.
    #[inline]
    fn float(self, a: f64, b: f64) -> Result<bool, EvalError> {
        Ok(match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            _ if a.is_nan() || b.is_nan() => return Err(EvalError::NotComparable),
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
        })
    }
}

/// An arithmetic operator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ArithOp {
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

/// A string predicate method.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum StrFn {
    StartsWith,
    EndsWith,
    Contains,
}

/// The kind of comprehension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Quant {
    Exists,
    All,
    ExistsOne,
}

/// A set of string literals, for `in`.
#[derive(Clone, Debug)]
pub(crate) enum StrSet {
    Small(Vec<Box<str>>),
    Hashed(HashSet<Box<str>>, Vec<Box<str>>),
}

impl StrSet {
    pub(crate) fn new(items: Vec<Box<str>>) -> Self {
        if items.len() > 12 {
            StrSet::Hashed(items.iter().cloned().collect(), items)
        } else {
            StrSet::Small(items)
        }
    }

    #[inline]
    fn contains(&self, s: &str) -> bool {
        match self {
            StrSet::Small(v) => v.iter().any(|x| &**x == s),
            StrSet::Hashed(set, _) => set.contains(s),
        }
    }

    fn as_slice(&self) -> &[Box<str>] {
        match self {
            StrSet::Small(v) | StrSet::Hashed(_, v) => v,
        }
    }
}

/// A list-valued plan node.
#[derive(Clone, Debug)]
pub(crate) enum ListN {
    /// `items`.
    Items,
    /// A `list<string>` field reached from the root, e.g. `declarant.lists`.
    FactStrs(fn(&Facts) -> &[String]),
    /// A `list<string>` field of an item variable, e.g. `i.documents`.
    ItemStrs(u8, fn(&Item) -> &[String]),
    /// `[]`.
    Empty,
    ConstStr(StrSet),
    ConstInt(Vec<i64>),
    ConstDouble(Vec<f64>),
    ConstBool(Vec<bool>),
    DynStr(Vec<StrN>),
    DynInt(Vec<IntN>),
    DynDouble(Vec<DoubleN>),
    DynBool(Vec<BoolN>),
    /// `range.filter(v, pred)`: only its size is ever taken.
    Filter {
        range: Box<ListN>,
        slot: u8,
        pred: Box<BoolN>,
    },
}

/// A bool-valued plan node.
#[derive(Clone, Debug)]
pub(crate) enum BoolN {
    Const(bool),
    Fact(fn(&Facts) -> bool),
    ItemField(u8, fn(&Item) -> bool),
    Var(u8),
    Not(Box<BoolN>),
    And(Box<BoolN>, Box<BoolN>),
    Or(Box<BoolN>, Box<BoolN>),
    Cond(Box<BoolN>, Box<BoolN>, Box<BoolN>),
    EqBool(Box<BoolN>, Box<BoolN>, bool),
    CmpInt(CmpOp, Box<IntN>, Box<IntN>),
    CmpDouble(CmpOp, Box<DoubleN>, Box<DoubleN>),
    CmpStr(CmpOp, Box<StrN>, Box<StrN>),
    /// A comparison with a literal on the right.
    CmpIntConst(CmpOp, Box<IntN>, i64),
    CmpDoubleConst(CmpOp, Box<DoubleN>, f64),
    /// `startsWith`, `endsWith`, `contains` with a literal argument.
    StrConst(StrFn, Box<StrN>, Box<str>),
    /// Fused forms of the above on a field of an item variable, the hot
    /// path of `items.exists(i, ...)` rules.
    ItemStrConst(StrFn, u8, fn(&Item) -> &str, Box<str>),
    ItemStrEqConst(u8, fn(&Item) -> &str, Box<str>, bool),
    ItemStrIn(u8, fn(&Item) -> &str, StrSet),
    ItemDoubleConst(CmpOp, u8, fn(&Item) -> f64, f64),
    /// `s == 'lit'` / `s != 'lit'` (the bool is true for `!=`).
    StrEqConst(Box<StrN>, Box<str>, bool),
    InStr(Box<StrN>, Box<ListN>),
    InInt(Box<IntN>, Box<ListN>),
    InDouble(Box<DoubleN>, Box<ListN>),
    InBool(Box<BoolN>, Box<ListN>),
    StartsWith(Box<StrN>, Box<StrN>),
    EndsWith(Box<StrN>, Box<StrN>),
    Contains(Box<StrN>, Box<StrN>),
    Quant {
        quant: Quant,
        range: Box<ListN>,
        slot: u8,
        body: Box<BoolN>,
    },
}

/// An int-valued plan node.
#[derive(Clone, Debug)]
pub(crate) enum IntN {
    Const(i64),
    Fact(fn(&Facts) -> i64),
    ItemField(u8, fn(&Item) -> i64),
    Var(u8),
    Arith(ArithOp, Box<IntN>, Box<IntN>),
    Neg(Box<IntN>),
    Cond(Box<BoolN>, Box<IntN>, Box<IntN>),
    SizeStr(Box<StrN>),
    SizeList(Box<ListN>),
    FromDouble(Box<DoubleN>),
}

/// A double-valued plan node.
#[derive(Clone, Debug)]
pub(crate) enum DoubleN {
    Const(f64),
    Fact(fn(&Facts) -> f64),
    ItemField(u8, fn(&Item) -> f64),
    Var(u8),
    Arith(ArithOp, Box<DoubleN>, Box<DoubleN>),
    Neg(Box<DoubleN>),
    Cond(Box<BoolN>, Box<DoubleN>, Box<DoubleN>),
    FromInt(Box<IntN>),
}

/// A string-valued plan node.
#[derive(Clone, Debug)]
pub(crate) enum StrN {
    Const(Box<str>),
    Fact(fn(&Facts) -> &str),
    ItemField(u8, fn(&Item) -> &str),
    Var(u8),
    Concat(Box<StrN>, Box<StrN>),
    Cond(Box<BoolN>, Box<StrN>, Box<StrN>),
}

impl BoolN {
    pub(crate) fn eval<'a>(&'a self, cx: &mut Cx<'a>) -> Result<bool, EvalError> {
        match self {
            BoolN::Const(b) => Ok(*b),
            BoolN::Fact(get) => Ok(get(cx.facts)),
            BoolN::ItemField(var, get) => Ok(get(cx.item(*var))),
            BoolN::Var(slot) => match cx.slots[*slot as usize] {
                Val::Bool(b) => Ok(b),
                _ => unreachable!("slot {slot} holds no bool"),
            },
            BoolN::Not(a) => Ok(!a.eval(cx)?),
            BoolN::And(a, b) => match a.eval(cx) {
                Ok(false) => Ok(false),
                Ok(true) => b.eval(cx),
                Err(e) => match b.eval(cx)? {
                    false => Ok(false),
                    true => Err(e),
                },
            },
            BoolN::Or(a, b) => match a.eval(cx) {
                Ok(true) => Ok(true),
                Ok(false) => b.eval(cx),
                Err(e) => match b.eval(cx)? {
                    true => Ok(true),
                    false => Err(e),
                },
            },
            BoolN::Cond(c, a, b) => {
                if c.eval(cx)? {
                    a.eval(cx)
                } else {
                    b.eval(cx)
                }
            }
            BoolN::EqBool(a, b, negate) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                Ok((a == b) != *negate)
            }
            BoolN::CmpInt(op, a, b) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                Ok(op.ord(&a, &b))
            }
            BoolN::CmpDouble(op, a, b) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                op.float(a, b)
            }
            BoolN::CmpStr(op, a, b) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                Ok(op.ord::<str>(&a, &b))
            }
            BoolN::CmpIntConst(op, a, b) => {
                let a = a.eval(cx)?;
                Ok(op.ord(&a, b))
            }
            BoolN::CmpDoubleConst(op, a, b) => {
                let a = a.eval(cx)?;
                op.float(a, *b)
            }
            BoolN::StrConst(f, a, lit) => {
                let a = a.eval(cx)?;
                Ok(match f {
                    StrFn::StartsWith => a.starts_with(&**lit),
                    StrFn::EndsWith => a.ends_with(&**lit),
                    StrFn::Contains => a.contains(&**lit),
                })
            }
            BoolN::ItemStrConst(f, var, get, lit) => {
                let a = get(cx.item(*var));
                Ok(match f {
                    StrFn::StartsWith => a.starts_with(&**lit),
                    StrFn::EndsWith => a.ends_with(&**lit),
                    StrFn::Contains => a.contains(&**lit),
                })
            }
            BoolN::ItemStrEqConst(var, get, lit, negate) => Ok((get(cx.item(*var)) == &**lit) != *negate),
            BoolN::ItemStrIn(var, get, set) => Ok(set.contains(get(cx.item(*var)))),
            BoolN::ItemDoubleConst(op, var, get, k) => op.float(get(cx.item(*var)), *k),
            BoolN::StrEqConst(a, lit, negate) => Ok((*a.eval(cx)? == **lit) != *negate),
            BoolN::InStr(a, list) => {
                let a = a.eval(cx)?;
                list.contains_str(&a, cx)
            }
            BoolN::InInt(a, list) => {
                let a = a.eval(cx)?;
                list.contains_int(a, cx)
            }
            BoolN::InDouble(a, list) => {
                let a = a.eval(cx)?;
                list.contains_double(a, cx)
            }
            BoolN::InBool(a, list) => {
                let a = a.eval(cx)?;
                list.contains_bool(a, cx)
            }
            BoolN::StartsWith(a, b) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                Ok(a.starts_with(&*b))
            }
            BoolN::EndsWith(a, b) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                Ok(a.ends_with(&*b))
            }
            BoolN::Contains(a, b) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                Ok(a.contains(&*b))
            }
            BoolN::Quant { quant, range, slot, body } => quantify(*quant, range, *slot, body, cx),
        }
    }
}

/// `exists`, `all` and `exists_one`, as the `cel` interpreter runs them: an
/// `exists` is true as soon as one element is, and an error on another
/// element only shows when none is (symmetrically for `all` and false);
/// `exists_one` fails on the first error.
fn quantify<'a>(quant: Quant, range: &'a ListN, slot: u8, body: &'a BoolN, cx: &mut Cx<'a>) -> Result<bool, EvalError> {
    let mut pending = None;
    let mut count = 0usize;
    let decided = range.each(slot, cx, |cx| {
        match (quant, body.eval(cx)) {
            (Quant::Exists, Ok(true)) | (Quant::All, Ok(false)) => return Ok(true),
            (Quant::Exists | Quant::All, Ok(_)) => {}
            (Quant::Exists | Quant::All, Err(e)) => pending = Some(e),
            (Quant::ExistsOne, Ok(b)) => count += usize::from(b),
            (Quant::ExistsOne, Err(e)) => return Err(e),
        }
        Ok(false)
    })?;
    match quant {
        Quant::Exists | Quant::All if decided => Ok(quant == Quant::Exists),
        Quant::Exists | Quant::All => match pending {
            Some(e) => Err(e),
            None => Ok(quant == Quant::All),
        },
        Quant::ExistsOne => Ok(count == 1),
    }
}

impl ListN {
    /// Binds each element to `slot` and runs `f`, until `f` returns true
    /// (then returns true) or fails.
    fn each<'a, F>(&'a self, slot: u8, cx: &mut Cx<'a>, mut f: F) -> Result<bool, EvalError>
    where
        F: FnMut(&mut Cx<'a>) -> Result<bool, EvalError>,
    {
        let s = slot as usize;
        macro_rules! each {
            ($iter:expr, $wrap:expr) => {{
                for x in $iter {
                    cx.slots[s] = $wrap(x);
                    if f(cx)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }};
        }
        match self {
            ListN::Items => {
                let facts = cx.facts;
                each!(facts.items.iter(), Val::Item)
            }
            ListN::FactStrs(get) => {
                let facts = cx.facts;
                each!(get(facts).iter(), |x: &'a String| Val::Str(x.as_str()))
            }
            ListN::ItemStrs(var, get) => {
                let item = cx.item(*var);
                each!(get(item).iter(), |x: &'a String| Val::Str(x.as_str()))
            }
            ListN::Empty => Ok(false),
            ListN::ConstStr(set) => each!(set.as_slice().iter().map(|x| &**x), Val::Str),
            ListN::ConstInt(v) => each!(v.iter(), |x: &i64| Val::Int(*x)),
            ListN::ConstDouble(v) => each!(v.iter(), |x: &f64| Val::Double(*x)),
            ListN::ConstBool(v) => each!(v.iter(), |x: &bool| Val::Bool(*x)),
            ListN::DynStr(_) | ListN::DynInt(_) | ListN::DynDouble(_) | ListN::DynBool(_) | ListN::Filter { .. } => {
                unreachable!("the compiler rejects comprehensions over computed lists")
            }
        }
    }

    fn size<'a>(&'a self, cx: &mut Cx<'a>) -> Result<i64, EvalError> {
        let n = match self {
            ListN::Items => cx.facts.items.len(),
            ListN::FactStrs(get) => get(cx.facts).len(),
            ListN::ItemStrs(var, get) => get(cx.item(*var)).len(),
            ListN::Empty => 0,
            ListN::ConstStr(set) => set.as_slice().len(),
            ListN::ConstInt(v) => v.len(),
            ListN::ConstDouble(v) => v.len(),
            ListN::ConstBool(v) => v.len(),
            ListN::DynStr(v) => {
                for x in v {
                    x.eval(cx)?;
                }
                v.len()
            }
            ListN::DynInt(v) => {
                for x in v {
                    x.eval(cx)?;
                }
                v.len()
            }
            ListN::DynDouble(v) => {
                for x in v {
                    x.eval(cx)?;
                }
                v.len()
            }
            ListN::DynBool(v) => {
                for x in v {
                    x.eval(cx)?;
                }
                v.len()
            }
            ListN::Filter { range, slot, pred } => {
                let mut count = 0usize;
                range.each(*slot, cx, |cx| {
                    count += usize::from(pred.eval(cx)?);
                    Ok(false)
                })?;
                count
            }
        };
        i64::try_from(n).map_err(|_| EvalError::Overflow('#'))
    }

    fn contains_str<'a>(&'a self, s: &str, cx: &mut Cx<'a>) -> Result<bool, EvalError> {
        match self {
            ListN::ConstStr(set) => Ok(set.contains(s)),
            ListN::FactStrs(get) => Ok(get(cx.facts).iter().any(|x| x == s)),
            ListN::ItemStrs(var, get) => Ok(get(cx.item(*var)).iter().any(|x| x == s)),
            ListN::Empty => Ok(false),
            ListN::DynStr(v) => {
                // As the interpreter: every element is evaluated first.
                let mut found = false;
                for x in v {
                    found |= *x.eval(cx)? == *s;
                }
                Ok(found)
            }
            _ => unreachable!("the compiler checks element types"),
        }
    }

    fn contains_int<'a>(&'a self, n: i64, cx: &mut Cx<'a>) -> Result<bool, EvalError> {
        match self {
            ListN::ConstInt(v) => Ok(v.contains(&n)),
            ListN::Empty => Ok(false),
            ListN::DynInt(v) => {
                let mut found = false;
                for x in v {
                    found |= x.eval(cx)? == n;
                }
                Ok(found)
            }
            _ => unreachable!("the compiler checks element types"),
        }
    }

    fn contains_double<'a>(&'a self, d: f64, cx: &mut Cx<'a>) -> Result<bool, EvalError> {
        match self {
            ListN::ConstDouble(v) => Ok(v.contains(&d)),
            ListN::ConstInt(v) => Ok(v.iter().any(|x| *x as f64 == d)),
            ListN::Empty => Ok(false),
            ListN::DynDouble(v) => {
                let mut found = false;
                for x in v {
                    found |= x.eval(cx)? == d;
                }
                Ok(found)
            }
            ListN::DynInt(v) => {
                let mut found = false;
                for x in v {
                    found |= x.eval(cx)? as f64 == d;
                }
                Ok(found)
            }
            _ => unreachable!("the compiler checks element types"),
        }
    }

    fn contains_bool<'a>(&'a self, b: bool, cx: &mut Cx<'a>) -> Result<bool, EvalError> {
        match self {
            ListN::ConstBool(v) => Ok(v.contains(&b)),
            ListN::Empty => Ok(false),
            ListN::DynBool(v) => {
                let mut found = false;
                for x in v {
                    found |= x.eval(cx)? == b;
                }
                Ok(found)
            }
            _ => unreachable!("the compiler checks element types"),
        }
    }
}

impl IntN {
    pub(crate) fn eval<'a>(&'a self, cx: &mut Cx<'a>) -> Result<i64, EvalError> {
        match self {
            IntN::Const(n) => Ok(*n),
            IntN::Fact(get) => Ok(get(cx.facts)),
            IntN::ItemField(var, get) => Ok(get(cx.item(*var))),
            IntN::Var(slot) => match cx.slots[*slot as usize] {
                Val::Int(n) => Ok(n),
                _ => unreachable!("slot {slot} holds no int"),
            },
            IntN::Arith(op, a, b) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                match op {
                    ArithOp::Add => a.checked_add(b).ok_or(EvalError::Overflow('+')),
                    ArithOp::Sub => a.checked_sub(b).ok_or(EvalError::Overflow('-')),
                    ArithOp::Mul => a.checked_mul(b).ok_or(EvalError::Overflow('*')),
                    ArithOp::Div if b == 0 => Err(EvalError::DivisionByZero),
                    ArithOp::Div => a.checked_div(b).ok_or(EvalError::Overflow('/')),
                    ArithOp::Rem if b == 0 => Err(EvalError::RemainderByZero),
                    ArithOp::Rem => a.checked_rem(b).ok_or(EvalError::Overflow('%')),
                }
            }
            IntN::Neg(a) => a.eval(cx)?.checked_neg().ok_or(EvalError::Overflow('-')),
            IntN::Cond(c, a, b) => {
                if c.eval(cx)? {
                    a.eval(cx)
                } else {
                    b.eval(cx)
                }
            }
            IntN::SizeStr(s) => i64::try_from(s.eval(cx)?.chars().count()).map_err(|_| EvalError::Overflow('#')),
            IntN::SizeList(l) => l.size(cx),
            IntN::FromDouble(d) => {
                let d = d.eval(cx)?;
                // As CEL: only doubles strictly inside the int range convert.
                if d > i64::MIN as f64 && d < i64::MAX as f64 {
                    Ok(d as i64)
                } else {
                    Err(EvalError::ConversionOutOfRange)
                }
            }
        }
    }
}

impl DoubleN {
    pub(crate) fn eval<'a>(&'a self, cx: &mut Cx<'a>) -> Result<f64, EvalError> {
        match self {
            DoubleN::Const(d) => Ok(*d),
            DoubleN::Fact(get) => Ok(get(cx.facts)),
            DoubleN::ItemField(var, get) => Ok(get(cx.item(*var))),
            DoubleN::Var(slot) => match cx.slots[*slot as usize] {
                Val::Double(d) => Ok(d),
                _ => unreachable!("slot {slot} holds no double"),
            },
            DoubleN::Arith(op, a, b) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                Ok(match op {
                    ArithOp::Add => a + b,
                    ArithOp::Sub => a - b,
                    ArithOp::Mul => a * b,
                    ArithOp::Div => a / b,
                    ArithOp::Rem => unreachable!("the compiler rejects % on doubles"),
                })
            }
            DoubleN::Neg(a) => Ok(-a.eval(cx)?),
            DoubleN::Cond(c, a, b) => {
                if c.eval(cx)? {
                    a.eval(cx)
                } else {
                    b.eval(cx)
                }
            }
            DoubleN::FromInt(n) => Ok(n.eval(cx)? as f64),
        }
    }
}

impl StrN {
    pub(crate) fn eval<'a>(&'a self, cx: &mut Cx<'a>) -> Result<Cow<'a, str>, EvalError> {
        match self {
            StrN::Const(s) => Ok(Cow::Borrowed(s)),
            StrN::Fact(get) => Ok(Cow::Borrowed(get(cx.facts))),
            StrN::ItemField(var, get) => Ok(Cow::Borrowed(get(cx.item(*var)))),
            StrN::Var(slot) => match cx.slots[*slot as usize] {
                Val::Str(s) => Ok(Cow::Borrowed(s)),
                _ => unreachable!("slot {slot} holds no string"),
            },
            StrN::Concat(a, b) => {
                let a = a.eval(cx)?;
                let b = b.eval(cx)?;
                Ok(Cow::Owned(format!("{a}{b}")))
            }
            StrN::Cond(c, a, b) => {
                if c.eval(cx)? {
                    a.eval(cx)
                } else {
                    b.eval(cx)
                }
            }
        }
    }
}
