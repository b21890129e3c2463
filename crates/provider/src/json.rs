//! Reading JSON that a model wrote: tool-call arguments and structured answers.
//!
//! Models wrap JSON in ```json fences, surround it with prose, and leave trailing commas. A
//! harness that fails on those measures formatting luck, not the model, so these helpers
//! recover the object when one is clearly there and say so plainly when none is.

use serde_json::{Map, Value};

/// Tool-call arguments (OpenAI sends them as a JSON string) as a JSON object. Never fails:
/// arguments that are not a JSON object are kept verbatim as `{"_raw": "..."}` so the agent
/// loop can report the problem to the model instead of aborting the run.
pub fn tool_arguments(raw: &Value) -> Value {
    match raw {
        Value::Object(_) => raw.clone(),
        Value::Null => Value::Object(Map::new()),
        Value::String(s) if s.trim().is_empty() => Value::Object(Map::new()),
        Value::String(s) => match extract_json_object(s) {
            Some(v) if s.trim().starts_with('{') || s.trim().starts_with("```") => v,
            _ => raw_input(s),
        },
        other => raw_input(&other.to_string()),
    }
}

fn raw_input(s: &str) -> Value {
    let mut map = Map::new();
    map.insert("_raw".into(), Value::String(s.to_string()));
    Value::Object(map)
}

/// The JSON object in `text`: the whole text, else a fenced block, else the first balanced
/// `{...}` that parses (trailing commas tolerated). None when there is no object.
pub fn extract_json_object(text: &str) -> Option<Value> {
    let trimmed = text.trim();
    if let Some(v) = parse_object(trimmed) {
        return Some(v);
    }
    for block in fenced_blocks(trimmed) {
        if let Some(v) = parse_object(block.trim()) {
            return Some(v);
        }
    }
    let mut from = 0;
    while let Some(offset) = trimmed[from..].find('{') {
        let start = from + offset;
        if let Some(end) = balanced_end(&trimmed[start..]) {
            if let Some(v) = parse_object(&trimmed[start..start + end]) {
                return Some(v);
            }
        }
        from = start + 1;
    }
    None
}

/// Parse `text` as an object, retrying once with trailing commas removed.
fn parse_object(text: &str) -> Option<Value> {
    if !text.starts_with('{') {
        return None;
    }
    let parsed = serde_json::from_str::<Value>(text)
        .ok()
        .or_else(|| serde_json::from_str::<Value>(&strip_trailing_commas(text)).ok())?;
    parsed.is_object().then_some(parsed)
}

/// The contents of ``` fenced blocks, in order (the language tag line is dropped).
fn fenced_blocks(text: &str) -> Vec<&str> {
    let mut blocks = Vec::new();
    let mut rest = text;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let body_start = after.find('\n').map(|n| n + 1).unwrap_or(after.len());
        let body = &after[body_start..];
        match body.find("```") {
            Some(close) => {
                blocks.push(&body[..close]);
                rest = &body[close + 3..];
            }
            None => {
                blocks.push(body);
                break;
            }
        }
    }
    blocks
}

/// Byte length of the balanced `{...}` at the start of `text` (strings and escapes respected).
fn balanced_end(text: &str) -> Option<usize> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match c {
            '"' => in_string = true,
            '{' | '[' => depth += 1,
            '}' | ']' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// `text` without commas that directly precede `}` or `]` (outside strings).
fn strip_trailing_commas(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for (i, &c) in chars.iter().enumerate() {
        if in_string {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ',' {
            let next = chars[i + 1..].iter().find(|c| !c.is_whitespace());
            if matches!(next, Some('}') | Some(']')) {
                continue;
            }
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn extracts_plain_fenced_prose_and_trailing_commas() {
        assert_eq!(extract_json_object(r#" {"a":1} "#), Some(json!({"a":1})));
        let fenced = "Here you go:\n```json\n{\"a\": [1, 2,],}\n```\nThanks";
        assert_eq!(extract_json_object(fenced), Some(json!({"a":[1,2]})));
        let prose = r#"I think {not json} but then {"a": "b}{", "c": {"d": 2}} trailing"#;
        assert_eq!(
            extract_json_object(prose),
            Some(json!({"a":"b}{","c":{"d":2}}))
        );
        assert_eq!(extract_json_object("no object here"), None);
        assert_eq!(extract_json_object("[1,2]"), None);
    }

    #[test]
    fn commas_inside_strings_are_kept() {
        let text = r#"{"a": "x,}", "b": [1,],}"#;
        assert_eq!(extract_json_object(text), Some(json!({"a":"x,}","b":[1]})));
    }

    #[test]
    fn tool_arguments_are_robust() {
        assert_eq!(
            tool_arguments(&json!(r#"{"path":"a.txt"}"#)),
            json!({"path":"a.txt"})
        );
        assert_eq!(tool_arguments(&json!({"path":"a"})), json!({"path":"a"}));
        assert_eq!(tool_arguments(&json!("")), json!({}));
        assert_eq!(tool_arguments(&Value::Null), json!({}));
        assert_eq!(
            tool_arguments(&json!(r#"{"path": "a.txt""#)),
            json!({"_raw": r#"{"path": "a.txt""#})
        );
        assert_eq!(tool_arguments(&json!("42")), json!({"_raw": "42"}));
    }
}
