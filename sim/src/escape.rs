//! Text from outside shown safely: what a program prints and any string read from a trace or
//! a platform file may hold terminal control sequences (`\x1b[2J` clears the screen,
//! `\x1b]0;…\x07` sets the window title). Reports and the terminal UI show such text through
//! [`escape_control`], so it reads as what it is and never acts on the terminal.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character written as an escape: `\t`, `\r`, `\n`, `\x1b` for
/// the C0 controls and DEL, `\u{9b}` for the C1 controls, and the bidirectional overrides
/// and isolates (U+202A–U+202E, U+2066–U+2069), which reorder what follows them on screen.
/// Text without any is returned as it is, without a copy.
///
/// ```
/// use mpisim::escape::escape_control;
/// assert_eq!(escape_control("\x1b[2Jcleared?"), "\\x1b[2Jcleared?");
/// assert_eq!(escape_control("plain text: 1 µs"), "plain text: 1 µs");
/// ```
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x80 && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", c as u32);
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Whether `c` acts on a terminal or on the order of what is drawn rather than being drawn.
fn needs_escape(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[track_caller]
    fn check(text: &str, shown: &str) {
        assert_eq!(escape_control(text), shown, "{text:?}");
    }

    #[test]
    fn controls_are_written_as_escapes() {
        check("", "");
        check("ring.rs:44:18", "ring.rs:44:18");
        check("naïve → µs ✓", "naïve → µs ✓");
        check("\x1b[2J\x1b[H", "\\x1b[2J\\x1b[H");
        check("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07");
        check("a\tb\r\nc", "a\\tb\\r\\nc");
        check("\0\x7f", "\\x00\\x7f");
        check("\u{9b}2J", "\\u{9b}2J");
        check("abc\u{202e}fed", "abc\\u{202e}fed");
        check("\u{2066}x\u{2069}", "\\u{2066}x\\u{2069}");
    }

    #[test]
    fn plain_text_is_not_copied() {
        assert!(matches!(escape_control("nothing to escape"), Cow::Borrowed(_)));
    }
}
