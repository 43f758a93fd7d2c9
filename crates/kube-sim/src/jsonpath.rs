//! The JSONPath subset printer columns use: `.a.b`, `['a']`, `[0]`, `[*]` and
//! `[?(@.type=="Ready")]` filters, optionally wrapped in `{}`.

use serde_json::Value;

#[derive(Debug, PartialEq)]
enum Step {
    Field(String),
    Index(usize),
    All,
    Filter { path: Vec<String>, value: String },
}

fn parse_filter(body: &str) -> Option<Step> {
    let inner = body.strip_prefix("?(")?.strip_suffix(')')?;
    let (lhs, rhs) = inner.split_once("==")?;
    let path = lhs
        .trim()
        .strip_prefix("@.")?
        .split('.')
        .map(String::from)
        .collect();
    let value = rhs
        .trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_string();
    Some(Step::Filter { path, value })
}

fn parse_bracket(body: &str) -> Option<Step> {
    if body == "*" {
        return Some(Step::All);
    }
    if body.starts_with('?') {
        return parse_filter(body);
    }
    if let Ok(i) = body.parse::<usize>() {
        return Some(Step::Index(i));
    }
    let quoted = body.trim_matches(|c| c == '\'' || c == '"');
    Some(Step::Field(quoted.to_string()))
}

fn parse(path: &str) -> Option<Vec<Step>> {
    let p = path.trim();
    let p = p
        .strip_prefix('{')
        .and_then(|s| s.strip_suffix('}'))
        .unwrap_or(p);
    let mut steps = Vec::new();
    let chars: Vec<char> = p.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        match chars[i] {
            '.' => {
                let start = i + 1;
                i = start;
                while i < chars.len() && chars[i] != '.' && chars[i] != '[' {
                    i += 1;
                }
                let name: String = chars[start..i].iter().collect();
                if !name.is_empty() {
                    steps.push(Step::Field(name));
                }
            }
            '[' => {
                let close = closing_bracket(&chars, i)?;
                let body: String = chars[i + 1..close].iter().collect();
                steps.push(parse_bracket(body.trim())?);
                i = close + 1;
            }
            '$' => i += 1,
            _ => return None,
        }
    }
    Some(steps)
}

/// The index of the `]` closing the `[` at `open`, skipping quoted text.
fn closing_bracket(chars: &[char], open: usize) -> Option<usize> {
    let mut quote: Option<char> = None;
    for (j, &c) in chars.iter().enumerate().skip(open + 1) {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'') => quote = Some(c),
            (None, ']') => return Some(j),
            _ => {}
        }
    }
    None
}

fn as_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn apply<'a>(step: &Step, v: &'a Value) -> Vec<&'a Value> {
    match step {
        Step::Field(name) => v.get(name.as_str()).into_iter().collect(),
        Step::Index(i) => v.get(*i).into_iter().collect(),
        Step::All => match v {
            Value::Array(a) => a.iter().collect(),
            Value::Object(m) => m.values().collect(),
            _ => Vec::new(),
        },
        Step::Filter { path, value } => v
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|item| {
                        let found = path.iter().try_fold(*item, |cur, k| cur.get(k.as_str()));
                        found.is_some_and(|f| as_text(f) == *value)
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// Every value `path` selects in `obj`; empty when nothing matches or the path
/// is outside the supported subset.
pub fn find<'a>(obj: &'a Value, path: &str) -> Vec<&'a Value> {
    let Some(steps) = parse(path) else {
        return Vec::new();
    };
    steps.iter().fold(vec![obj], |cur, step| {
        cur.into_iter().flat_map(|v| apply(step, v)).collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn condition_filters_and_plain_paths_select_values() {
        let o = json!({"spec": {"name": "g"}, "status": {"conditions": [
            {"type": "Synced", "status": "False"},
            {"type": "Ready", "status": "True"}
        ]}});
        let ready = find(&o, ".status.conditions[?(@.type==\"Ready\")].status");
        assert_eq!(ready, vec![&json!("True")]);
        assert_eq!(find(&o, "{.spec.name}"), vec![&json!("g")]);
        assert_eq!(
            find(&o, ".status.conditions[0].type"),
            vec![&json!("Synced")]
        );
        assert!(find(&o, ".spec.missing").is_empty());
    }
}
