//! JSON strings written fast where a `GET` spends its time: the status view
//! (`view::json`) and the access log's lines (`logging::json`).
//!
//! serde_json looks every byte of every string up in its escape table and
//! writes the string in fragments. The strings of a view (ids, addresses,
//! amounts, times, state names, English or Chinese sentences) almost never
//! hold a quote, a backslash or a control character, so a string is checked
//! for those first, eight bytes at a time, and copied whole; one that has
//! one is escaped by serde_json itself.

/// Whether `text` holds a byte a JSON string must escape: a quote, a
/// backslash or a control character.
pub fn needs_escaping(text: &str) -> bool {
    let mut words = text.as_bytes().chunks_exact(8);
    let found = (&mut words).fold(false, |found, word| {
        found | word_needs_escaping(u64::from_le_bytes(word.try_into().expect("eight bytes")))
    });
    // The rest, padded with a byte that needs no escaping.
    let mut last = [b'a'; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    found | word_needs_escaping(u64::from_le_bytes(last))
}

/// Whether any of the eight bytes of `word` is below 0x20, a quote or a
/// backslash ("Bit Twiddling Hacks": `haszero`, `hasless`).
fn word_needs_escaping(word: u64) -> bool {
    const ONES: u64 = u64::from_le_bytes([1; 8]);
    const HIGH_BITS: u64 = ONES * 0x80;
    let has_zero_byte = |w: u64| w.wrapping_sub(ONES) & !w & HIGH_BITS != 0;
    let below_space = word.wrapping_sub(ONES * 0x20) & !word & HIGH_BITS != 0;
    below_space | has_zero_byte(word ^ (ONES * u64::from(b'"'))) | has_zero_byte(word ^ (ONES * u64::from(b'\\')))
}

/// `text` as a JSON string, appended to `out`: what serde_json writes.
pub fn write_string(out: &mut Vec<u8>, text: &str) {
    if needs_escaping(text) {
        serde_json::to_writer(out, text).expect("writing to memory");
        return;
    }
    out.reserve(text.len() + 2);
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn written(text: &str) -> String {
        let mut out = Vec::new();
        write_string(&mut out, text);
        String::from_utf8(out).expect("UTF-8")
    }

    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for text in
            ["", "plain", "quote\"", "back\\slash", "tab\there", "nul\0", "\u{1f}", "del\u{7f}", "/slash", "中文。"]
        {
            assert_eq!(written(text), serde_json::to_string(text).unwrap(), "{text:?}");
        }
    }

    #[test]
    fn each_byte_that_needs_escaping_is_found_wherever_it_sits() {
        for len in 0..20 {
            assert!(!needs_escaping(&"x".repeat(len)));
            for at in 0..len {
                for byte in (0u8..0x80).filter(|&b| b < 0x20 || b == b'"' || b == b'\\') {
                    let mut text = vec![b'x'; len];
                    text[at] = byte;
                    assert!(needs_escaping(std::str::from_utf8(&text).unwrap()), "{byte:#x} at {at} of {len}");
                }
            }
        }
        assert!(!needs_escaping("é中文 \u{7f}!#[]{}~ /"));
    }

    proptest! {
        #[test]
        fn any_string_is_written_as_serde_json_writes_it(text in any::<String>()) {
            prop_assert_eq!(written(&text), serde_json::to_string(&text).unwrap());
        }
    }
}
