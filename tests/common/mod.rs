//! Helpers shared by the integration tests.

/// The 1-based line of `source` (a test file's text, from `include_str!`) that ends with
/// the marker comment `// @name`, so that tests can assert the file:line of a report
/// without hard-coding line numbers.
pub fn marked_line(source: &str, name: &str) -> u32 {
    let marker = format!("// @{name}");
    let lines: Vec<u32> = source
        .lines()
        .enumerate()
        .filter(|(_, l)| l.trim_end().ends_with(&marker))
        .map(|(i, _)| i as u32 + 1)
        .collect();
    assert_eq!(lines.len(), 1, "marker {marker} must be on exactly one line");
    lines[0]
}
