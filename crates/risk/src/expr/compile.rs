//! Type-checks a parsed CEL expression against the fact schema and compiles
//! it into a [`plan`](super::plan). Every problem is collected, not only the
//! first: a sub-expression that failed to check is typed as an error, which
//! silences the complaints it would otherwise cause further up.

use cel::common::ast::{operators, CallExpr, ComprehensionExpr, Expr, LiteralValue, SourceInfo};
use cel::IdedExpr;

use super::plan::{ArithOp, BoolN, CmpOp, DoubleN, IntN, ListN, Quant, StrFn, StrN, StrSet, MAX_SLOTS};
use super::schema::{self, Getter};
use super::ExprError;

/// The element type of a list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Elem {
    Bool,
    Int,
    Double,
    Str,
    Item,
    /// The elements of `[]`.
    Any,
}

impl Elem {
    fn name(self) -> &'static str {
        match self {
            Elem::Bool => "bool",
            Elem::Int => "int",
            Elem::Double => "double",
            Elem::Str => "string",
            Elem::Item => "item",
            Elem::Any => "dyn",
        }
    }
}

/// An object of the fact model.
#[derive(Clone, Copy, Debug)]
enum Obj {
    Decl,
    Declarant,
    Importer,
    History,
    Item(u8),
}

impl Obj {
    fn name(self) -> &'static str {
        match self {
            Obj::Decl => "decl",
            Obj::Declarant | Obj::Importer => "party",
            Obj::History => "history",
            Obj::Item(_) => "item",
        }
    }
}

/// A checked, compiled sub-expression.
enum C {
    Bool(BoolN),
    Int(IntN),
    Double(DoubleN),
    Str(StrN),
    List(ListN, Elem),
    Obj(Obj),
    /// Failed to check; already reported.
    Err,
}

impl C {
    fn type_name(&self) -> String {
        match self {
            C::Bool(_) => "bool".into(),
            C::Int(_) => "int".into(),
            C::Double(_) => "double".into(),
            C::Str(_) => "string".into(),
            C::List(_, e) => format!("list({})", e.name()),
            C::Obj(o) => o.name().into(),
            C::Err => "error".into(),
        }
    }
}

/// Compiles `root`, parsed from `src`, into a bool plan, or every problem found.
pub(crate) fn compile(src: &str, info: &SourceInfo, root: &IdedExpr) -> Result<BoolN, Vec<ExprError>> {
    let mut checker = Checker { src, info, errors: Vec::new(), scope: Vec::new() };
    let compiled = checker.check(root);
    let plan = match compiled {
        C::Bool(b) => Some(b),
        C::Err => None,
        other => {
            let at = checker.span_start(root);
            checker.error(at, format!("a condition must be a bool, but this expression is a {}", other.type_name()));
            None
        }
    };
    match plan {
        Some(plan) if checker.errors.is_empty() => Ok(plan),
        _ => {
            let mut errors = checker.errors;
            errors.sort_by_key(|e| (e.line, e.column));
            errors.dedup();
            Err(errors)
        }
    }
}

struct Checker<'s> {
    src: &'s str,
    info: &'s SourceInfo,
    errors: Vec<ExprError>,
    /// The comprehension variables in scope, innermost last: name, slot, type.
    scope: Vec<(String, u8, Elem)>,
}

impl Checker<'_> {
    // ---- positions -------------------------------------------------------

    fn offset(&self, id: u64) -> usize {
        self.info.offset_for(id).map_or(0, |(start, _)| start as usize)
    }

    /// Where a node is best pointed at: a field's name, a function's name,
    /// else the token the parser recorded (an operator, a literal…).
    fn pos(&self, e: &IdedExpr) -> usize {
        let at = self.offset(e.id);
        match &e.expr {
            Expr::Select(_) => skip_ws_forward(self.src, at + 1),
            Expr::Comprehension(_) => name_before_paren(self.src, at),
            Expr::Call(call) if is_named_function(&call.func_name) => name_before_paren(self.src, at),
            _ => at,
        }
    }

    /// The leftmost place of a whole sub-expression.
    fn span_start(&self, e: &IdedExpr) -> usize {
        let mut min = self.offset(e.id);
        let mut visit = |child: &IdedExpr| min = min.min(self.span_start(child));
        match &e.expr {
            Expr::Call(call) => {
                call.target.iter().for_each(|t| visit(t));
                call.args.iter().for_each(&mut visit);
            }
            Expr::Select(s) => visit(&s.operand),
            Expr::List(l) => l.elements.iter().for_each(&mut visit),
            Expr::Comprehension(c) => visit(&c.iter_range),
            _ => {}
        }
        min
    }

    fn error(&mut self, byte_offset: usize, message: impl Into<String>) -> C {
        self.errors.push(ExprError::at(self.src, byte_offset, message.into()));
        C::Err
    }

    // ---- checking --------------------------------------------------------

    fn check(&mut self, e: &IdedExpr) -> C {
        match &e.expr {
            Expr::Literal(lit) => self.literal(e, lit),
            Expr::Ident(name) => self.ident(e, name),
            Expr::Select(select) => {
                if select.test {
                    let at = name_before_paren(self.src, self.offset(e.id));
                    return self.error(at, "`has` is not supported in rules");
                }
                let operand = self.check(&select.operand);
                self.field(e, operand, &select.field)
            }
            Expr::List(list) => self.list(e, &list.elements, !list.optional_indices.is_empty()),
            Expr::Map(_) => {
                let at = self.offset(e.id);
                self.error(at, "map literals are not supported in rules")
            }
            Expr::Struct(_) => {
                let at = self.offset(e.id);
                self.error(at, "message literals are not supported in rules")
            }
            Expr::Comprehension(c) => self.comprehension(e, c),
            Expr::Call(call) => self.call(e, call),
            Expr::Unspecified => C::Err,
        }
    }

    fn literal(&mut self, e: &IdedExpr, lit: &LiteralValue) -> C {
        match lit {
            LiteralValue::Boolean(b) => C::Bool(BoolN::Const(*b.inner())),
            LiteralValue::Int(n) => C::Int(IntN::Const(*n.inner())),
            LiteralValue::UInt(n) => match i64::try_from(*n.inner()) {
                Ok(n) => C::Int(IntN::Const(n)),
                Err(_) => {
                    let at = self.offset(e.id);
                    self.error(at, "this unsigned literal is too large for an int")
                }
            },
            LiteralValue::Double(d) => C::Double(DoubleN::Const(*d.inner())),
            LiteralValue::String(s) => C::Str(StrN::Const(s.inner().into())),
            LiteralValue::Null => {
                let at = self.offset(e.id);
                self.error(at, "`null` is not supported in rules")
            }
            LiteralValue::Bytes(_) => {
                let at = self.offset(e.id);
                self.error(at, "bytes literals are not supported in rules")
            }
        }
    }

    fn ident(&mut self, e: &IdedExpr, name: &str) -> C {
        if let Some((_, slot, elem)) = self.scope.iter().rev().find(|(n, _, _)| n == name) {
            let slot = *slot;
            return match elem {
                Elem::Item => C::Obj(Obj::Item(slot)),
                Elem::Str => C::Str(StrN::Var(slot)),
                Elem::Int => C::Int(IntN::Var(slot)),
                Elem::Double => C::Double(DoubleN::Var(slot)),
                Elem::Bool => C::Bool(BoolN::Var(slot)),
                Elem::Any => C::Err,
            };
        }
        match name {
            "decl" => C::Obj(Obj::Decl),
            "items" => C::List(ListN::Items, Elem::Item),
            "declarant" => C::Obj(Obj::Declarant),
            "importer" => C::Obj(Obj::Importer),
            "history" => C::Obj(Obj::History),
            "credit" => C::Str(StrN::Fact(|f| &f.credit)),
            _ => {
                let candidates: Vec<&str> =
                    schema::ROOTS.iter().copied().chain(self.scope.iter().map(|(n, _, _)| n.as_str())).collect();
                let hint = did_you_mean(schema::suggest(name, candidates));
                let at = self.offset(e.id);
                self.error(at, format!("unknown identifier `{name}`{hint}"))
            }
        }
    }

    fn field(&mut self, e: &IdedExpr, operand: C, field: &str) -> C {
        let obj = match operand {
            C::Obj(obj) => obj,
            C::Err => return C::Err,
            other => {
                let at = self.pos(e);
                return self.error(at, format!("cannot select field `{field}` on a {}", other.type_name()));
            }
        };
        let table = match obj {
            Obj::Decl => schema::DECL,
            Obj::Declarant => schema::DECLARANT,
            Obj::Importer => schema::IMPORTER,
            Obj::History => schema::HISTORY,
            Obj::Item(slot) => {
                return match schema::ITEM.iter().find(|(n, _)| *n == field) {
                    Some((_, getter)) => match *getter {
                        Getter::Str(g) => C::Str(StrN::ItemField(slot, g)),
                        Getter::Int(g) => C::Int(IntN::ItemField(slot, g)),
                        Getter::Double(g) => C::Double(DoubleN::ItemField(slot, g)),
                        Getter::Bool(g) => C::Bool(BoolN::ItemField(slot, g)),
                        Getter::StrList(g) => C::List(ListN::ItemStrs(slot, g), Elem::Str),
                    },
                    None => {
                        let hint = did_you_mean(schema::suggest(field, schema::ITEM.iter().map(|(n, _)| *n)));
                        let at = self.pos(e);
                        self.error(at, format!("unknown field `{field}` on item{hint}"))
                    }
                };
            }
        };
        match table.iter().find(|(n, _)| *n == field) {
            Some((_, getter)) => match *getter {
                Getter::Str(g) => C::Str(StrN::Fact(g)),
                Getter::Int(g) => C::Int(IntN::Fact(g)),
                Getter::Double(g) => C::Double(DoubleN::Fact(g)),
                Getter::Bool(g) => C::Bool(BoolN::Fact(g)),
                Getter::StrList(g) => C::List(ListN::FactStrs(g), Elem::Str),
            },
            None => {
                let hint = did_you_mean(schema::suggest(field, table.iter().map(|(n, _)| *n)));
                let at = self.pos(e);
                self.error(at, format!("unknown field `{field}` on {}{hint}", obj.name()))
            }
        }
    }

    fn list(&mut self, e: &IdedExpr, elements: &[IdedExpr], optional: bool) -> C {
        if optional {
            let at = self.offset(e.id);
            return self.error(at, "optional list elements are not supported in rules");
        }
        let compiled: Vec<(C, &IdedExpr)> = elements.iter().map(|x| (self.check(x), x)).collect();
        if compiled.iter().any(|(c, _)| matches!(c, C::Err)) {
            return C::Err;
        }
        let Some((first, _)) = compiled.first() else {
            return C::List(ListN::Empty, Elem::Any);
        };
        let first_type = first.type_name();
        if let Some((other, x)) = compiled.iter().find(|(c, _)| c.type_name() != first_type) {
            let at = self.span_start(x);
            let message = format!(
                "list elements must all have the same type: this one is a {}, the first a {first_type}",
                other.type_name()
            );
            return self.error(at, message);
        }
        macro_rules! collect {
            ($variant:ident, $node:ident, $elem:ident, $const_list:expr, $dyn_list:ident) => {{
                let nodes: Vec<$node> = compiled
                    .into_iter()
                    .map(|(c, _)| match c {
                        C::$variant(n) => n,
                        _ => unreachable!(),
                    })
                    .collect();
                let consts: Option<Vec<_>> = nodes
                    .iter()
                    .map(|n| match n {
                        $node::Const(v) => Some(v.clone()),
                        _ => None,
                    })
                    .collect();
                match consts {
                    Some(consts) => C::List($const_list(consts), Elem::$elem),
                    None => C::List(ListN::$dyn_list(nodes), Elem::$elem),
                }
            }};
        }
        match first {
            C::Str(_) => collect!(Str, StrN, Str, |v| ListN::ConstStr(StrSet::new(v)), DynStr),
            C::Int(_) => collect!(Int, IntN, Int, ListN::ConstInt, DynInt),
            C::Double(_) => collect!(Double, DoubleN, Double, ListN::ConstDouble, DynDouble),
            C::Bool(_) => collect!(Bool, BoolN, Bool, ListN::ConstBool, DynBool),
            other => {
                let at = self.offset(e.id);
                let message = format!("lists of {} are not supported in rules", other.type_name());
                self.error(at, message)
            }
        }
    }

    fn comprehension(&mut self, e: &IdedExpr, c: &ComprehensionExpr) -> C {
        let at = self.pos(e);
        let Some((kind, pred)) = macro_of(c) else {
            let name = if matches!(c.accu_init.expr, Expr::List(_)) { "map" } else { "this comprehension" };
            return self.error(at, format!("`{name}` is not supported in rules"));
        };
        let name = match kind {
            Kind::Quant(Quant::Exists) => "exists",
            Kind::Quant(Quant::All) => "all",
            Kind::Quant(Quant::ExistsOne) => "exists_one",
            Kind::Filter => "filter",
        };
        if c.iter_var2.is_some() {
            return self.error(at, format!("`{name}` takes one variable in rules"));
        }
        let range = self.check(&c.iter_range);
        let (range, elem) = match range {
            C::Err => (None, Elem::Any),
            C::List(
                list @ (ListN::Items
                | ListN::FactStrs(_)
                | ListN::ItemStrs(..)
                | ListN::ConstStr(_)
                | ListN::ConstInt(_)
                | ListN::ConstDouble(_)
                | ListN::ConstBool(_)),
                elem,
            ) => (Some(list), elem),
            C::List(ListN::Empty, _) => {
                self.error(at, format!("`{name}` over an empty list literal is always trivial"));
                (None, Elem::Any)
            }
            C::List(..) => {
                let message = format!(
                    "`{name}` can range over `items`, a list field or a list literal of constants, not a computed list"
                );
                self.error(at, message);
                (None, Elem::Any)
            }
            other => {
                let message = format!("`{name}` needs a list, not a {}", other.type_name());
                self.error(at, message);
                (None, Elem::Any)
            }
        };
        if self.scope.len() >= MAX_SLOTS {
            return self.error(at, format!("comprehensions nest at most {MAX_SLOTS} deep in rules"));
        }
        let slot = self.scope.len() as u8;
        self.scope.push((c.iter_var.clone(), slot, elem));
        let body = self.check(pred);
        self.scope.pop();
        let body = match body {
            C::Bool(b) => b,
            C::Err => return C::Err,
            other => {
                let at = self.span_start(pred);
                return self
                    .error(at, format!("the condition of `{name}` must be a bool, not a {}", other.type_name()));
            }
        };
        let Some(range) = range else {
            return C::Err;
        };
        match kind {
            Kind::Quant(quant) => C::Bool(BoolN::Quant { quant, range: Box::new(range), slot, body: Box::new(body) }),
            Kind::Filter => C::List(ListN::Filter { range: Box::new(range), slot, pred: Box::new(body) }, elem),
        }
    }

    fn call(&mut self, e: &IdedExpr, call: &CallExpr) -> C {
        match self.call_unfused(e, call) {
            C::Bool(b) => C::Bool(fuse(b)),
            other => other,
        }
    }

    fn call_unfused(&mut self, e: &IdedExpr, call: &CallExpr) -> C {
        let op_at = self.offset(e.id);
        let f = call.func_name.as_str();
        match (f, call.target.as_deref(), call.args.as_slice()) {
            (operators::LOGICAL_AND | operators::LOGICAL_OR, None, [a, b]) => {
                let a = self.check(a);
                let b = self.check(b);
                let sym = if f == operators::LOGICAL_AND { "&&" } else { "||" };
                match (a, b) {
                    (C::Bool(a), C::Bool(b)) => C::Bool(if f == operators::LOGICAL_AND {
                        BoolN::And(Box::new(a), Box::new(b))
                    } else {
                        BoolN::Or(Box::new(a), Box::new(b))
                    }),
                    (C::Err, _) | (_, C::Err) => C::Err,
                    (a, b) => self.mismatch(op_at, sym, &a, &b),
                }
            }
            (operators::LOGICAL_NOT, None, [a]) => match self.check(a) {
                C::Bool(a) => C::Bool(BoolN::Not(Box::new(a))),
                C::Err => C::Err,
                other => self.error(op_at, format!("`!` needs a bool, not a {}", other.type_name())),
            },
            (operators::NEGATE, None, [a]) => match self.check(a) {
                C::Int(a) => C::Int(IntN::Neg(Box::new(a))),
                C::Double(a) => C::Double(DoubleN::Neg(Box::new(a))),
                C::Err => C::Err,
                other => self.error(op_at, format!("`-` needs an int or a double, not a {}", other.type_name())),
            },
            (operators::CONDITIONAL, None, [c, a, b]) => {
                let c = self.check(c);
                let a = self.check(a);
                let b = self.check(b);
                let c = match c {
                    C::Bool(c) => Box::new(c),
                    C::Err => return C::Err,
                    other => {
                        return self.error(
                            op_at,
                            format!("the condition of `? :` must be a bool, not a {}", other.type_name()),
                        )
                    }
                };
                match (a, b) {
                    (C::Bool(a), C::Bool(b)) => C::Bool(BoolN::Cond(c, Box::new(a), Box::new(b))),
                    (C::Int(a), C::Int(b)) => C::Int(IntN::Cond(c, Box::new(a), Box::new(b))),
                    (C::Double(a), C::Double(b)) => C::Double(DoubleN::Cond(c, Box::new(a), Box::new(b))),
                    (C::Str(a), C::Str(b)) => C::Str(StrN::Cond(c, Box::new(a), Box::new(b))),
                    (C::Err, _) | (_, C::Err) => C::Err,
                    (a, b) => {
                        let message = format!(
                            "both branches of `? :` must be bools, ints, doubles or strings of the same type, not {} and {}",
                            a.type_name(),
                            b.type_name()
                        );
                        self.error(op_at, message)
                    }
                }
            }
            (
                operators::EQUALS
                | operators::NOT_EQUALS
                | operators::LESS
                | operators::LESS_EQUALS
                | operators::GREATER
                | operators::GREATER_EQUALS,
                None,
                [a, b],
            ) => {
                let (op, sym) = match f {
                    operators::EQUALS => (CmpOp::Eq, "=="),
                    operators::NOT_EQUALS => (CmpOp::Ne, "!="),
                    operators::LESS => (CmpOp::Lt, "<"),
                    operators::LESS_EQUALS => (CmpOp::Le, "<="),
                    operators::GREATER => (CmpOp::Gt, ">"),
                    _ => (CmpOp::Ge, ">="),
                };
                let a = self.check(a);
                let b = self.check(b);
                self.compare(op_at, op, sym, a, b)
            }
            (
                operators::ADD | operators::SUBSTRACT | operators::MULTIPLY | operators::DIVIDE | operators::MODULO,
                None,
                [a, b],
            ) => {
                let (op, sym) = match f {
                    operators::ADD => (ArithOp::Add, "+"),
                    operators::SUBSTRACT => (ArithOp::Sub, "-"),
                    operators::MULTIPLY => (ArithOp::Mul, "*"),
                    operators::DIVIDE => (ArithOp::Div, "/"),
                    _ => (ArithOp::Rem, "%"),
                };
                let a = self.check(a);
                let b = self.check(b);
                self.arith(op_at, op, sym, a, b)
            }
            (operators::IN, None, [a, b]) => {
                let a = self.check(a);
                let b = self.check(b);
                self.contains(op_at, a, b)
            }
            (operators::INDEX | operators::OPT_INDEX, ..) => {
                self.check_children(call);
                self.error(op_at, "indexing with `[...]` is not supported in rules; use `exists` or `all`")
            }
            ("size", None, [x]) | ("size", Some(x), []) => {
                let at = self.pos(e);
                match self.check(x) {
                    C::Str(s) => C::Int(IntN::SizeStr(Box::new(s))),
                    C::List(l, _) => C::Int(IntN::SizeList(Box::new(l))),
                    C::Err => C::Err,
                    other => self.error(at, format!("`size` needs a string or a list, not a {}", other.type_name())),
                }
            }
            (name @ ("startsWith" | "endsWith" | "contains"), Some(target), [arg]) => {
                let at = self.pos(e);
                let target = self.check(target);
                let arg = self.check(arg);
                match (target, arg) {
                    (C::Str(t), C::Str(StrN::Const(lit))) => {
                        let f = match name {
                            "startsWith" => StrFn::StartsWith,
                            "endsWith" => StrFn::EndsWith,
                            _ => StrFn::Contains,
                        };
                        C::Bool(BoolN::StrConst(f, Box::new(t), lit))
                    }
                    (C::Str(t), C::Str(a)) => {
                        let (t, a) = (Box::new(t), Box::new(a));
                        C::Bool(match name {
                            "startsWith" => BoolN::StartsWith(t, a),
                            "endsWith" => BoolN::EndsWith(t, a),
                            _ => BoolN::Contains(t, a),
                        })
                    }
                    (C::Err, _) | (_, C::Err) => C::Err,
                    (t, a) => {
                        let message = format!(
                            "`{name}` is called on a string with a string, not on a {} with a {}",
                            t.type_name(),
                            a.type_name()
                        );
                        self.error(at, message)
                    }
                }
            }
            (name @ ("int" | "double"), None, [x]) => {
                let at = self.pos(e);
                match (name, self.check(x)) {
                    ("int", C::Int(n)) => C::Int(n),
                    ("int", C::Double(d)) => C::Int(IntN::FromDouble(Box::new(d))),
                    ("double", C::Double(d)) => C::Double(d),
                    ("double", C::Int(n)) => C::Double(DoubleN::FromInt(Box::new(n))),
                    (_, C::Err) => C::Err,
                    (_, other) => self.error(
                        at,
                        format!("`{name}()` converts an int or a double in rules, not a {}", other.type_name()),
                    ),
                }
            }
            (name @ ("size" | "startsWith" | "endsWith" | "contains" | "int" | "double"), ..) => {
                let at = self.pos(e);
                let usage = match name {
                    "size" => "`size(x)` or `x.size()`",
                    "int" => "`int(x)`",
                    "double" => "`double(x)`",
                    "startsWith" => "`s.startsWith(prefix)`",
                    "endsWith" => "`s.endsWith(suffix)`",
                    _ => "`s.contains(part)`",
                };
                self.error(at, format!("`{name}` is called as {usage}"))
            }
            (name, ..) => {
                self.check_children(call);
                let at = self.pos(e);
                let shown = match name {
                    operators::OPT_SELECT => "`.?`",
                    _ => name,
                };
                let shown = if shown.starts_with('`') { shown.to_string() } else { format!("`{shown}`") };
                self.error(at, format!("{shown} is not supported in rules"))
            }
        }
    }

    /// Checks the target and arguments of a call that is itself rejected, for
    /// the problems they hold.
    fn check_children(&mut self, call: &CallExpr) {
        for child in call.target.iter().map(|t| &**t).chain(&call.args) {
            self.check(child);
        }
    }

    fn mismatch(&mut self, at: usize, sym: &str, a: &C, b: &C) -> C {
        let message = format!("`{sym}` cannot be applied to {} and {}", a.type_name(), b.type_name());
        self.error(at, message)
    }

    fn compare(&mut self, at: usize, op: CmpOp, sym: &str, a: C, b: C) -> C {
        let equality = matches!(op, CmpOp::Eq | CmpOp::Ne);
        // A literal on the left is moved to the right, where the plan has
        // specialised nodes for it.
        let (op, a, b) = match (a, b) {
            (a @ (C::Int(IntN::Const(_)) | C::Double(DoubleN::Const(_))), b @ (C::Int(_) | C::Double(_)))
                if !matches!(b, C::Int(IntN::Const(_)) | C::Double(DoubleN::Const(_))) =>
            {
                (op.flipped(), b, a)
            }
            (a, b) => (op, a, b),
        };
        match (a, b) {
            (C::Err, _) | (_, C::Err) => C::Err,
            (C::Int(a), C::Int(IntN::Const(k))) => C::Bool(BoolN::CmpIntConst(op, Box::new(a), k)),
            (C::Double(a), C::Double(DoubleN::Const(k))) => C::Bool(BoolN::CmpDoubleConst(op, Box::new(a), k)),
            // As the interpreter: the int converts to a double.
            (C::Double(a), C::Int(IntN::Const(k))) => C::Bool(BoolN::CmpDoubleConst(op, Box::new(a), k as f64)),
            (C::Int(a), C::Int(b)) => C::Bool(BoolN::CmpInt(op, Box::new(a), Box::new(b))),
            (C::Double(a), C::Double(b)) => C::Bool(BoolN::CmpDouble(op, Box::new(a), Box::new(b))),
            (C::Int(a), C::Double(b)) => {
                C::Bool(BoolN::CmpDouble(op, Box::new(DoubleN::FromInt(Box::new(a))), Box::new(b)))
            }
            (C::Double(a), C::Int(b)) => {
                C::Bool(BoolN::CmpDouble(op, Box::new(a), Box::new(DoubleN::FromInt(Box::new(b)))))
            }
            (C::Str(a), C::Str(b)) => C::Bool(match (equality, a, b) {
                (true, a, StrN::Const(lit)) | (true, StrN::Const(lit), a) => {
                    BoolN::StrEqConst(Box::new(a), lit, op == CmpOp::Ne)
                }
                (_, a, b) => BoolN::CmpStr(op, Box::new(a), Box::new(b)),
            }),
            (C::Bool(a), C::Bool(b)) if equality => C::Bool(BoolN::EqBool(Box::new(a), Box::new(b), op == CmpOp::Ne)),
            (a, b) => self.mismatch(at, sym, &a, &b),
        }
    }

    fn arith(&mut self, at: usize, op: ArithOp, sym: &str, a: C, b: C) -> C {
        match (a, b) {
            (C::Err, _) | (_, C::Err) => C::Err,
            (C::Int(a), C::Int(b)) => C::Int(IntN::Arith(op, Box::new(a), Box::new(b))),
            (C::Double(a), C::Double(b)) if op != ArithOp::Rem => {
                C::Double(DoubleN::Arith(op, Box::new(a), Box::new(b)))
            }
            (C::Str(a), C::Str(b)) if op == ArithOp::Add => C::Str(StrN::Concat(Box::new(a), Box::new(b))),
            (a @ (C::Int(_) | C::Double(_)), b @ (C::Int(_) | C::Double(_))) if op != ArithOp::Rem => {
                let message = format!(
                    "`{sym}` cannot mix {} and {}: convert one side with `double(...)` or `int(...)`",
                    a.type_name(),
                    b.type_name()
                );
                self.error(at, message)
            }
            (a, b) => self.mismatch(at, sym, &a, &b),
        }
    }

    fn contains(&mut self, at: usize, a: C, b: C) -> C {
        let (list, elem) = match b {
            C::Err => return C::Err,
            C::List(ListN::Filter { .. }, _) => {
                return self.error(at, "the result of `filter` can only be used with `size()` in rules")
            }
            C::List(list, elem) => (Box::new(list), elem),
            other => return self.error(at, format!("`in` needs a list on its right, not a {}", other.type_name())),
        };
        match (a, elem) {
            (C::Err, _) => C::Err,
            (C::Str(a), Elem::Str | Elem::Any) => C::Bool(BoolN::InStr(Box::new(a), list)),
            (C::Int(a), Elem::Int | Elem::Any) => C::Bool(BoolN::InInt(Box::new(a), list)),
            (C::Int(a), Elem::Double) => C::Bool(BoolN::InDouble(Box::new(DoubleN::FromInt(Box::new(a))), list)),
            (C::Double(a), Elem::Double | Elem::Int | Elem::Any) => C::Bool(BoolN::InDouble(Box::new(a), list)),
            (C::Bool(a), Elem::Bool | Elem::Any) => C::Bool(BoolN::InBool(Box::new(a), list)),
            (a, elem) => {
                let message = format!("`in` cannot look for a {} in a list({})", a.type_name(), elem.name());
                self.error(at, message)
            }
        }
    }
}

/// Fuses a predicate on a field of an item variable into one plan node.
fn fuse(node: BoolN) -> BoolN {
    match node {
        BoolN::StrConst(f, a, lit) => match *a {
            StrN::ItemField(var, get) => BoolN::ItemStrConst(f, var, get, lit),
            a => BoolN::StrConst(f, Box::new(a), lit),
        },
        BoolN::StrEqConst(a, lit, negate) => match *a {
            StrN::ItemField(var, get) => BoolN::ItemStrEqConst(var, get, lit, negate),
            a => BoolN::StrEqConst(Box::new(a), lit, negate),
        },
        BoolN::InStr(a, list) => match (*a, *list) {
            (StrN::ItemField(var, get), ListN::ConstStr(set)) => BoolN::ItemStrIn(var, get, set),
            (a, list) => BoolN::InStr(Box::new(a), Box::new(list)),
        },
        BoolN::CmpDoubleConst(op, a, k) => match *a {
            DoubleN::ItemField(var, get) => BoolN::ItemDoubleConst(op, var, get, k),
            a => BoolN::CmpDoubleConst(op, Box::new(a), k),
        },
        other => other,
    }
}

/// The macros rules may use, recognised from their expansion.
enum Kind {
    Quant(Quant),
    Filter,
}

/// Which macro a comprehension was expanded from, and its predicate.
fn macro_of(c: &ComprehensionExpr) -> Option<(Kind, &IdedExpr)> {
    let accu = c.accu_var.as_str();
    let is_accu = |e: &IdedExpr| matches!(&e.expr, Expr::Ident(n) if n == accu);
    let Expr::Call(step) = &c.loop_step.expr else {
        return None;
    };
    if step.target.is_some() {
        return None;
    }
    match (&c.accu_init.expr, step.func_name.as_str(), step.args.as_slice()) {
        (Expr::Literal(LiteralValue::Boolean(b)), operators::LOGICAL_OR, [acc, pred])
            if !*b.inner() && is_accu(acc) && is_accu(&c.result) =>
        {
            Some((Kind::Quant(Quant::Exists), pred))
        }
        (Expr::Literal(LiteralValue::Boolean(b)), operators::LOGICAL_AND, [acc, pred])
            if *b.inner() && is_accu(acc) && is_accu(&c.result) =>
        {
            Some((Kind::Quant(Quant::All), pred))
        }
        (Expr::Literal(LiteralValue::Int(n)), operators::CONDITIONAL, [pred, _, otherwise])
            if *n.inner() == 0
                && is_accu(otherwise)
                && matches!(&c.result.expr, Expr::Call(r) if r.func_name == operators::EQUALS) =>
        {
            Some((Kind::Quant(Quant::ExistsOne), pred))
        }
        (Expr::List(init), operators::CONDITIONAL, [pred, append, otherwise])
            if init.elements.is_empty() && is_accu(otherwise) && is_accu(&c.result) =>
        {
            // `filter` appends the variable itself; `map(v, p, f)` appends `f`.
            let Expr::Call(add) = &append.expr else {
                return None;
            };
            match add.args.as_slice() {
                [acc, list] if add.func_name == operators::ADD && is_accu(acc) => match &list.expr {
                    Expr::List(l) if matches!(l.elements.as_slice(), [x] if matches!(&x.expr, Expr::Ident(v) if *v == c.iter_var)) => {
                        Some((Kind::Filter, pred))
                    }
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

fn did_you_mean(suggestion: Option<&str>) -> String {
    suggestion.map_or_else(String::new, |s| format!("; did you mean `{s}`?"))
}

/// Whether a call's name is a function spelled in the source (not an operator).
fn is_named_function(name: &str) -> bool {
    name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

fn skip_ws_forward(src: &str, mut at: usize) -> usize {
    let bytes = src.as_bytes();
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    at.min(src.len())
}

/// The start of the name before the `(` at `paren` (the parser records a
/// call at its parenthesis).
fn name_before_paren(src: &str, paren: usize) -> usize {
    let bytes = src.as_bytes();
    if bytes.get(paren) != Some(&b'(') {
        return paren;
    }
    let mut at = paren;
    while at > 0 && bytes[at - 1].is_ascii_whitespace() {
        at -= 1;
    }
    while at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || bytes[at - 1] == b'_') {
        at -= 1;
    }
    at
}
