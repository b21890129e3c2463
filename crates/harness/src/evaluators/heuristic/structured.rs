//! The small JSON-path dialect of structured checks (`$`, `.key`, `['key']`, `["key"]`, `[N]`)
//! and Markdown heading detection. A full JSONPath engine is not needed: the checks only ask
//! whether one path exists.

use serde_json::Value;

/// One step of a path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    Key(String),
    Index(usize),
}

/// Parses `$.a.b[0]['c.d']`. A leading `$` is optional (`a.b` means `$.a.b`).
pub fn parse_path(path: &str) -> Result<Vec<Segment>, String> {
    let s = path.trim();
    let mut rest = s.strip_prefix('$').unwrap_or(s);
    if !s.starts_with('$') && !rest.starts_with(['.', '[']) && !rest.is_empty() {
        return parse_path(&format!("$.{s}"));
    }
    let mut out = Vec::new();
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let end = r.find(['.', '[']).unwrap_or(r.len());
            let key = &r[..end];
            if key.is_empty() {
                return Err(format!("empty key at {rest:?}"));
            }
            out.push(Segment::Key(key.to_string()));
            rest = &r[end..];
        } else if let Some(r) = rest.strip_prefix('[') {
            let r = r.trim_start();
            if let Some(q) = r.chars().next().filter(|c| *c == '\'' || *c == '"') {
                let body = &r[1..];
                let close = body
                    .find(q)
                    .ok_or_else(|| format!("unterminated quoted key at {rest:?}"))?;
                out.push(Segment::Key(body[..close].to_string()));
                let after = body[close + 1..].trim_start();
                rest = after
                    .strip_prefix(']')
                    .ok_or_else(|| format!("expected `]` after quoted key at {rest:?}"))?;
            } else {
                let close = r
                    .find(']')
                    .ok_or_else(|| format!("unterminated `[` at {rest:?}"))?;
                let idx = r[..close].trim();
                let n: usize = idx
                    .parse()
                    .map_err(|_| format!("{idx:?} is not an array index (use ['key'] for keys)"))?;
                out.push(Segment::Index(n));
                rest = &r[close + 1..];
            }
        } else {
            return Err(format!("expected `.` or `[` at {rest:?}"));
        }
    }
    Ok(out)
}

/// The value at `path`, if it exists.
pub fn lookup<'a>(doc: &'a Value, path: &[Segment]) -> Option<&'a Value> {
    path.iter().try_fold(doc, |v, seg| match seg {
        Segment::Key(k) => v.as_object()?.get(k),
        Segment::Index(i) => v.as_array()?.get(*i),
    })
}

/// Whether `text` has a Markdown ATX heading (`#` to `######`) whose text contains `header`,
/// case-insensitively. Leading `#`s in `header` are ignored, so `## Summary` and `Summary` both
/// work.
pub fn has_heading(text: &str, header: &str) -> bool {
    let want = header.trim().trim_start_matches('#').trim().to_lowercase();
    if want.is_empty() {
        return false;
    }
    text.lines().any(|line| {
        let line = line.trim_start();
        let hashes = line.chars().take_while(|c| *c == '#').count();
        if hashes == 0 || hashes > 6 {
            return false;
        }
        let rest = &line[hashes..];
        if !(rest.is_empty() || rest.starts_with([' ', '\t'])) {
            return false;
        }
        let title = rest.trim().trim_end_matches('#').trim().to_lowercase();
        title.contains(&want)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_paths() {
        use Segment::*;
        assert_eq!(parse_path("$").unwrap(), vec![]);
        assert_eq!(
            parse_path("$.a.b[0]").unwrap(),
            vec![Key("a".into()), Key("b".into()), Index(0)]
        );
        assert_eq!(
            parse_path("$['a.b'][\"c\"][ 12 ]").unwrap(),
            vec![Key("a.b".into()), Key("c".into()), Index(12)]
        );
        assert_eq!(
            parse_path("scripts.test").unwrap(),
            vec![Key("scripts".into()), Key("test".into())]
        );
        for bad in ["$.", "$[", "$['a'", "$[x]", "$a", "$..a"] {
            assert!(parse_path(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn looks_up_values() {
        let doc = json!({"a": {"b": [10, {"c": null}]}, "x.y": 1});
        let p = |s| parse_path(s).unwrap();
        assert_eq!(lookup(&doc, &p("$.a.b[0]")), Some(&json!(10)));
        assert_eq!(lookup(&doc, &p("$.a.b[1].c")), Some(&Value::Null));
        assert_eq!(lookup(&doc, &p("$['x.y']")), Some(&json!(1)));
        assert!(lookup(&doc, &p("$.a.b[2]")).is_none());
        assert!(lookup(&doc, &p("$.a.c")).is_none());
        assert!(lookup(&doc, &p("$.a[0]")).is_none());
        assert_eq!(lookup(&doc, &p("$")), Some(&doc));
    }

    #[test]
    fn finds_markdown_headings() {
        let md = "intro\n## Risk Assessment ##\ntext\n#NotAHeading\n";
        assert!(has_heading(md, "Risk Assessment"));
        assert!(has_heading(md, "## risk assessment"));
        assert!(has_heading(md, "Risk"));
        assert!(!has_heading(md, "NotAHeading"));
        assert!(!has_heading(md, "intro"));
        assert!(!has_heading(md, ""));
    }
}
