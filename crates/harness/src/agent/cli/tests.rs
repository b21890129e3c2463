//! Unit tests of the CLI agents' helpers (the agents themselves are tested with fake
//! executables in `tests/cli_agents.rs`).

use super::common::{json_objects, parse_rfc3339_ms, tail, Clock};
use super::{render_command, shell_quote};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[test]
fn rfc3339_timestamps_parse() {
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:00Z"), Some(0));
    assert_eq!(parse_rfc3339_ms("1970-01-01T00:00:01.5Z"), Some(1500));
    assert_eq!(
        parse_rfc3339_ms("2025-03-01T12:34:56.789Z"),
        Some(1_740_832_496_789)
    );
    assert_eq!(
        parse_rfc3339_ms("2025-03-01T14:34:56.789123+02:00"),
        Some(1_740_832_496_789)
    );
    assert_eq!(
        parse_rfc3339_ms("2024-02-29T00:00:00-01:30"),
        Some(1_709_170_200_000)
    );
    for bad in [
        "",
        "2025-03-01",
        "2025-13-01T00:00:00Z",
        "2025-03-01T00:00:00",
        "x025-03-01T00:00:00Z",
        "2025-03-01T00:00:00.Z",
    ] {
        assert_eq!(parse_rfc3339_ms(bad), None, "{bad:?}");
    }
}

#[test]
fn clock_uses_timestamps_and_carries_the_last_time() {
    let start = UNIX_EPOCH + Duration::from_millis(1_740_832_496_000);
    let mut clock = Clock::new(start);
    assert_eq!(clock.at(&serde_json::json!({"type": "x"})), 0);
    let line = serde_json::json!({"timestamp": "2025-03-01T12:34:58.250Z"});
    assert_eq!(clock.at(&line), 2250);
    assert_eq!(clock.at(&serde_json::json!({})), 2250);
    // An earlier timestamp never moves time back.
    let early = serde_json::json!({"timestamp": "2025-03-01T12:34:57Z"});
    assert_eq!(clock.at(&early), 2250);
    let _ = SystemTime::now();
}

#[test]
fn shell_quote_keeps_safe_words_and_quotes_the_rest() {
    assert_eq!(shell_quote("acceptEdits"), "acceptEdits");
    assert_eq!(shell_quote("Read,Edit,Bash"), "Read,Edit,Bash");
    assert_eq!(shell_quote("/usr/bin/claude"), "/usr/bin/claude");
    assert_eq!(shell_quote(""), "''");
    assert_eq!(shell_quote("a b"), "'a b'");
    assert_eq!(shell_quote("it's"), "'it'\\''s'");
    assert_eq!(shell_quote("$(x)"), "'$(x)'");
    assert_eq!(shell_quote("~"), "'~'");
}

#[test]
fn render_command_substitutes_once_and_quotes() {
    let cmd = render_command(
        "agent --model {model} --cwd {workspace} -f {prompt_file} -- {prompt} {unknown} {",
        "say {workspace} 'hi'",
        Path::new("/tmp/p dir/prompt.txt"),
        Path::new("/ws"),
        None,
    );
    assert_eq!(
        cmd,
        "agent --model '' --cwd /ws -f '/tmp/p dir/prompt.txt' -- 'say {workspace} '\\''hi'\\''' {unknown} {"
    );
    let cmd = render_command(
        "x {model}",
        "",
        Path::new("/p"),
        Path::new("/w"),
        Some("gpt-5"),
    );
    assert_eq!(cmd, "x gpt-5");
}

#[test]
fn json_objects_skips_noise_and_reads_arrays() {
    let out = "warning: x\n{\"type\":\"a\"}\n[{\"type\":\"b\"},3]\n{broken\n  {\"type\":\"c\"}  \n";
    let types: Vec<_> = json_objects(out)
        .iter()
        .map(|v| v["type"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(types, ["a", "b", "c"]);
    // A pretty-printed single document still parses.
    let pretty = "{\n  \"type\": \"result\"\n}\n";
    assert_eq!(json_objects(pretty).len(), 1);
}

#[test]
fn tail_cuts_at_char_boundaries() {
    assert_eq!(tail("abc", 10), "abc");
    assert_eq!(tail("héllo", 4), "…llo");
    assert_eq!(tail("ééé", 3), "…é");
}
