//! Topic matching with the semantics of an AMQP topic exchange, used by the
//! in-process bus so that a binding routes the same messages on both
//! adapters: words are separated by `.`, a `*` word matches exactly one word,
//! a `#` word matches zero or more words, any other word matches itself
//! (`*` and `#` inside a longer word are literal, as on RabbitMQ).

/// Whether a message with `routing_key` is routed to a queue bound with
/// `pattern`.
pub fn topic_matches(pattern: &str, routing_key: &str) -> bool {
    let pattern: Vec<&str> = pattern.split('.').collect();
    let key: Vec<&str> = routing_key.split('.').collect();
    words_match(&pattern, &key)
}

fn words_match(pattern: &[&str], key: &[&str]) -> bool {
    match pattern.split_first() {
        None => key.is_empty(),
        Some((&"#", rest)) => {
            // Consecutive `#` behave as one; then try every split point.
            if rest.first() == Some(&"#") {
                return words_match(rest, key);
            }
            (0..=key.len()).any(|skipped| words_match(rest, &key[skipped..]))
        }
        Some((&"*", rest)) => !key.is_empty() && words_match(rest, &key[1..]),
        Some((word, rest)) => key.first() == Some(word) && words_match(rest, &key[1..]),
    }
}

#[cfg(test)]
mod tests {
    use super::topic_matches;

    #[test]
    fn a_star_matches_exactly_one_word() {
        assert!(topic_matches("orders.*.confirmed", "orders.42.confirmed"));
        assert!(!topic_matches("orders.*.confirmed", "orders.confirmed"));
        assert!(!topic_matches("orders.*.confirmed", "orders.1.2.confirmed"));
        assert!(!topic_matches("orders.*", "orders"));
    }

    #[test]
    fn a_hash_matches_zero_or_more_words() {
        assert!(topic_matches("orders.#", "orders"));
        assert!(topic_matches("orders.#", "orders.42.confirmed"));
        assert!(topic_matches("#.confirmed", "confirmed"));
        assert!(topic_matches("#.confirmed", "orders.42.confirmed"));
        assert!(topic_matches("#", "anything.at.all"));
        assert!(topic_matches("a.#.#.b", "a.b"));
        assert!(topic_matches("a.#.b.#.c", "a.x.b.y.z.c"));
        assert!(!topic_matches("a.#.b", "a.x.c"));
    }

    #[test]
    fn other_words_match_literally() {
        assert!(topic_matches(
            "push.order-confirmed",
            "push.order-confirmed"
        ));
        assert!(!topic_matches("push.order-confirmed", "push.order-created"));
        assert!(!topic_matches("push.order*", "push.order-created"));
        assert!(!topic_matches("orders", "orders.42"));
    }
}
