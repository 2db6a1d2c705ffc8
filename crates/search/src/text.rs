//! Text matching shared by every adapter, so that they agree to the letter.
//!
//! An order is indexed under a set of **keywords**: the lowercase
//! alphanumeric words of its item names, its SKUs lowercased whole, and its
//! id in hyphenated lowercase form. Keywords never contain whitespace and are
//! never empty.
//!
//! A search text is split on whitespace into words; **every** word must match.
//! A word matches when its lowercase form is a keyword (a SKU, the order id
//! in any UUID spelling, or a single name word), or when all of its
//! alphanumeric pieces are keywords (`"beans,"` → `beans`, `"decaf/espresso"`
//! → `decaf` and `espresso`). Adapters only translate [`TextQuery`] into their
//! own query language; they never tokenise on their own.

use std::collections::BTreeSet;

use orderflow_app::ports::OrderDocument;
use orderflow_domain::OrderId;

/// The keywords an order is found by.
pub fn keywords(document: &OrderDocument) -> BTreeSet<String> {
    let mut keywords = BTreeSet::new();
    keywords.insert(document.order_id.to_string());
    for line in &document.lines {
        keywords.insert(line.sku.as_str().to_lowercase());
        keywords.extend(name_words(line.name.as_str()));
    }
    keywords
}

/// The lowercase alphanumeric words of `text`.
fn name_words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// A parsed search text: all of `words` must match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextQuery {
    pub words: Vec<WordMatch>,
}

/// One word of the text: it matches when any one of `alternatives` does,
/// and an alternative matches when all of its keywords are present.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WordMatch {
    pub alternatives: Vec<Vec<String>>,
}

impl TextQuery {
    pub fn parse(text: &str) -> TextQuery {
        let words = text.split_whitespace().map(word_match).collect();
        TextQuery { words }
    }
}

fn word_match(word: &str) -> WordMatch {
    let mut alternatives: Vec<Vec<String>> = Vec::new();
    let mut push = |keywords: Vec<String>| {
        if !keywords.is_empty() && !alternatives.contains(&keywords) {
            alternatives.push(keywords);
        }
    };
    if let Ok(order_id) = OrderId::parse(word) {
        push(vec![order_id.to_string()]);
    }
    push(vec![word.to_lowercase()]);
    let mut pieces: Vec<String> = name_words(word).collect();
    pieces.sort();
    pieces.dedup();
    push(pieces);
    WordMatch { alternatives }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn alternatives(word: &str) -> Vec<Vec<String>> {
        let mut parsed = TextQuery::parse(word);
        assert_eq!(parsed.words.len(), 1);
        parsed.words.remove(0).alternatives
    }

    fn expected(alternatives: &[&[&str]]) -> Vec<Vec<String>> {
        alternatives
            .iter()
            .map(|keywords| keywords.iter().map(|k| (*k).to_owned()).collect())
            .collect()
    }

    #[test]
    fn a_plain_word_is_its_lowercase_self() {
        assert_eq!(alternatives("Beans"), expected(&[&["beans"]]));
    }

    #[test]
    fn a_sku_matches_whole_or_by_its_pieces() {
        assert_eq!(
            alternatives("SKU-1"),
            expected(&[&["sku-1"], &["1", "sku"]])
        );
    }

    #[test]
    fn an_order_id_in_any_spelling_matches_its_canonical_form() {
        let id = "0190A6E27C1B7D3E9F001234567890AB";
        assert_eq!(
            alternatives(id)[..1],
            expected(&[&["0190a6e2-7c1b-7d3e-9f00-1234567890ab"]])
        );
    }

    #[test]
    fn punctuation_only_words_match_only_themselves() {
        assert_eq!(alternatives("--"), expected(&[&["--"]]));
    }

    #[test]
    fn every_whitespace_separated_word_must_match() {
        assert_eq!(TextQuery::parse("  coffee \t beans ").words.len(), 2);
    }
}
