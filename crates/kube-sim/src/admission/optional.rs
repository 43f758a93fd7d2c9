//! `optionalOldSelf: true` rules see `oldSelf` as a CEL optional on the real
//! server (`oldSelf.hasValue()`, `oldSelf.value()`, `oldSelf.orValue(x)`),
//! while kube-cel binds the plain old value or `null`. Such rules are
//! rewritten to the equivalent null checks before evaluation.

use serde_json::Value;

/// The schema with rewritten `optionalOldSelf` rules, and each rewritten rule
/// with its original text (to report the rule as it was written).
pub(crate) fn rewrite_schema(schema: &Value) -> (Value, Vec<(String, String)>) {
    let mut out = schema.clone();
    let mut renamed = Vec::new();
    walk(&mut out, &mut renamed);
    (out, renamed)
}

fn walk(node: &mut Value, renamed: &mut Vec<(String, String)>) {
    match node {
        Value::Object(map) => {
            if let Some(Value::Array(rules)) = map.get_mut("x-kubernetes-validations") {
                for r in rules.iter_mut() {
                    let optional = r.get("optionalOldSelf").and_then(Value::as_bool) == Some(true);
                    let Some(text) = r.get("rule").and_then(Value::as_str).map(str::to_string)
                    else {
                        continue;
                    };
                    let new = rewrite_rule(&text);
                    if optional && new != text {
                        r["rule"] = Value::from(new.clone());
                        renamed.push((new, text));
                    }
                }
            }
            map.values_mut().for_each(|v| walk(v, renamed));
        }
        Value::Array(items) => items.iter_mut().for_each(|v| walk(v, renamed)),
        _ => {}
    }
}

/// `oldSelf.hasValue()` → `(oldSelf != null)`, `oldSelf.value()` → `oldSelf`,
/// `oldSelf.orValue(x)` → `(oldSelf != null ? oldSelf : (x))`.
pub(crate) fn rewrite_rule(rule: &str) -> String {
    let mut s = rule
        .replace("oldSelf.hasValue()", "(oldSelf != null)")
        .replace("oldSelf.value()", "oldSelf");
    const OR_VALUE: &str = "oldSelf.orValue(";
    while let Some(start) = s.find(OR_VALUE) {
        let arg_start = start + OR_VALUE.len();
        let Some(arg_end) = closing_paren(&s[arg_start..]).map(|i| arg_start + i) else {
            break;
        };
        let arg = &s[arg_start..arg_end];
        let replacement = format!("(oldSelf != null ? oldSelf : ({arg}))");
        s.replace_range(start..=arg_end, &replacement);
    }
    s
}

/// The index of the `)` closing an already opened parenthesis, skipping string literals.
fn closing_paren(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if let Some(q) = quote {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                c if c == q => quote = None,
                _ => {}
            }
            continue;
        }
        match c {
            '\'' | '"' => quote = Some(c),
            '(' => depth += 1,
            ')' if depth == 0 => return Some(i),
            ')' => depth -= 1,
            _ => {}
        }
    }
    None
}
