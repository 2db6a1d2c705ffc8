//! One rule for every free-text field a person types: item names, cancellation reasons.
//!
//! Guarantees: a [`FreeText`] is trimmed of surrounding whitespace; has at least one
//! visible character (text made only of whitespace and invisible characters such as
//! U+200B ZERO WIDTH SPACE counts as empty); has at most the field's limit of characters
//! (not bytes); and holds no control character (C0, DEL, C1: tab, newline, BEL, ESC…) and
//! no bidirectional formatting character (U+202A–U+202E such as the RTL override,
//! U+2066–U+2069, U+200E, U+200F, U+061C), which could make the text display as something
//! else than it is. Joiners inside visible text (U+200C, U+200D: emoji, Persian) are kept.

/// Why a text is not acceptable free text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    /// Nothing visible once surrounding whitespace is trimmed.
    #[error("a text with at least one visible character is required")]
    Empty,
    /// Longer than the field allows once trimmed.
    #[error("at most {max} characters")]
    TooLong {
        /// The limit, in characters.
        max: usize,
    },
    /// Contains a control character (tabs and newlines included).
    #[error("control characters (tab, newline, escape…) are not allowed")]
    ControlCharacter,
    /// Contains a bidirectional formatting character.
    #[error("bidirectional formatting characters (such as U+202E) are not allowed")]
    BidiControl,
}

impl TextError {
    /// Stable machine-readable code, for API error bodies.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Empty => "empty",
            Self::TooLong { .. } => "too_long",
            Self::ControlCharacter => "control_character",
            Self::BidiControl => "bidi_control",
        }
    }
}

/// Free text checked by the rule above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FreeText;

impl FreeText {
    /// `text` trimmed, if it follows the rule with at most `max_chars` characters.
    pub fn check(text: &str, max_chars: usize) -> Result<&str, TextError> {
        let text = text.trim();
        if text.chars().any(char::is_control) {
            return Err(TextError::ControlCharacter);
        }
        if text.chars().any(is_bidi_control) {
            return Err(TextError::BidiControl);
        }
        if text.chars().all(|c| c.is_whitespace() || is_invisible(c)) {
            return Err(TextError::Empty);
        }
        if text.chars().count() > max_chars {
            return Err(TextError::TooLong { max: max_chars });
        }
        Ok(text)
    }
}

/// Bidirectional formatting characters (Unicode's `Bidi_Control` property).
fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}'
    )
}

/// Characters that show nothing on their own: zero-width spaces and joiners, word joiner,
/// invisible operators, the byte order mark, soft hyphen, Hangul fillers.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{00AD}'
            | '\u{034F}'
            | '\u{115F}'
            | '\u{1160}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200D}'
            | '\u{2060}'..='\u{2064}'
            | '\u{3164}'
            | '\u{FEFF}'
            | '\u{FFA0}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn visible_text_is_trimmed_and_kept() {
        assert_eq!(FreeText::check("  Coffee beans ", 200), Ok("Coffee beans"));
        assert_eq!(FreeText::check("café ☕", 200), Ok("café ☕"));
        // A joiner inside visible text (a family emoji) is fine.
        assert_eq!(FreeText::check("👨\u{200D}👩", 200), Ok("👨\u{200D}👩"));
    }

    #[test]
    fn invisible_only_control_and_bidi_text_is_refused() {
        use TextError::{BidiControl, ControlCharacter, Empty};
        let cases = [
            ("", Empty),
            ("   ", Empty),
            ("\u{200B}\u{200B}", Empty),
            (" \u{FEFF} ", Empty),
            ("\u{2060}\u{00AD}", Empty),
            ("\u{3164}", Empty),
            ("ring\u{7}", ControlCharacter),
            ("two\nlines", ControlCharacter),
            ("esc\u{1B}[31m", ControlCharacter),
            ("tab\there", ControlCharacter),
            ("c1\u{85}x", ControlCharacter),
            ("abc\u{202E}def", BidiControl),
            ("\u{2066}x\u{2069}", BidiControl),
            ("x\u{200F}", BidiControl),
        ];
        for (text, expected) in cases {
            assert_eq!(FreeText::check(text, 200), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn length_is_counted_in_characters_after_trimming() {
        assert!(FreeText::check(&"é".repeat(5), 5).is_ok());
        assert_eq!(
            FreeText::check(&"é".repeat(6), 5),
            Err(TextError::TooLong { max: 5 })
        );
        assert!(FreeText::check(&format!("  {}  ", "a".repeat(5)), 5).is_ok());
    }
}
